package terraform

import (
	"encoding/json"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tfjson "github.com/hashicorp/terraform-json"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

var update = flag.Bool("update", false, "regenerate testdata/plan-*.json from real terraform")

// fixtureScenarios make real plans: apply before, change the configuration to after (or
// tamper with the world), plan again and keep `terraform show -json` of that plan.
var fixtureScenarios = []struct {
	name, before, after string
	tamper              func(t *testing.T, out string)
}{
	{name: "create", before: ``, after: `resource "terraform_data" "a" { input = "1" }`},
	{name: "update", before: `resource "terraform_data" "a" { input = "1" }`, after: `resource "terraform_data" "a" { input = "2" }`},
	{name: "replace", before: localFileAt("one"), after: localFileAt("two")},
	{name: "delete", before: `resource "terraform_data" "a" { input = "1" }`, after: ``},
	{name: "read", before: ``, after: localFileAt("one") + `
data "local_file" "r" { filename = local_file.a.filename }
`},
	{name: "drift-deleted", before: localFileAt("one"), after: localFileAt("one"), tamper: func(t *testing.T, out string) {
		require.NoError(t, os.Remove(filepath.Join(out, "a.txt")))
	}},
	{name: "outputs-only", before: `output "o" { value = "1" }`, after: `output "o" { value = "2" }`},
	{name: "mixed", before: `resource "terraform_data" "keep" {}
resource "terraform_data" "gone" {}
resource "terraform_data" "changed" { input = "1" }
`, after: `resource "terraform_data" "keep" {}
resource "terraform_data" "changed" { input = "2" }
resource "terraform_data" "new" { count = 2 }
`},
}

// localFileAt is a local_file in the scenario's output directory (OUT is replaced per run).
func localFileAt(content string) string {
	return `resource "local_file" "a" {
  filename = "OUT/a.txt"
  content  = "` + content + `"
}
`
}

func TestUpdatePlanFixtures(t *testing.T) {
	if !*update {
		t.Skip("run with -update to regenerate the plan fixtures from real terraform")
	}
	r := newTestRunner(t, 0)
	for _, sc := range fixtureScenarios {
		t.Run(sc.name, func(t *testing.T) {
			e := newEnv(t)
			out := t.TempDir()
			dir := filepath.Join(e.workdir, "s")
			spec := e.spec("s", "")
			write := func(cfg string) {
				writeFiles(t, dir, map[string]string{"main.tf": strings.ReplaceAll(cfg, "OUT", filepath.ToSlash(out))})
			}
			write(sc.before)
			plan, err := r.Plan(t.Context(), spec)
			require.NoError(t, err)
			if plan.HasChanges() || plan.OutputChanges {
				_, err = r.Apply(t.Context(), spec, plan)
				require.NoError(t, err)
			}
			write(sc.after)
			if sc.tamper != nil {
				sc.tamper(t, out)
			}
			plan, err = r.Plan(t.Context(), spec)
			require.NoError(t, err)

			cmd := exec.Command(r.binary, "show", "-json", plan.File)
			cmd.Dir = dir
			cmd.Env = append(os.Environ(), "TF_DATA_DIR="+filepath.Join(spec.DataDir, "tfdata"), "TF_CLI_CONFIG_FILE="+r.opts.CLIConfigFile)
			raw, err := cmd.Output()
			require.NoError(t, err)
			var pretty map[string]any
			require.NoError(t, json.Unmarshal(raw, &pretty))
			delete(pretty, "timestamp")
			b, err := json.MarshalIndent(pretty, "", "  ")
			require.NoError(t, err)
			b = []byte(strings.ReplaceAll(string(b), filepath.ToSlash(out), "/fixture/out"))
			require.NoError(t, os.WriteFile(filepath.Join("testdata", "plan-"+sc.name+".json"), append(b, '\n'), 0o644))
		})
	}
}

func TestFromJSON(t *testing.T) {
	tests := []struct {
		fixture string
		changes []reconciler.ResourceChange
		drift   []reconciler.ResourceDrift
		outputs bool
	}{
		{fixture: "create", changes: []reconciler.ResourceChange{{Address: "terraform_data.a", Action: reconciler.ActionCreate}}},
		{fixture: "update", changes: []reconciler.ResourceChange{{Address: "terraform_data.a", Action: reconciler.ActionUpdate}}},
		{fixture: "replace", changes: []reconciler.ResourceChange{{Address: "local_file.a", Action: reconciler.ActionReplace}}},
		{fixture: "delete", changes: []reconciler.ResourceChange{{Address: "terraform_data.a", Action: reconciler.ActionDelete}}},
		{fixture: "read", changes: []reconciler.ResourceChange{
			{Address: "data.local_file.r", Action: reconciler.ActionRead},
			{Address: "local_file.a", Action: reconciler.ActionCreate},
		}},
		{
			fixture: "drift-deleted",
			changes: []reconciler.ResourceChange{{Address: "local_file.a", Action: reconciler.ActionCreate}},
			drift:   []reconciler.ResourceDrift{{Address: "local_file.a", Change: "deleted"}},
		},
		{fixture: "outputs-only", outputs: true},
		{fixture: "mixed", changes: []reconciler.ResourceChange{
			{Address: "terraform_data.changed", Action: reconciler.ActionUpdate},
			{Address: "terraform_data.gone", Action: reconciler.ActionDelete},
			{Address: "terraform_data.new[0]", Action: reconciler.ActionCreate},
			{Address: "terraform_data.new[1]", Action: reconciler.ActionCreate},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.fixture, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", "plan-"+tt.fixture+".json"))
			require.NoError(t, err)
			var tp tfjson.Plan
			require.NoError(t, json.Unmarshal(b, &tp))
			require.NoError(t, tp.Validate())
			plan := &reconciler.Plan{}
			fromJSON(&tp, plan)
			assert.Equal(t, tt.changes, plan.Changes)
			assert.Equal(t, tt.drift, plan.Drift)
			assert.Equal(t, tt.outputs, plan.OutputChanges)
			assert.True(t, plan.Complete, "terraform 1.5 has no \"complete\": a saved plan is complete")
		})
	}
}

// TestFromJSONShapes covers what Terraform 1.5 with the local provider cannot produce: an
// updated drift, forget, create-before-destroy, unknown action lists and incomplete plans.
func TestFromJSONShapes(t *testing.T) {
	no := false
	tp := &tfjson.Plan{
		Complete: &no,
		ResourceChanges: []*tfjson.ResourceChange{
			{Address: "b.cbd", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionCreate, tfjson.ActionDelete}}},
			{Address: "a.forget", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionForget}}},
			{Address: "c.noop", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionNoop}}},
			{Address: "d.createforget", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionCreate, tfjson.ActionForget}}},
		},
		ResourceDrift: []*tfjson.ResourceChange{
			{Address: "z.updated", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionUpdate}}},
			{Address: "y.deleted", Change: &tfjson.Change{Actions: tfjson.Actions{tfjson.ActionDelete}}},
		},
		OutputChanges: map[string]*tfjson.Change{"o": {Actions: tfjson.Actions{tfjson.ActionUpdate}}},
	}
	plan := &reconciler.Plan{}
	fromJSON(tp, plan)
	assert.Equal(t, []reconciler.ResourceChange{
		{Address: "a.forget", Action: reconciler.ActionForget},
		{Address: "b.cbd", Action: reconciler.ActionReplace},
		{Address: "d.createforget", Action: reconciler.ActionReplace},
	}, plan.Changes)
	assert.Equal(t, []reconciler.ResourceDrift{{Address: "y.deleted", Change: "deleted"}, {Address: "z.updated", Change: "updated"}}, plan.Drift)
	assert.False(t, plan.Complete)
	assert.False(t, plan.OutputChanges, "outputs change along with resources")
}
