package reconciler

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestGuardrail(t *testing.T) {
	create := ResourceChange{Address: "local_file.a", Action: ActionCreate}
	update := ResourceChange{Address: "local_file.b", Action: ActionUpdate}
	replace := ResourceChange{Address: "local_file.c", Action: ActionReplace}
	del := ResourceChange{Address: "local_file.d", Action: ActionDelete}
	forget := ResourceChange{Address: "local_file.e", Action: ActionForget}
	tests := []struct {
		name   string
		policy DriftPolicy
		plan   *Plan
		want   string // substring; "" means not held
	}{
		{"creates pass", DriftPolicy{}, &Plan{Complete: true, Changes: []ResourceChange{create, update}}, ""},
		{"delete held", DriftPolicy{}, &Plan{Complete: true, Changes: []ResourceChange{create, del}}, "allow_destroy is false"},
		{"replace deletes", DriftPolicy{}, &Plan{Complete: true, Changes: []ResourceChange{replace}}, "local_file.c (replace)"},
		{"forget held", DriftPolicy{}, &Plan{Complete: true, Changes: []ResourceChange{forget}}, "allow_destroy"},
		{"delete allowed", DriftPolicy{AllowDestroy: true}, &Plan{Complete: true, Changes: []ResourceChange{del}}, ""},
		{"too many changes", DriftPolicy{MaxChanges: 1}, &Plan{Complete: true, Changes: []ResourceChange{create, update}}, "more than max_changes (1)"},
		{"at the limit passes", DriftPolicy{MaxChanges: 2}, &Plan{Complete: true, Changes: []ResourceChange{create, update}}, ""},
		{"incomplete held", DriftPolicy{AllowDestroy: true}, &Plan{Complete: false, Changes: []ResourceChange{create}}, "incomplete"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Guardrail(tt.policy, tt.plan)
			if tt.want == "" {
				assert.Empty(t, got)
			} else {
				assert.Contains(t, got, tt.want)
			}
		})
	}
}

func TestJudgeDriftTransitions(t *testing.T) {
	a := ResourceChange{Address: "local_file.a", Action: ActionCreate}
	b := ResourceChange{Address: "local_file.b", Action: ActionCreate}
	d := ResourceChange{Address: "local_file.x", Action: ActionDelete}
	auto := DriftPolicy{Remediate: RemediateAuto}
	clean := &Plan{Complete: true}
	drifted := func(cs ...ResourceChange) *Plan { return &Plan{Complete: true, Changes: cs} }
	was := func(held string, cs ...ResourceChange) DriftState {
		return DriftState{Drifted: true, Resources: cs, HeldReason: held}
	}
	tests := []struct {
		name      string
		policy    DriftPolicy
		plan      *Plan
		prev      DriftState
		wantEvent EventKind
		wantApply bool
		wantHeld  bool
	}{
		{"clean stays quiet", auto, clean, DriftState{}, "", false, false},
		{"drift starts an episode and corrects", auto, drifted(a), DriftState{}, EventDriftDetected, true, false},
		{"same drift again is quiet but still corrects", auto, drifted(a), was("", a), "", true, false},
		{"a new resource changes the episode", auto, drifted(a, b), was("", a), EventDriftChanged, true, false},
		{"drift gone resolves", auto, clean, was("", a), EventDriftResolved, false, false},
		{"destroy is held with an alert", auto, drifted(d), DriftState{}, EventCorrectionHeld, false, true},
		{"still held is quiet", auto, drifted(d), was(Guardrail(auto, drifted(d)), d), "", false, true},
		{"alert mode alerts only", DriftPolicy{Remediate: RemediateAlert}, drifted(a), DriftState{}, EventDriftDetected, false, false},
		{"allowed destroy corrects", DriftPolicy{Remediate: RemediateAuto, AllowDestroy: true}, drifted(d), DriftState{}, EventDriftDetected, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := JudgeDrift(tt.policy, tt.plan, tt.prev)
			assert.Equal(t, tt.wantEvent, v.Event)
			assert.Equal(t, tt.wantApply, v.Apply)
			assert.Equal(t, tt.wantHeld, v.Held != "")
			assert.Equal(t, tt.plan.HasChanges(), v.Next.Drifted)
		})
	}
}

func TestPlanCounts(t *testing.T) {
	p := &Plan{Changes: []ResourceChange{
		{Address: "a", Action: ActionCreate}, {Address: "b", Action: ActionReplace},
		{Address: "c", Action: ActionUpdate}, {Address: "d", Action: ActionDelete}, {Address: "e", Action: ActionRead},
	}}
	add, change, destroy := p.Counts()
	assert.Equal(t, []int{2, 1, 2}, []int{add, change, destroy})
	assert.Equal(t, "+2 ~1 -2", p.Summary())
	assert.Equal(t, "no changes", (&Plan{}).Summary())
}
