package git

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler"
)

func TestChanged(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	base := remote.CommitAndPush("base", map[string]string{
		"stacks/a/main.tf":      "a",
		"stacks/b/main.tf":      "b",
		"modules/shared/x.tf":   "x",
		"README.md":             "readme",
		"scripts/run.sh":        "#!/bin/sh",
		"stacks/a/link.tf":      "symlink:../../modules/shared/x.tf",
		"untouched/deep/a/b.tf": "b",
	})

	type step struct {
		name   string
		change func()
		want   []string
	}
	steps := []step{
		{"add", func() { remote.WriteFiles(map[string]string{"stacks/c/main.tf": "c"}) }, []string{"stacks/c/main.tf"}},
		{"modify", func() { remote.WriteFiles(map[string]string{"modules/shared/x.tf": "x2"}) }, []string{"modules/shared/x.tf"}},
		{"delete", func() { remote.Remove("stacks/b/main.tf") }, []string{"stacks/b/main.tf"}},
		{"rename", func() { remote.Move("README.md", "docs/README.md") }, []string{"README.md", "docs/README.md"}},
		{"mode", func() { remote.Chmod("scripts/run.sh", 0o755) }, []string{"scripts/run.sh"}},
		{"retarget link", func() { remote.WriteFiles(map[string]string{"stacks/a/link.tf": "symlink:main.tf"}) }, []string{"stacks/a/link.tf"}},
		{"nothing", func() {}, nil},
		{"several", func() {
			remote.WriteFiles(map[string]string{"stacks/a/main.tf": "a2", "stacks/c/vars.tf": "v"})
			remote.Remove("stacks/c/main.tf")
		}, []string{"stacks/a/main.tf", "stacks/c/main.tf", "stacks/c/vars.tf"}},
	}
	revs := []reconciler.Revision{base}
	for _, s := range steps {
		s.change()
		rev := remote.Commit(s.name)
		remote.Push("main")
		revs = append(revs, rev)
	}
	m := polled(t, remote)
	for i, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got, err := m.Changed(ctx, revs[i], revs[i+1])
			require.NoError(t, err)
			assert.Equal(t, s.want, got)
		})
	}

	t.Run("empty from is every file", func(t *testing.T) {
		got, err := m.Changed(ctx, "", base)
		require.NoError(t, err)
		assert.Equal(t, remote.Files(base), got)
	})
	t.Run("across several commits", func(t *testing.T) {
		got, err := m.Changed(ctx, base, revs[3])
		require.NoError(t, err)
		assert.Equal(t, []string{"modules/shared/x.tf", "stacks/b/main.tf", "stacks/c/main.tf"}, got)
	})
	t.Run("unknown revision", func(t *testing.T) {
		_, err := m.Changed(ctx, base, "0123456789012345678901234567890123456789")
		require.ErrorIs(t, err, reconciler.ErrNotFound)
		assert.Contains(t, err.Error(), "01234567")
	})
}

func TestMergeBase(t *testing.T) {
	ctx := context.Background()
	remote := gittest.NewRemote(t)
	remote.CommitAndPush("one", map[string]string{"a.tf": "1"})
	fork := remote.CommitAndPush("two", map[string]string{"a.tf": "2"})
	remote.Branch("feature")
	remote.WriteFiles(map[string]string{"b.tf": "b"})
	feature := remote.Commit("feature")
	remote.Push("feature")
	remote.Checkout("main")
	main3 := remote.CommitAndPush("three", map[string]string{"a.tf": "3"})
	merged := remote.Merge("feature", "merge feature")
	remote.Git("checkout", "--quiet", "--orphan", "unrelated")
	remote.WriteFiles(map[string]string{"c.tf": "c"})
	unrelated := remote.Commit("unrelated root")
	remote.Push("unrelated")
	m := polled(t, remote)

	for _, tc := range []struct {
		name string
		a, b reconciler.Revision
		want reconciler.Revision
	}{
		{"diverged", main3, feature, fork},
		{"symmetric", feature, main3, fork},
		{"ancestor", fork, main3, fork},
		{"same", feature, feature, feature},
		{"after merge", merged, feature, feature},
		{"branch name", "main", "feature", feature},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := m.MergeBase(ctx, tc.a, tc.b)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
	t.Run("no common history", func(t *testing.T) {
		_, err := m.MergeBase(ctx, main3, unrelated)
		assert.ErrorIs(t, err, reconciler.ErrNotFound)
	})
	t.Run("unknown commit", func(t *testing.T) {
		_, err := m.MergeBase(ctx, main3, "ffffffffffffffffffffffffffffffffffffffff")
		assert.ErrorIs(t, err, reconciler.ErrNotFound)
	})
}
