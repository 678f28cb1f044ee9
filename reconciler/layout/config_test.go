package layout

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// configRepo is a repository with two stacks and a module, plus the given .trueup.yaml.
func configRepo(config string, more ...string) map[string]string {
	files := map[string]string{
		".trueup.yaml":           config,
		"stacks/app/main.tf":     module("../../modules/a"),
		"stacks/app/prod.tfvars": "x = 1",
		"stacks/db/main.tf":      module(),
		"modules/a/main.tf":      module("../b"),
		"modules/b/main.tf":      module(),
		"common.tfvars":          "y = 2",
		"docs/README.md":         "no terraform here",
	}
	for i := 0; i+1 < len(more); i += 2 {
		files[more[i]] = more[i+1]
	}
	return files
}

func TestLoadConfig(t *testing.T) {
	config := `version: 1
stacks:
  - dir: stacks/app
    when_modified: ["*.tf", "../../shared/**/*.json"]
    var_files: [prod.tfvars, ../../common.tfvars]
    drift:
      interval: 5m
      remediate: alert
      allow_destroy: false
      max_changes: 10
    aws:
      role_arn: arn:aws:iam::123:role/plan
      branch_role_arn: arn:aws:iam::123:role/branch
      apply_role_arn: arn:aws:iam::123:role/apply
      external_id: x
      region: eu-west-1
      session_duration: 1h
    on_apply:
      ecs_redeploy: {cluster: c, service: s}
      webhook: {url_env: DEPLOY_HOOK_URL}
  - dir: stacks/app
    workspace: staging
    aws: {branch_role_arn: "arn:aws:iam::456:role/branch"}
  - dir: ./stacks/db/
  - dir: stacks/linked
`
	l, err := Load(repo(configRepo(config, "stacks/linked", "->app")))
	require.NoError(t, err)
	assert.True(t, l.Configured)
	assert.Empty(t, l.Warnings)
	assert.Equal(t, []string{"stacks/app", "stacks/app@staging", "stacks/db", "stacks/linked"}, l.Names())

	app, ok := l.Stack("stacks/app")
	require.True(t, ok)
	interval, remediate, allowDestroy, maxChanges := 5*time.Minute, reconciler.RemediateAlert, false, 10
	assert.Equal(t, reconciler.Stack{
		Name:         "stacks/app",
		Dir:          "stacks/app",
		Workspace:    "default",
		WhenModified: []string{"*.tf", "../../shared/**/*.json"},
		VarFiles:     []string{"prod.tfvars", "../../common.tfvars"},
		ModuleDirs:   []string{"modules/a", "modules/b"},
		Drift: reconciler.DriftOverride{
			Interval: &interval, Remediate: &remediate, AllowDestroy: &allowDestroy, MaxChanges: &maxChanges,
		},
		AWS: reconciler.StackAWS{
			RoleARN: "arn:aws:iam::123:role/plan", BranchRoleARN: "arn:aws:iam::123:role/branch",
			ApplyRoleARN: "arn:aws:iam::123:role/apply", ExternalID: "x", Region: "eu-west-1", SessionDuration: time.Hour,
		},
		OnApply: reconciler.OnApply{
			ECSRedeploy: &reconciler.ECSRedeploy{Cluster: "c", Service: "s"},
			Webhook:     &reconciler.WebhookHook{URLEnv: "DEPLOY_HOOK_URL"},
		},
	}, app)

	staging, ok := l.Stack("stacks/app@staging")
	require.True(t, ok)
	assert.Equal(t, "staging", staging.Workspace)
	assert.Equal(t, "stacks/app", staging.Dir)
	assert.Equal(t, []string{"modules/a", "modules/b"}, staging.ModuleDirs)

	db, ok := l.Stack("stacks/db")
	require.True(t, ok)
	assert.Equal(t, "stacks/db", db.Dir, "dir is cleaned")
	assert.Empty(t, db.ModuleDirs)

	linked, ok := l.Stack("stacks/linked")
	require.True(t, ok)
	assert.Equal(t, "stacks/linked", linked.Dir, "a symlinked dir keeps its name")
	assert.Equal(t, []string{"modules/a", "modules/b"}, linked.ModuleDirs, "modules resolve from the real dir")

	assert.Equal(t, reconciler.StackAWS{BranchRoleARN: "arn:aws:iam::456:role/branch"}, staging.AWS,
		"branch_role_arn alone is neither role_arn nor apply_role_arn")
	assert.True(t, db.AWS.IsZero(), "no aws entry, no defaults")
	assert.True(t, staging.OnApply.IsZero(), "no on_apply entry")

	_, ok = l.Stack("modules/a")
	assert.False(t, ok, "listed stacks only")
}

func TestLoadConfigErrors(t *testing.T) {
	tests := []struct {
		name   string
		config string
		more   []string // extra files: path, content, ...
		want   []string // every error line, in order
	}{
		{
			name:   "unknown key names its line and path",
			config: "stacks:\n  - dir: stacks/app\n    drift:\n      intervall: 5m\n",
			want:   []string{".trueup.yaml:4: stacks[0].drift.intervall: unknown key"},
		},
		{
			name:   "unknown top-level key",
			config: "stack:\n  - dir: stacks/app\n",
			want:   []string{".trueup.yaml:1: stack: unknown key"},
		},
		{
			name:   "mistyped value",
			config: "stacks:\n  - dir: stacks/app\n    drift:\n      max_changes: lots\n      allow_destroy: maybe\n",
			want: []string{
				`.trueup.yaml:4: stacks[0].drift.max_changes: cannot use "lots" here: want an integer`,
				`.trueup.yaml:5: stacks[0].drift.allow_destroy: cannot use "maybe" here: want true or false`,
			},
		},
		{
			name:   "list where a string is expected",
			config: "stacks:\n  - dir: [stacks/app]\n",
			want:   []string{".trueup.yaml:2: stacks[0].dir: cannot use a list here: want a string"},
		},
		{
			name:   "role ARNs must be strings",
			config: "stacks:\n  - dir: stacks/app\n    aws:\n      role_arn: [a]\n      branch_role_arn: {arn: b}\n      apply_role_arn: [c]\n",
			want: []string{
				".trueup.yaml:4: stacks[0].aws.role_arn: cannot use a list here: want a string",
				".trueup.yaml:5: stacks[0].aws.branch_role_arn: cannot use a mapping here: want a string",
				".trueup.yaml:6: stacks[0].aws.apply_role_arn: cannot use a list here: want a string",
			},
		},
		{
			name:   "a string where a stack entry is expected",
			config: "stacks:\n  - stacks/app\n",
			want:   []string{`.trueup.yaml:2: stacks[0]: cannot use "stacks/app" here: want a mapping`},
		},
		{
			name:   "duplicate key",
			config: "stacks:\n  - dir: stacks/app\n    dir: stacks/db\n",
			want:   []string{`.trueup.yaml:3: stacks[0].dir: mapping key "dir" already defined at line 2`},
		},
		{
			name:   "invalid YAML",
			config: "stacks: [\n",
			want:   []string{".trueup.yaml: line 1: did not find expected node content"},
		},
		{
			name: "every validation error at once",
			config: `version: 2
stacks:
  - workspace: prod
  - dir: /stacks/app
  - dir: stacks/../stacks/app
  - dir: stacks/escape
  - dir: stacks/missing
  - dir: docs
  - dir: stacks/app
    workspace: "a/b"
    when_modified: ["!*.md", "../../../x/*.tf", "[.tf"]
    var_files: [missing.tfvars, ../../../etc/passwd, ../../modules]
    drift:
      interval: soon
      remediate: fix
      max_changes: -1
    aws:
      session_duration: 1d
    on_apply:
      ecs_redeploy: {cluster: c}
      webhook: {}
  - dir: stacks/db
  - dir: stacks/db/
    workspace: default
`,
			more: []string{"stacks/escape", "->../.."},
			want: []string{
				".trueup.yaml:1: version: unsupported version 2 (want 1)",
				".trueup.yaml:3: stacks[0].dir: required",
				`.trueup.yaml:4: stacks[1].dir: "/stacks/app" must be relative to the repository root`,
				`.trueup.yaml:5: stacks[2].dir: "stacks/../stacks/app" must not contain ".."`,
				".trueup.yaml:6: stacks[3].dir: stacks/escape leads out of the repository through symlink stacks/escape -> ../..",
				`.trueup.yaml:7: stacks[4].dir: directory "stacks/missing" does not exist`,
				`.trueup.yaml:8: stacks[5].dir: no .tf or .tf.json files in "docs"`,
				`.trueup.yaml:10: stacks[6].workspace: "a/b" is not a valid Terraform workspace name (letters, digits, '-', '_', '.', '~')`,
				".trueup.yaml:11: stacks[6].when_modified[0]: negated patterns are not supported: when_modified only adds paths that affect the stack",
				`.trueup.yaml:11: stacks[6].when_modified[1]: "../../../x/*.tf" leads out of the repository`,
				`.trueup.yaml:11: stacks[6].when_modified[2]: "[.tf": bad pattern`,
				`.trueup.yaml:12: stacks[6].var_files[0]: file "stacks/app/missing.tfvars" does not exist`,
				`.trueup.yaml:12: stacks[6].var_files[1]: "../../../etc/passwd" leads out of the repository`,
				`.trueup.yaml:12: stacks[6].var_files[2]: "modules" is not a regular file`,
				`.trueup.yaml:14: stacks[6].drift.interval: "soon" is not a positive duration like 5m or 1h`,
				`.trueup.yaml:15: stacks[6].drift.remediate: "fix" is not one of auto, alert, off`,
				".trueup.yaml:16: stacks[6].drift.max_changes: -1 must be 0 (no limit) or more",
				`.trueup.yaml:18: stacks[6].aws.session_duration: "1d" is not a positive duration like 1h`,
				".trueup.yaml:20: stacks[6].on_apply.ecs_redeploy: cluster and service are both required",
				".trueup.yaml:21: stacks[6].on_apply.webhook.url_env: required",
				`.trueup.yaml:23: stacks[8].dir: stack "stacks/db" is already listed as stacks[7]`,
			},
		},
		{
			name:   "no stacks",
			config: "version: 1\n",
			want:   []string{".trueup.yaml: stacks: list at least one stack (or remove the file to discover stacks)"},
		},
		{
			name:   "empty file",
			config: "",
			want:   []string{".trueup.yaml: stacks: list at least one stack (or remove the file to discover stacks)"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(repo(configRepo(tt.config, tt.more...)))
			require.Error(t, err)
			assert.Equal(t, tt.want, errorLines(err))
		})
	}
}

// errorLines flattens an errors.Join tree into its messages.
func errorLines(err error) []string {
	var j interface{ Unwrap() []error }
	if errors.As(err, &j) {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, errorLines(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func TestLoadConfigEscapingItself(t *testing.T) {
	files := configRepo("")
	files[".trueup.yaml"] = "->../secrets.yaml"
	_, err := Load(repo(files))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read .trueup.yaml: .trueup.yaml leads out of the repository")
}
