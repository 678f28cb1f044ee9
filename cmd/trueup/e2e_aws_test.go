package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/git/gittest"
	"github.com/trueup/trueup/reconciler/aws/awstest"
)

const (
	awsPlanRole   = "arn:aws:iam::123456789012:role/plan"
	awsApplyRole  = "arn:aws:iam::123456789012:role/apply"
	awsDeniedRole = "arn:aws:iam::123456789012:role/nope"
	awsSlackARN   = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-abc"
)

// awsLayout is a .trueup.yaml: stack a plans under the plan role and applies under the apply role;
// stack b (when withB) has a role STS refuses. Both redeploy ECS service c/s after an apply.
func awsLayout(withB bool) string {
	s := `version: 1
stacks:
  - dir: stacks/a
    aws: {role_arn: ` + awsPlanRole + `, apply_role_arn: ` + awsApplyRole + `, region: eu-west-1}
    on_apply: {ecs_redeploy: {cluster: c, service: s}}
`
	if withB {
		s += `  - dir: stacks/b
    aws: {role_arn: ` + awsDeniedRole + `, region: eu-west-1}
    on_apply: {ecs_redeploy: {cluster: c, service: s}}
`
	}
	return s
}

func TestAWSPlanAndApplyRunUnderTheirOwnRoles(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	cloud := newAWSCloud(t)
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	rev := remote.CommitAndPush("stack a with AWS roles", map[string]string{
		".trueup.yaml":     awsLayout(false),
		"stacks/a/main.tf": awsStack(out, "a", "v1"),
	})
	d := startDaemon(t, testConfig(t, remote.URL(), t.TempDir()))
	d.waitFor("a applied and its hook run", func() bool { return d.logs.count("on_apply hook finished", "stack", "stacks/a") == 1 })
	require.NoError(t, d.stop())

	calls := cloud.sts.Calls()
	roles := cloud.sts.Roles()
	require.NotEmpty(t, roles)
	assert.Equal(t, awsPlanRole, roles[0], "the plan assumes the plan role, and does so first")
	planAt, applyAt := slices.Index(roles, awsPlanRole), slices.Index(roles, awsApplyRole)
	require.GreaterOrEqual(t, applyAt, 0, "the apply assumed the apply role: %v", roles)
	assert.Less(t, planAt, applyAt, "the apply role is assumed only after the plan: %v", roles)
	assert.ElementsMatch(t, []string{awsPlanRole, awsApplyRole}, slices.Compact(slices.Sorted(slices.Values(roles))))
	for _, c := range calls {
		assert.Equal(t, "trueup-stacks-a-"+rev.Short(), c.Session, c.Role)
		assert.Equal(t, "stacks/a", c.Tags["trueup:stack"], c.Role)
		assert.Equal(t, string(rev), c.Tags["trueup:commit"], c.Role)
		assert.Equal(t, "main", c.Tags["trueup:branch"], c.Role)
		assert.Equal(t, "true", c.Tags["trueup:trusted"], c.Role)
		assert.Equal(t, map[string]string{awsPlanRole: "plan", awsApplyRole: "apply"}[c.Role], c.Tags["trueup:purpose"], c.Role)
		assert.Equal(t, awstest.Signer{KeyID: awstest.BaseKeyID, Region: "eu-west-1", Service: "sts"}, c.Signer, "trueup's own identity assumes the role in the stack's region")
	}

	apply, plan := cloud.sts.CredentialsFor(awsApplyRole)[0], cloud.sts.CredentialsFor(awsPlanRole)[0]
	require.NotEqual(t, plan.KeyID, apply.KeyID)
	assert.Equal(t, apply.KeyID+" "+apply.Token+" eu-west-1", readFile(t, filepath.Join(out, "a.env")),
		"Terraform's apply ran with the apply role's credentials and the stack's region")
	applyKey := apply.KeyID

	ecs := cloud.ecs.Calls()
	require.Len(t, ecs, 1, "on_apply redeployed the ECS service once")
	assert.Equal(t, "c", ecs[0].Cluster)
	assert.Equal(t, "s", ecs[0].Service)
	assert.True(t, ecs[0].ForceNewDeployment)
	assert.Equal(t, awstest.Signer{KeyID: applyKey, Region: "eu-west-1", Service: "ecs"}, ecs[0].Signer, "the redeploy runs under the apply role")

	cloud.assertNoSecretsIn(t, d.logs.String())
}

func TestAWSAccessDeniedFailsOnlyThatStackAndItsHook(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	cloud := newAWSCloud(t)
	const denied = "User: arn:aws:sts::123456789012:assumed-role/trueup-task/x is not authorized to perform: sts:AssumeRole on resource: " + awsDeniedRole
	cloud.sts.Deny(awsDeniedRole, denied)
	out := t.TempDir()
	remote := gittest.NewRemote(t)
	rev := remote.CommitAndPush("stacks a and b", map[string]string{
		".trueup.yaml":     awsLayout(true),
		"stacks/a/main.tf": awsStack(out, "a", "v1"),
		"stacks/b/main.tf": awsStack(out, "b", "v1"),
	})
	d := startDaemon(t, testConfig(t, remote.URL(), t.TempDir()))
	d.waitFor("a applied and its hook run", func() bool { return d.logs.count("on_apply hook finished", "stack", "stacks/a") == 1 })
	d.waitFor("b failed", func() bool { return d.logs.count("apply failed", "stack", "stacks/b") == 1 })

	failed := d.logs.entries("apply failed", "stack", "stacks/b")[0]
	assert.Equal(t, "failed", failed["kind"], "a refused role needs a human: no retry")
	assert.Contains(t, failed["err"], "AccessDenied")
	assert.Contains(t, failed["err"], denied, "STS's own message is kept")
	assert.Zero(t, d.logs.count("apply failed", "stack", "stacks/a"))
	assert.NoFileExists(t, filepath.Join(out, "b.env"), "b never reached its apply")

	a := awsStackStatus(t, d, "stacks/a")
	require.NotNil(t, a["hook"], "a's status shows its hook: %v", a)
	hook := a["hook"].(map[string]any)
	assert.Equal(t, true, hook["ok"])
	assert.Equal(t, string(rev), hook["revision"])
	b := awsStackStatus(t, d, "stacks/b")
	assert.Nil(t, b["hook"], "no hook ran for the failed stack: %v", b)
	require.NotNil(t, b["last_run"])
	assert.Equal(t, "failed", b["last_run"].(map[string]any)["result"])
	assert.Contains(t, b["last_run"].(map[string]any)["error"], denied, "b's status says why")
	require.NoError(t, d.stop())

	applies := cloud.sts.CredentialsFor(awsApplyRole)
	require.NotEmpty(t, applies)
	applyKey := applies[0].KeyID
	assert.Equal(t, applies[0].KeyID+" "+applies[0].Token+" eu-west-1", readFile(t, filepath.Join(out, "a.env")),
		"a applied under its apply role")
	ecs := cloud.ecs.Calls()
	require.Len(t, ecs, 1, "ECS redeployed after a's apply and not after b's failure")
	assert.Equal(t, applyKey, ecs[0].Signer.KeyID, "the one redeploy is a's, under a's apply role")
	assert.Zero(t, d.logs.count("on_apply hook finished", "stack", "stacks/b"))
	assert.Zero(t, d.logs.count("on_apply hook failed; the apply stands"))

	cloud.assertNoSecretsIn(t, d.logs.String())
}

func TestAWSSlackWebhookURLFromSecretsManager(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git and Terraform")
	}
	for _, tc := range []struct {
		name   string
		ref    string
		secret func(url string) string
	}{
		{"plain secret", awsSlackARN, func(url string) string { return url }},
		{"key of a JSON secret", awsSlackARN + "#url", func(url string) string {
			return fmt.Sprintf(`{"url": %q, "other": "x"}`, url)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newAWSCloud(t)
			slack := newAWSSlackInbox(t)
			cloud.secrets.Set(awsSlackARN, tc.secret(slack.URL()))
			remote := gittest.NewRemote(t)
			remote.CommitAndPush("broken stack", map[string]string{
				"stacks/a/main.tf": "resource \"terraform_data\" \"x\" {\n  input = \n}\n",
			})
			cfg := testConfig(t, remote.URL(), t.TempDir())
			cfg.Slack.WebhookURLSecretARN = tc.ref
			d := startDaemon(t, cfg)
			d.waitFor("the failure alerted in Slack", func() bool { return len(slack.Texts()) > 0 })
			require.NoError(t, d.stop())

			texts := slack.Texts()
			assert.Contains(t, texts[0], "stacks/a")
			assert.Contains(t, strings.ToLower(texts[0]), "fail")
			signers := cloud.secrets.Signers()
			require.NotEmpty(t, signers)
			for _, s := range signers {
				assert.Equal(t, awstest.Signer{KeyID: awstest.BaseKeyID, Region: "eu-west-1", Service: "secretsmanager"}, s,
					"trueup reads the secret with its own identity, in the ARN's region")
			}
			logs := d.logs.String()
			assert.NotContains(t, logs, slack.URL(), "the webhook URL is a secret")
			assert.NotContains(t, logs, strings.TrimPrefix(slack.URL(), "http://"))
			assert.NotContains(t, logs, awstest.BaseSecretKey)
		})
	}
}

func TestAWSUnreadableSecretIsAStartupError(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: real git")
	}
	for _, tc := range []struct {
		name, stored, ref, want string
	}{
		{"no such secret", "", awsSlackARN, "ResourceNotFoundException"},
		{"JSON secret without the key", `{"other": "x"}`, awsSlackARN + "#url", "no such key"},
		{"secret that is not JSON", "https://hooks.slack.invalid/T/B/x", awsSlackARN + "#url", "not a JSON object"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cloud := newAWSCloud(t)
			if tc.stored != "" {
				cloud.secrets.Set(awsSlackARN, tc.stored)
			}
			remote := gittest.NewRemote(t)
			remote.CommitAndPush("stack", map[string]string{"stacks/a/main.tf": awsStack(t.TempDir(), "a", "v1")})
			cfg := testConfig(t, remote.URL(), t.TempDir())
			cfg.Slack.WebhookURLSecretARN = tc.ref
			require.NoError(t, cfg.Validate())

			// runDaemon must return by itself; the deadline only keeps a wrong result from hanging the test.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			var logs strings.Builder
			err := runDaemon(ctx, cfg, slog.New(slog.NewJSONHandler(&logs, nil)))
			require.Error(t, err)
			require.NoError(t, ctx.Err(), "runDaemon returned the error itself, at startup")
			assert.Contains(t, err.Error(), "slack.webhook_url")
			assert.Contains(t, err.Error(), tc.ref, "the error names the secret")
			assert.Contains(t, err.Error(), tc.want)
			if tc.stored != "" {
				assert.NotContains(t, err.Error(), tc.stored, "the error never quotes the value")
			}
			assert.NotContains(t, logs.String(), "trueup started")
		})
	}
}
