package terraform

import (
	"bytes"
	"context"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

// regexpIDs matches the random ids Terraform prints, for golden files.
var regexpIDs = regexp.MustCompile(`"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"`)

// TestRenderingFromPlanOutputIsTerraformShow: the rendering trueup keeps from plan's own output is
// exactly what `terraform show` prints of the same plan file, for a create, an update, a replace and
// a plan that also found drift; and no third Terraform process runs.
func TestRenderingFromPlanOutputIsTerraformShow(t *testing.T) {
	bin, rc := tftest.Tools(t)
	var logs bytes.Buffer
	r, err := New(Options{Binary: bin, CLIConfigFile: rc, PluginCacheDir: filepath.Join(t.TempDir(), "cache"),
		Logger: slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	e := newEnv(t)
	out := filepath.Join(t.TempDir(), "f.txt")
	stack := filepath.Join(e.workdir, "s")
	spec := e.spec("s", "")
	spec.Render = true
	write := func(input, content string) {
		writeFiles(t, stack, map[string]string{"main.tf": `resource "terraform_data" "a" { input = "` + input + `" }
resource "local_file" "f" {
  filename = "` + filepath.ToSlash(out) + `"
  content  = "` + content + `"
}
`})
	}
	show := func(planFile string) string {
		cmd := exec.Command(r.Binary(), "show", "-no-color", planFile)
		cmd.Dir = stack
		cmd.Env = append(os.Environ(), "TF_DATA_DIR="+filepath.Join(spec.DataDir, "tfdata"), "TF_CLI_CONFIG_FILE="+r.cliConfig)
		var stdout bytes.Buffer
		cmd.Stdout = &stdout
		require.NoError(t, cmd.Run())
		return stdout.String()
	}
	steps := []struct {
		name           string
		input, content string
		before         func()
	}{
		{name: "create", input: "v1", content: "one"},
		{name: "update", input: "v2", content: "one"},
		{name: "replace", input: "v2", content: "two"},
		{name: "drift", input: "v3", content: "two", before: func() { require.NoError(t, os.Remove(out)) }},
	}
	for _, step := range steps {
		write(step.input, step.content)
		if step.before != nil {
			step.before()
		}
		logs.Reset()
		plan, err := r.Plan(context.Background(), spec)
		require.NoError(t, err, step.name)
		assert.Equal(t, 1, strings.Count(logs.String(), `"op":"show"`), "%s: one show (-json), no second one for the text", step.name)
		require.True(t, plan.HasChanges(), step.name)
		want := show(plan.File)
		assert.Equal(t, want, plan.Rendered, "%s: the rendering is terraform show's", step.name)
		if step.name == "create" {
			golden := filepath.Join("testdata", "rendering_create.golden")
			got := strings.ReplaceAll(regexpIDs.ReplaceAllString(plan.Rendered, `"<id>"`), filepath.ToSlash(out), "<out>")
			if *update {
				require.NoError(t, os.WriteFile(golden, []byte(got), 0o644))
			}
			b, err := os.ReadFile(golden)
			require.NoError(t, err, "run go test -update to write it")
			assert.Equal(t, string(b), got)
		}
		_, err = r.Apply(context.Background(), spec, plan)
		require.NoError(t, err, step.name)
	}
}

func TestRenderingFromPlanOutputCases(t *testing.T) {
	plan := "\nTerraform used the selected providers to generate the following execution\nplan.\n\nPlan: 1 to add, 0 to change, 0 to destroy.\n"
	tests := []struct {
		name, out, want string
		ok              bool
	}{
		{"automation", "x: Refreshing state... [id=1]\n" + plan, plan, true},
		{"saved trailer", plan + "\n─────\n\nSaved the plan to: p\n\nTo perform exactly these actions, run the following command to apply:\n    terraform apply \"p\"\n", plan, true},
		{"warning after the plan", plan + "╷\n│ Warning: deprecated\n╵\n", plan, true},
		{"drift note first", "\nNote: Objects have changed outside of Terraform\n\nx\n\n─────\n" + plan, "\nNote: Objects have changed outside of Terraform\n\nx\n\n─────\n" + plan, true},
		{"not a plan", "Error: something\n", "", false},
		{"no summary", "\nTerraform used the selected providers to generate the following execution\n", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := renderingFromPlanOutput(tt.out)
			assert.Equal(t, tt.ok, ok)
			assert.Equal(t, tt.want, got)
		})
	}
}
