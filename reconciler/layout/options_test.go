package layout

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// daemonAWS is trueup.yaml's aws: section in these tests.
var daemonAWS = reconciler.StackAWS{
	RoleARN: "arn:aws:iam::1:role/default-plan", ApplyRoleARN: "arn:aws:iam::1:role/default-apply",
	ExternalID: "default-x", Region: "us-east-1", SessionDuration: 2 * time.Hour,
}

func TestLoadWithMergesTheAWSDefaults(t *testing.T) {
	config := `stacks:
  - dir: stacks/app
    aws: {role_arn: "arn:aws:iam::2:role/plan", region: eu-west-1}
    on_apply:
      webhook: {url_env: HOOK_URL}
  - dir: stacks/db
`
	l, err := LoadWith(repo(configRepo(config)), Options{AWSDefaults: daemonAWS})
	require.NoError(t, err)

	app, ok := l.Stack("stacks/app")
	require.True(t, ok)
	assert.Equal(t, reconciler.StackAWS{
		RoleARN: "arn:aws:iam::2:role/plan", ApplyRoleARN: "arn:aws:iam::1:role/default-apply",
		ExternalID: "default-x", Region: "eu-west-1", SessionDuration: 2 * time.Hour,
	}, app.AWS, "the stack's own settings win; the defaults fill the rest")
	assert.Equal(t, reconciler.OnApply{Webhook: &reconciler.WebhookHook{URLEnv: "HOOK_URL"}}, app.OnApply)

	db, ok := l.Stack("stacks/db")
	require.True(t, ok)
	assert.Equal(t, daemonAWS, db.AWS, "a stack without an aws entry gets the defaults")
	assert.True(t, db.OnApply.IsZero())
}

func TestLoadWithGivesDiscoveredStacksTheAWSDefaults(t *testing.T) {
	l, err := LoadWith(repo(map[string]string{"stacks/a/main.tf": module()}), Options{AWSDefaults: daemonAWS})
	require.NoError(t, err)
	a, ok := l.Stack("stacks/a")
	require.True(t, ok)
	assert.Equal(t, daemonAWS, a.AWS)
}

func TestLoaderIsTheReconcilersLayout(t *testing.T) {
	fsys := repo(map[string]string{
		"stacks/a/main.tf":  module("../../modules/m"),
		"stacks/b/main.tf":  module("../../modules/gone"),
		"modules/m/main.tf": module(),
	})
	want, err := LoadWith(fsys, Options{AWSDefaults: daemonAWS})
	require.NoError(t, err)
	require.NotEmpty(t, want.Warnings, "the missing module is a warning")

	got, err := Loader(Options{AWSDefaults: daemonAWS})(fsys)
	require.NoError(t, err)
	assert.Equal(t, want.Stacks, got.Stacks)
	assert.Equal(t, want.Warnings, got.Warnings)
	a, ok := got.Stack("stacks/a")
	require.True(t, ok)
	assert.Equal(t, daemonAWS, a.AWS)
	assert.True(t, got.Affects(a, []string{"modules/m/main.tf"}), "a module change affects its caller")
	b, _ := got.Stack("stacks/b")
	assert.False(t, got.Affects(b, []string{"modules/m/main.tf"}))

	_, err = Loader(Options{})(repo(map[string]string{".trueup.yaml": "stacks: []\n", "stacks/a/main.tf": module()}))
	assert.ErrorContains(t, err, "list at least one stack")
}

// Branch plans take their privilege from main's layout (reconciler.TrustedPrivilege); both layouts
// come from the same Loader, so a branch that changes nothing keeps its settings, and one that
// changes them gets main's, or the daemon's defaults for a stack new on the branch.
func TestLoaderLayoutsKeepBranchPrivilegeTrusted(t *testing.T) {
	mainConfig := `stacks:
  - dir: stacks/app
    aws: {role_arn: "arn:aws:iam::2:role/plan", branch_role_arn: "arn:aws:iam::2:role/branch"}
    on_apply:
      ecs_redeploy: {cluster: c, service: s}
  - dir: stacks/db
`
	branchConfig := `stacks:
  - dir: stacks/app
    aws: {role_arn: "arn:aws:iam::2:role/plan", branch_role_arn: "arn:aws:iam::2:role/admin"}
    on_apply:
      ecs_redeploy: {cluster: c, service: s}
  - dir: stacks/db
  - dir: stacks/new
    aws: {role_arn: "arn:aws:iam::2:role/admin"}
`
	load := Loader(Options{AWSDefaults: daemonAWS})
	mainLayout, err := load(repo(configRepo(mainConfig)))
	require.NoError(t, err)
	branchLayout, err := load(repo(configRepo(branchConfig, "stacks/new/main.tf", module())))
	require.NoError(t, err)

	mainApp, _ := mainLayout.Stack("stacks/app")
	app, _ := branchLayout.Stack("stacks/app")
	trusted, notice := reconciler.TrustedPrivilege(app, mainLayout, daemonAWS)
	assert.Equal(t, mainApp.AWS, trusted.AWS)
	assert.Equal(t, "arn:aws:iam::2:role/branch", trusted.AWS.BranchRoleARN)
	assert.Equal(t, mainApp.OnApply, trusted.OnApply)
	assert.Contains(t, notice, "changes the aws settings of stacks/app")

	db, _ := branchLayout.Stack("stacks/db")
	trusted, notice = reconciler.TrustedPrivilege(db, mainLayout, daemonAWS)
	assert.Equal(t, daemonAWS, trusted.AWS)
	assert.Empty(t, notice, "the same stack with the same defaults changes nothing")

	newStack, _ := branchLayout.Stack("stacks/new")
	trusted, notice = reconciler.TrustedPrivilege(newStack, mainLayout, daemonAWS)
	assert.Equal(t, daemonAWS, trusted.AWS, "a stack new on the branch gets the daemon's defaults")
	assert.NotEmpty(t, notice)
}
