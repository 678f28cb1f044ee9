package reconciler

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestDecide(t *testing.T) {
	now := time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC)
	const a, b Revision = "aaaaaaaaaaaa", "bbbbbbbbbbbb"
	auto := DriftPolicy{Interval: time.Minute, Remediate: RemediateAuto}
	failedAt := func(rev Revision, transient bool) *RunRecord {
		return &RunRecord{Kind: RunApply, Revision: rev, Result: ResultFailed, Transient: transient}
	}
	tests := []struct {
		name string
		snap Snapshot
		want Step
	}{
		{"new stack applies", Snapshot{Head: b, InLayout: true}, StepApply},
		{"new stack known without sync applies", Snapshot{Head: b, InLayout: true, Known: true}, StepApply},
		{"in sync does nothing", Snapshot{Head: b, InLayout: true, Known: true, State: StackState{SyncedRev: b}}, StepNone},
		{"unaffected change marks synced", Snapshot{Head: b, InLayout: true, Known: true, State: StackState{SyncedRev: a}}, StepMarkSynced},
		{"affected change applies", Snapshot{Head: b, InLayout: true, Known: true, Affected: true, State: StackState{SyncedRev: a}}, StepApply},
		{"failed at head waits for a new commit", Snapshot{Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, LastRun: failedAt(b, false)}}, StepNone},
		{"failed at an older revision applies the new head", Snapshot{Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, LastRun: failedAt(a, false)}}, StepApply},
		{"transient failure backs off", Snapshot{Now: now, Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, LastRun: failedAt(b, true), RetryAt: now.Add(time.Minute)}}, StepRetryLater},
		{"transient failure retries when due", Snapshot{Now: now, Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, LastRun: failedAt(b, true), RetryAt: now.Add(-time.Second)}}, StepApply},
		{"interrupted apply runs again", Snapshot{Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, LastRun: &RunRecord{Kind: RunApply, Revision: b, Result: ResultInterrupted}}}, StepApply},
		{"removed stack is reported", Snapshot{Head: b, Known: true, State: StackState{SyncedRev: a}}, StepRemove},
		{"removed stack is reported once", Snapshot{Head: b, Known: true, State: StackState{SyncedRev: a, Removed: true}}, StepNone},
		{"unknown and absent does nothing", Snapshot{Head: b}, StepNone},
		{"held apply waits", Snapshot{Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, Held: &Hold{Revision: b}}}, StepNone},
		{"approved hold applies", Snapshot{Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, Held: &Hold{Revision: b}, ApprovedRev: b}}, StepApply},
		{"hold for an older revision does not block a new one", Snapshot{Head: b, InLayout: true, Known: true, Affected: true,
			State: StackState{SyncedRev: a, Held: &Hold{Revision: a}}}, StepApply},
		{"drift due checks", Snapshot{Head: b, InLayout: true, Known: true, DriftDue: true, Policy: auto,
			State: StackState{SyncedRev: b}}, StepDriftCheck},
		{"drift off never checks", Snapshot{Head: b, InLayout: true, Known: true, DriftDue: true,
			Policy: DriftPolicy{Remediate: RemediateOff}, State: StackState{SyncedRev: b}}, StepNone},
		{"pending apply wins over drift", Snapshot{Head: b, InLayout: true, Known: true, DriftDue: true, Affected: true, Policy: auto,
			State: StackState{SyncedRev: a}}, StepApply},
		{"failed correction backs off", Snapshot{Now: now, Head: b, InLayout: true, Known: true, DriftDue: true, Policy: auto,
			State: StackState{SyncedRev: b, RetryAt: now.Add(time.Minute), LastRun: &RunRecord{Kind: RunDrift, Result: ResultFailed, Transient: true}}}, StepRetryLater},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Decide(tt.snap)
			assert.Equal(t, tt.want.String(), got.Step.String(), "why: %s", got.Why)
		})
	}
}

func TestBackoffIsCappedExponential(t *testing.T) {
	assert.Equal(t, 30*time.Second, Backoff(0))
	assert.Equal(t, 30*time.Second, Backoff(1))
	assert.Equal(t, time.Minute, Backoff(2))
	assert.Equal(t, 2*time.Minute, Backoff(3))
	assert.Equal(t, 15*time.Minute, Backoff(10))
	assert.Equal(t, 15*time.Minute, Backoff(1000))
}

func TestStackNameAndSlug(t *testing.T) {
	assert.Equal(t, "stacks/app", StackName("stacks/app/", "default"))
	assert.Equal(t, "stacks/app@prod", StackName("stacks/app", "prod"))
	assert.Equal(t, "_root", LegacySlug("."))
	assert.Equal(t, "stacks_app_prod", LegacySlug("stacks/app@prod"))
	assert.Equal(t, "_..", LegacySlug(".."))
	assert.Regexp(t, `^_root-[0-9a-f]{32}$`, Slug("."))
	assert.Regexp(t, `^stacks_app_prod-[0-9a-f]{32}$`, Slug("stacks/app@prod"))
	assert.Regexp(t, `^_\.\.-[0-9a-f]{32}$`, Slug(".."))
}

// TestSlugIsInjective: names that the old naming merged, or that a case-insensitive filesystem
// merges, get different directories; every slug is one safe path element.
func TestSlugIsInjective(t *testing.T) {
	names := []string{
		"stacks/x/y", "stacks/x_y", "stacks/x-y", "stacks/X/y", "stacks/x/Y",
		"a/b", "a_b", "a@b", "a/b@default", "é", "e", "ü/x", "_/x", ".", "_root", "..", "_..",
		"pr:3", "pr-3", "pr_3", "main", "Main", strings.Repeat("long/", 40) + "a", strings.Repeat("long/", 40) + "b",
	}
	seen := map[string]string{}
	for _, n := range names {
		s := Slug(n)
		folded := strings.ToLower(s)
		if other, dup := seen[folded]; dup {
			t.Errorf("%q and %q share the directory %q", n, other, s)
		}
		seen[folded] = n
		assert.Regexp(t, `^[A-Za-z0-9._-]+$`, s, "slug of %q", n)
		assert.NotContains(t, []string{".", ".."}, s)
		assert.LessOrEqual(t, len(s), maxSlugText+33, "slug of %q", n)
		assert.Equal(t, s, Slug(n), "slugs are stable")
	}
}
