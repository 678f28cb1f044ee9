package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/aws/awstest"
)

const (
	untrustedBranchRole = "arn:aws:iam::123456789012:role/branch"
	// mainOnlySecret is in the daemon's environment and named by terraform.pass_env.main only.
	mainOnlySecret = "main-only-secret-value-42"
	slackURLSecret = "/services/T000/B000/untrusted-slack-secret"
)

// untrustedLayout is main's .trueup.yaml: stack a plans with the plan role, applies with the apply
// role, and branches plan it with the branch role.
const untrustedLayout = `version: 1
stacks:
  - dir: stacks/a
    aws: {role_arn: ` + awsPlanRole + `, apply_role_arn: ` + awsApplyRole + `, branch_role_arn: ` + untrustedBranchRole + `, region: eu-west-1}
  - dir: stacks/b
`

// attackLayout is the pull request's .trueup.yaml: it asks for the apply role for its plans.
const attackLayout = `version: 1
stacks:
  - dir: stacks/a
    aws: {role_arn: ` + awsApplyRole + `, branch_role_arn: ` + awsApplyRole + `, region: eu-west-1}
  - dir: stacks/b
`

// attackStack reads, during terraform plan, its whole environment and probes for what it must not see:
// another stack's state, trueup's database and mirror, and the daemon's home.
func attackStack(dataDir string) string {
	probe := func(p string) string { return fmt.Sprintf("fileexists(%q)", p) }
	home, _ := os.UserHomeDir()
	return `resource "terraform_data" "probe" {
  input = {
    environ     = replace(file("/proc/self/environ"), "\u0000", "\n")
    other_state = ` + probe(filepath.Join(dataDir, "state", reconciler.Slug("stacks/b"), "terraform.tfstate")) + `
    database    = ` + probe(filepath.Join(dataDir, "trueup.db")) + `
    mirror      = ` + probe(filepath.Join(dataDir, "mirror.git", "HEAD")) + `
    daemon_home = ` + probe(home) + `
  }
}
`
}

// TestUntrustedPullRequestReachesNoSecret is the attack of the issue, on the real binary's wiring with
// the sandbox required: a pull request whose plan reads /proc/self/environ and probes the data dir,
// and whose .trueup.yaml asks for the apply role.
func TestUntrustedPullRequestReachesNoSecret(t *testing.T) {
	untrustedPullRequestReachesNoSecret(t, nil)
}

func untrustedPullRequestReachesNoSecret(t *testing.T, configure func(*Config)) {
	cloud := newAWSCloud(t)
	slack := newSlackReceiver(t)
	t.Setenv("TRUEUP_TEST_MAIN_ONLY", mainOnlySecret)
	t.Setenv("SLACK_WEBHOOK_URL", slack.srv.URL+slackURLSecret)
	e := newPullsEnvWith(t, func(out string) map[string]string {
		return map[string]string{
			".trueup.yaml":     untrustedLayout,
			"stacks/a/main.tf": awsStack(out, "a", "v1"),
			"stacks/b/main.tf": localStack(out, "b", "b-v1", ""),
		}
	}, func(cfg *Config) {
		cfg.Terraform.Sandbox = "required"
		cfg.Terraform.PassEnv.Main = []string{"TRUEUP_TEST_MAIN_ONLY"}
		cfg.Slack.WebhookURLEnv = "SLACK_WEBHOOK_URL"
		if configure != nil {
			configure(cfg)
		}
	})
	before := len(cloud.sts.Calls())

	e.openPull(1, "evil", map[string]string{
		".trueup.yaml":     attackLayout,
		"stacks/a/main.tf": attackStack(e.cfg.DataDir),
	})
	body := e.waitBody(1, "the attack's plan shown", func(b string) bool { return strings.Contains(b, "environ") })

	require.Contains(t, body, "TF_DATA_DIR=", "the plan read its environment")
	assert.NotContains(t, body, "TRUEUP_RUN", "a runner's id and token never reach Terraform")
	for _, probe := range []string{"other_state", "database", "mirror", "daemon_home"} {
		assert.Regexp(t, `\b`+probe+` += false`, body, "%s is visible to the pull request's code", probe)
	}
	assert.Contains(t, body, "takes effect after the merge", "the comment says the branch's privilege change waits for the merge")

	secrets := []string{testGitHubToken, testWebhookSecret, testAPIToken, mainOnlySecret, "untrusted-slack-secret", awstest.BaseSecretKey, awstest.BaseKeyID}
	for _, s := range append(secrets, cloud.sts.Issued()...) {
		assert.NotContains(t, body, s, "a secret reached the pull request comment")
		assert.NotContains(t, e.d.logs.String(), s, "a secret reached the log")
	}

	calls := cloud.sts.Calls()[before:]
	require.NotEmpty(t, calls, "the pull request's plan got credentials")
	for _, c := range calls {
		assert.Equal(t, untrustedBranchRole, c.Role, "the pull request's plan assumes main's branch role, whatever its .trueup.yaml says")
		assert.Equal(t, "false", c.Tags["trueup:trusted"])
		assert.Equal(t, "plan", c.Tags["trueup:purpose"])
		assert.Equal(t, "evil", c.Tags["trueup:branch"])
		assert.Equal(t, "1", c.Tags["trueup:pull_request"])
	}

	status, reply := apiGet(t, e, "/api/v1/pulls/1", testAPIToken)
	require.Equal(t, http.StatusOK, status, reply)
	require.Contains(t, reply, "TF_DATA_DIR", "the API shows the whole plan")
	for _, s := range append(secrets, cloud.sts.Issued()...) {
		assert.NotContains(t, reply, s, "a secret reached the API")
	}
	posted := slack.everything()
	for _, s := range append(secrets, cloud.sts.Issued()...) {
		assert.NotContains(t, posted, s, "a secret reached Slack")
	}
}

// TestBranchNamedLikeAPullRequestStaysABranch: a branch "pr-1" neither replaces pull request 1's plan
// nor becomes what its merge is compared with.
func TestBranchNamedLikeAPullRequestStaysABranch(t *testing.T) {
	e := newPullsEnv(t, nil)
	e.openPull(1, "feature", map[string]string{"stacks/a/extra.tf": e.extraFile("a", "reviewed")})
	e.waitBody(1, "#1 planned", func(b string) bool { return strings.Contains(b, "local_file.extra") })

	more := fmt.Sprintf("resource \"local_file\" \"more\" {\n  filename = %q\n  content  = \"impostor\"\n}\n", filepath.Join(e.out, "a-more.txt"))
	e.commitOnBranch("pr-1", "impostor", map[string]string{"stacks/a/more.tf": more})
	e.remote.Push("pr-1")
	e.d.waitFor("the branch pr-1 planned", func() bool { return e.d.logs.count("plan finished", "target", "pr-1") == 1 })

	body := e.body(1)
	assert.NotContains(t, body, "local_file.more", "the branch's plan replaced the pull request's")
	status, reply := apiGet(t, e, "/api/v1/pulls/1", testAPIToken)
	require.Equal(t, http.StatusOK, status, reply)
	var got struct {
		Plans []reconciler.BranchPlan `json:"plans"`
	}
	require.NoError(t, json.Unmarshal([]byte(reply), &got), reply)
	plans := got.Plans
	require.Len(t, plans, 1)
	assert.Equal(t, "pr:1", plans[0].Target)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "local_file.extra", Action: reconciler.ActionCreate}}, plans[0].Changes)
}

// TestStacksWithOnceCollidingNamesKeepTheirOwnFiles: stacks/x/y and stacks/x_y shared one TF data
// dir, plan file and state file under the old names; now both apply, each with its own state.
func TestStacksWithOnceCollidingNamesKeepTheirOwnFiles(t *testing.T) {
	e := newPullsEnvWith(t, func(out string) map[string]string {
		return map[string]string{
			"stacks/x/y/main.tf": localStack(out, "xy", "v1", ""),
			"stacks/x_y/main.tf": localStack(out, "x_y", "v1", ""),
		}
	}, nil)
	assert.Equal(t, "v1", readFile(t, filepath.Join(e.out, "xy.txt")))
	assert.Equal(t, "v1", readFile(t, filepath.Join(e.out, "x_y.txt")))
	assert.Zero(t, e.d.logs.count("apply failed"), "one stack's apply broke the other's")
	for _, s := range []string{"stacks/x/y", "stacks/x_y"} {
		assert.FileExists(t, filepath.Join(e.cfg.DataDir, "state", reconciler.Slug(s), "terraform.tfstate"))
	}
}

// apiGet is GET path on the daemon's API with the bearer token.
func apiGet(t *testing.T, e *pullsEnv, path, token string) (int, string) {
	t.Helper()
	return getWithToken(t, opsDaemonURL(e.d)+path, token)
}

// everything is every post the receiver got, as one text.
func (s *slackReceiver) everything() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var b strings.Builder
	for _, m := range s.posts {
		b.WriteString(m.Text)
		for _, bl := range m.Blocks {
			b.Write(bl)
		}
	}
	return b.String()
}

// TestUpgradeFromOldDataDirKeepsState: a data dir laid out by an older trueup (state under the old
// names, no layout version) is upgraded at start: each stack's state is moved once, logged, and a
// drift check afterwards finds nothing to do, so nothing is re-applied.
func TestUpgradeFromOldDataDirKeepsState(t *testing.T) {
	e := newPullsEnv(t, nil)
	require.NoError(t, e.d.stop())
	state := filepath.Join(e.cfg.DataDir, "state")
	for _, s := range []string{"stacks/a", "stacks/b"} {
		require.NoError(t, os.Rename(filepath.Join(state, reconciler.Slug(s)), filepath.Join(state, reconciler.LegacySlug(s))))
	}
	require.NoError(t, os.Remove(filepath.Join(e.cfg.DataDir, "layout.version")))
	old := filepath.Join(e.cfg.DataDir, "work", "main", "stacks_a")
	require.NoError(t, os.MkdirAll(old, 0o755))

	e.d = startDaemon(t, e.cfg)
	for _, s := range []string{"stacks/a", "stacks/b"} {
		e.d.waitFor("the state of "+s+" moved", func() bool { return e.d.logs.count("moved local state to its new directory", "stack", s) == 1 })
		assert.FileExists(t, filepath.Join(state, reconciler.Slug(s), "terraform.tfstate"))
		assert.NoDirExists(t, filepath.Join(state, reconciler.LegacySlug(s)))
	}
	assert.NoDirExists(t, old, "old workdirs are removed")
	assert.Equal(t, 1, e.d.logs.count("data dir upgraded to injective names; old workdirs removed"))

	status, _, reply := opsPost(t, opsDaemonURL(e.d)+"/api/v1/stacks/stacks/a/reconcile", testAPIToken, "")
	require.Less(t, status, 300, reply)
	e.d.waitFor("the drift check of stacks/a", func() bool { return e.d.logs.count("no drift", "stack", "stacks/a") == 1 })
	assert.Zero(t, e.d.logs.count("apply started"), "nothing is applied again after the upgrade")

	// A restart does not move anything again.
	require.NoError(t, e.d.stop())
	e.d = startDaemon(t, e.cfg)
	e.d.waitFor("trueup started", func() bool { return e.d.logs.count("trueup started") == 1 })
	e.d.waitFor("main seen", func() bool { return e.d.logs.count("main moved") == 1 })
	assert.Zero(t, e.d.logs.count("moved local state to its new directory"))
	assert.Zero(t, e.d.logs.count("data dir upgraded to injective names; old workdirs removed"))
}
