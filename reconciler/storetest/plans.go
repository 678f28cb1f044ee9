package storetest

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// trapTargets are target names that a store keying plans by a plain prefix, or by a separator a name
// can hold, would mix up: each one's plans must stay its own.
var trapTargets = []string{"a", "a/b", "ab", "a b", "a.b", "A", "pr:1", "pr:10", "pr:1/x", "main"}

func testPlans(t *testing.T, open Opener) {
	t.Run("missing is ErrNotFound", func(t *testing.T) {
		s := newSession(t, open).store
		_, err := s.BranchPlan(t.Context(), "main", "net")
		require.ErrorIs(t, err, reconciler.ErrNotFound, "empty store")
		require.NoError(t, s.PutBranchPlan(t.Context(), fullPlan("a", "b/c", 1)))
		for _, tt := range []struct{ target, stack string }{
			{"a", "b"}, {"a/b", "c"}, {"a", "b/c/"}, {"a/", "b/c"}, {"", "b/c"}, {"a", ""}, {"", ""},
			{"a\x00b/c", ""}, {"a", "b/c\x00"}, {"A", "b/c"},
		} {
			_, err := s.BranchPlan(t.Context(), tt.target, tt.stack)
			assert.ErrorIs(t, err, reconciler.ErrNotFound, "%q/%q", tt.target, tt.stack)
		}
	})

	t.Run("put then get keeps every field", func(t *testing.T) {
		s := newSession(t, open).store
		want := fullPlan("pr:12", "stacks/app@prod", 1)
		require.NoError(t, s.PutBranchPlan(t.Context(), want))
		got, err := s.BranchPlan(t.Context(), "pr:12", "stacks/app@prod")
		require.NoError(t, err)
		assert.Equal(t, want, got)
	})

	t.Run("put overwrites entirely", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.PutBranchPlan(t.Context(), fullPlan("main", "net", 1)))
		second := reconciler.BranchPlan{Target: "main", Stack: "net", Revision: "8888888888888888888888888888888888888888",
			Result: reconciler.ResultNoChanges, Time: at(5)}
		require.NoError(t, s.PutBranchPlan(t.Context(), second))
		got, err := s.BranchPlan(t.Context(), "main", "net")
		require.NoError(t, err)
		assert.Equal(t, second, got, "no field of the first write survives")
		all, err := s.BranchPlans(t.Context(), "main")
		require.NoError(t, err)
		assert.Equal(t, []reconciler.BranchPlan{second}, all, "one plan per pair")
	})

	t.Run("put refuses names that cannot be keyed", func(t *testing.T) {
		s := newSession(t, open).store
		for _, tt := range []struct{ name, target, stack string }{
			{"empty target", "", "net"},
			{"empty stack", "main", ""},
			{"NUL in target", "a\x00b", "c"},
			{"NUL in stack", "a", "b\x00c"},
		} {
			assert.Error(t, s.PutBranchPlan(t.Context(), fullPlan(tt.target, tt.stack, 1)), tt.name)
		}
		for _, target := range []string{"", "a", "a\x00b", "main"} {
			got, err := s.BranchPlans(t.Context(), target)
			require.NoError(t, err)
			assert.Empty(t, got, "a refused plan is listed nowhere (%q)", target)
		}
	})

	t.Run("a target lists its own plans only, sorted by stack in byte order", func(t *testing.T) {
		s := newSession(t, open).store
		stacks := []string{"b", "a@prod", "a/b", "A", "a-b", "a"} // byte order: A a a-b a/b a@prod b
		for _, target := range trapTargets {
			for _, stack := range stacks {
				require.NoError(t, s.PutBranchPlan(t.Context(), fullPlan(target, target+"|"+stack, 1)))
			}
		}
		for _, target := range trapTargets {
			got, err := s.BranchPlans(t.Context(), target)
			require.NoError(t, err)
			want := make([]string, 0, len(stacks))
			for _, stack := range []string{"A", "a", "a-b", "a/b", "a@prod", "b"} {
				want = append(want, target+"|"+stack)
			}
			assert.Equal(t, want, planStacks(got), "plans of %q", target)
			if assert.NotEmpty(t, got) {
				assert.Equal(t, fullPlan(target, target+"|A", 1), got[0], "listed plans keep every field")
			}
		}
		for _, target := range []string{"pr:", "pr:2", "a/", "b", "pr:100"} {
			got, err := s.BranchPlans(t.Context(), target)
			require.NoError(t, err, "a target without plans is not an error")
			assert.Empty(t, got, "plans of %q", target)
		}
	})

	t.Run("delete removes that target's plans only", func(t *testing.T) {
		for _, gone := range trapTargets {
			t.Run(gone, func(t *testing.T) {
				s := newSession(t, open).store
				for _, target := range trapTargets {
					require.NoError(t, s.PutBranchPlan(t.Context(), fullPlan(target, "net", 1)))
					require.NoError(t, s.PutBranchPlan(t.Context(), fullPlan(target, "web", 2)))
				}
				require.NoError(t, s.DeleteBranchPlans(t.Context(), gone))
				for _, target := range trapTargets {
					got, err := s.BranchPlans(t.Context(), target)
					require.NoError(t, err)
					if target == gone {
						assert.Empty(t, got, "%q deleted", target)
						_, err := s.BranchPlan(t.Context(), target, "net")
						assert.ErrorIs(t, err, reconciler.ErrNotFound)
						continue
					}
					assert.Equal(t, []reconciler.BranchPlan{fullPlan(target, "net", 1), fullPlan(target, "web", 2)}, got,
						"deleting %q leaves %q whole", gone, target)
				}
				require.NoError(t, s.DeleteBranchPlans(t.Context(), gone), "deleting again is not an error")
			})
		}
	})

	t.Run("delete of a target without plans is not an error", func(t *testing.T) {
		s := newSession(t, open).store
		require.NoError(t, s.PutBranchPlan(t.Context(), fullPlan("a", "net", 1)))
		for _, target := range []string{"b", "", "a/", "a\x00"} {
			require.NoError(t, s.DeleteBranchPlans(t.Context(), target), "%q", target)
		}
		got, err := s.BranchPlans(t.Context(), "a")
		require.NoError(t, err)
		assert.Equal(t, []reconciler.BranchPlan{fullPlan("a", "net", 1)}, got)
	})

	t.Run("values are copies", func(t *testing.T) {
		s := newSession(t, open).store
		in := fullPlan("main", "net", 1)
		require.NoError(t, s.PutBranchPlan(t.Context(), in))
		in.Changes[0].Address = "changed by the caller after the put"
		in.Applied.Error = "changed by the caller after the put"

		got, err := s.BranchPlan(t.Context(), "main", "net")
		require.NoError(t, err)
		assert.Equal(t, fullPlan("main", "net", 1), got, "the store keeps what was put, not the caller's slices")
		got.Changes[0].Address = "changed by the caller after the get"
		listed, err := s.BranchPlans(t.Context(), "main")
		require.NoError(t, err)
		assert.Equal(t, []reconciler.BranchPlan{fullPlan("main", "net", 1)}, listed)
		listed[0].Changes[0].Address = "changed by the caller after the list"
		again, err := s.BranchPlan(t.Context(), "main", "net")
		require.NoError(t, err)
		assert.Equal(t, fullPlan("main", "net", 1), again)
	})
}

// fullPlan sets every field of a branch plan, so a store that drops one fails the round trip.
func fullPlan(target, stack string, n int) reconciler.BranchPlan {
	applied := fullRun("applied-"+stack, stack, n)
	return reconciler.BranchPlan{
		Target:     target,
		Stack:      stack,
		Revision:   "9999999999999999999999999999999999999999",
		Result:     reconciler.ResultSucceeded,
		Changes:    []reconciler.ResourceChange{{Address: "local_file.e", Action: "create"}, {Address: "local_file.f", Action: "delete"}},
		Add:        1,
		Change:     2,
		Delete:     3,
		Rendered:   "Terraform will perform the following actions:\n  # local_file.e will be created\n",
		Error:      "plan: exit status 1",
		Time:       at(n),
		Applied:    &applied,
		HeldReason: "the plan at the merge commit differs",
		Notice:     "this branch asks for a role it does not get",
	}
}

// planStacks lists the stacks of plans, in order.
func planStacks(plans []reconciler.BranchPlan) []string {
	out := make([]string, 0, len(plans))
	for _, p := range plans {
		out = append(out, p.Stack)
	}
	return out
}
