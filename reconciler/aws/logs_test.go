package aws

import (
	"context"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/aws/awstest"
)

// TestLogsHoldNoSecrets drives credentials, secrets and hooks through success, caching, refresh and
// failure with one debug-level JSON logger, and checks that no credential, secret value or webhook
// URL reached it.
func TestLogsHoldNoSecrets(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	sts := awstest.NewSTS(t, clk.Now)
	sm := awstest.NewSecretsManager(t)
	ecs := awstest.NewECS(t)
	hook, _, _ := webhookServer(t, http.StatusServiceUnavailable)
	hookURL := hook.URL + "/hooks/deploy/SENSITIVE-path?token=SENSITIVE-query"
	buf := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}))

	creds, err := NewCredentials(ctx, CredentialsOptions{AWSConfig: baseConfig(), STSEndpoint: sts.URL, Now: clk.Now, Logger: log, backoff: zeroBackoff{}})
	require.NoError(t, err)
	secrets, err := NewSecrets(ctx, SecretsOptions{AWSConfig: baseConfig(), Endpoint: sm.URL, Now: clk.Now, Logger: log})
	require.NoError(t, err)
	hooks, err := NewHooks(HooksOptions{AWSConfig: baseConfig(), ECSEndpoint: ecs.URL, Credentials: creds, Logger: log,
		Getenv: func(string) string { return hookURL }})
	require.NoError(t, err)

	// Credentials: plan, apply, cached, refreshed, throttled, denied.
	var envs []map[string]string
	for _, purpose := range []reconciler.RunPurpose{reconciler.PurposePlan, reconciler.PurposeApply, reconciler.PurposePlan} {
		env, err := creds.Env(ctx, reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: purpose, PullRequest: 4})
		require.NoError(t, err)
		envs = append(envs, env)
	}
	clk.Add(58 * time.Minute)
	sts.Throttle(1)
	env, err := creds.Env(ctx, reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan, PullRequest: 4})
	require.NoError(t, err)
	envs = append(envs, env)
	sts.Deny(planRole, "not authorized")
	_, err = creds.Env(ctx, reconciler.CredentialRequest{Stack: prodStack(), Revision: "ffff0000", Purpose: reconciler.PurposePlan})
	require.Error(t, err)

	// Secrets: whole, #key, refresh failing.
	sm.Set(slackARN, slackURL)
	sm.Set(githubARN, githubObj)
	_, err = secrets.Get(ctx, slackARN)
	require.NoError(t, err)
	_, err = secrets.Get(ctx, githubARN+"#token")
	require.NoError(t, err)
	sm.Fail(true)
	clk.Add(time.Hour)
	_, err = secrets.Get(ctx, slackARN)
	require.NoError(t, err)

	// Hooks: ECS under the apply role, a failing webhook.
	st := ecsStack()
	st.OnApply.Webhook = &reconciler.WebhookHook{URLEnv: "DEPLOY_HOOK_URL"}
	hookErr := hooks.AfterApply(ctx, st, sha, "done")
	require.Error(t, hookErr)
	assert.NotContains(t, hookErr.Error(), "SENSITIVE")
	require.Len(t, ecs.Calls(), 1)

	out := buf.String()
	// The log is not empty: it names roles, sessions and secrets.
	assert.Contains(t, out, planRole)
	assert.Contains(t, out, applyRole)
	assert.Contains(t, out, "trueup-envs-prod-01234567")
	assert.Contains(t, out, slackARN)
	assert.Contains(t, out, "on_apply: ECS service redeploying")

	issued := sts.Issued()
	require.GreaterOrEqual(t, len(issued), 8)
	for _, env := range envs {
		issued = append(issued, env[EnvSecretAccessKey], env[EnvSessionToken])
	}
	for _, s := range append(issued, awstest.BaseSecretKey, slackURL, "SENSITIVE", hook.URL) {
		require.NotEmpty(t, s)
		assert.NotContains(t, out, s)
	}
}
