package aws

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/aws/awstest"
)

type hooksFixture struct {
	creds *credsFixture
	ecs   *awstest.ECS
	env   map[string]string
	hooks *Hooks
}

func newHooksFixture(t *testing.T, withCredentials bool) *hooksFixture {
	t.Helper()
	f := &hooksFixture{creds: newCredsFixture(t, reconciler.StackAWS{}), ecs: awstest.NewECS(t), env: map[string]string{}}
	log, _ := logCapture(t, f.creds.sts.Issued)
	opts := HooksOptions{
		AWSConfig: baseConfig(), ECSEndpoint: f.ecs.URL, Branch: "main",
		Getenv: func(k string) string { return f.env[k] }, Logger: log,
	}
	if withCredentials {
		opts.Credentials = f.creds.creds
	}
	hooks, err := NewHooks(opts)
	require.NoError(t, err)
	f.hooks = hooks
	return f
}

func ecsStack() reconciler.Stack {
	st := prodStack()
	st.OnApply = reconciler.OnApply{ECSRedeploy: &reconciler.ECSRedeploy{Cluster: "prod", Service: "web"}}
	return st
}

func TestAfterApplyRedeploysECSUnderTheApplyRole(t *testing.T) {
	f := newHooksFixture(t, true)
	ctx := context.Background()
	require.NoError(t, f.hooks.AfterApply(ctx, ecsStack(), sha, "1 to change"))

	calls := f.ecs.Calls()
	require.Len(t, calls, 1)
	stsCalls := f.creds.sts.Calls()
	require.Len(t, stsCalls, 1)
	assert.Equal(t, applyRole, stsCalls[0].Role)
	assert.Equal(t, map[string]string{
		"trueup:stack": "envs/prod", "trueup:commit": string(sha), "trueup:purpose": "apply",
		"trueup:branch": "main", "trueup:trusted": "true",
	}, stsCalls[0].Tags, "a trusted apply of the applied branch")
	assert.Equal(t, "prod", calls[0].Cluster)
	assert.Equal(t, "web", calls[0].Service)
	assert.True(t, calls[0].ForceNewDeployment)
	assert.Equal(t, awstest.Signer{KeyID: "ASIAFAKE0001", Region: "eu-west-1", Service: "ecs"}, calls[0].Signer,
		"signed with the apply role's session, in the stack's region")
	assert.Equal(t, "session-token-1-SENSITIVE", calls[0].Token)

	// The hook reuses the session of the apply, which names the applied branch.
	apply, err := f.creds.creds.Env(ctx, reconciler.CredentialRequest{Stack: ecsStack(), Revision: sha, Purpose: reconciler.PurposeApply, Branch: "main"})
	require.NoError(t, err)
	assert.Equal(t, "ASIAFAKE0001", apply["AWS_ACCESS_KEY_ID"])
	assert.Len(t, f.creds.sts.Calls(), 1)
}

func TestAfterApplyWithoutRoleUsesTheBaseIdentity(t *testing.T) {
	for _, withCredentials := range []bool{true, false} {
		f := newHooksFixture(t, withCredentials)
		st := ecsStack()
		st.AWS = reconciler.StackAWS{}
		require.NoError(t, f.hooks.AfterApply(context.Background(), st, sha, ""))
		calls := f.ecs.Calls()
		require.Len(t, calls, 1)
		assert.Equal(t, awstest.Signer{KeyID: awstest.BaseKeyID, Region: "us-east-1", Service: "ecs"}, calls[0].Signer)
		assert.Empty(t, f.creds.sts.Calls())
	}
}

func TestAfterApplyECSDeniedRoleFails(t *testing.T) {
	f := newHooksFixture(t, true)
	f.creds.sts.Deny(applyRole, "not authorized to perform: sts:AssumeRole")
	err := f.hooks.AfterApply(context.Background(), ecsStack(), sha, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ecs redeploy prod/web")
	assert.Contains(t, err.Error(), "assume role "+applyRole)
	assert.Empty(t, f.ecs.Calls())
}

// webhookServer records what it receives and answers status.
func webhookServer(t *testing.T, status int) (*httptest.Server, *[]map[string]string, *[]string) {
	var bodies []map[string]string
	var types []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "/hooks/deploy/SENSITIVE-path", r.URL.Path)
		raw, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		var body map[string]string
		require.NoError(t, json.Unmarshal(raw, &body))
		bodies = append(bodies, body)
		types = append(types, r.Header.Get("Content-Type"))
		w.WriteHeader(status)
		_, _ = io.WriteString(w, "echo of "+r.URL.String())
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies, &types
}

func webhookStack() reconciler.Stack {
	return reconciler.Stack{Name: "envs/prod", OnApply: reconciler.OnApply{Webhook: &reconciler.WebhookHook{URLEnv: "DEPLOY_HOOK_URL"}}}
}

func TestAfterApplyWebhookPostsStackCommitSummary(t *testing.T) {
	f := newHooksFixture(t, true)
	srv, bodies, types := webhookServer(t, http.StatusNoContent)
	f.env["DEPLOY_HOOK_URL"] = srv.URL + "/hooks/deploy/SENSITIVE-path?token=SENSITIVE-query"

	require.NoError(t, f.hooks.AfterApply(context.Background(), webhookStack(), sha, "2 to add, 1 to change, 0 to destroy"))
	assert.Equal(t, []map[string]string{{"stack": "envs/prod", "commit": string(sha), "summary": "2 to add, 1 to change, 0 to destroy"}}, *bodies)
	assert.Equal(t, []string{"application/json"}, *types)
	assert.Empty(t, f.ecs.Calls())
}

func TestAfterApplyWebhookErrorsHideTheURL(t *testing.T) {
	failing, _, _ := webhookServer(t, http.StatusBadGateway)
	closed := httptest.NewServer(nil)
	closed.Close()
	tests := []struct {
		name, url, want string
	}{
		{"non-2xx", failing.URL + "/hooks/deploy/SENSITIVE-path?token=SENSITIVE-query", "502 Bad Gateway"},
		{"unreachable", closed.URL + "/hooks/deploy/SENSITIVE-path?token=SENSITIVE-query", "POST:"},
		{"unset", "", "not set"},
		{"not a URL", "ftp://SENSITIVE-host/x", "does not hold an http(s) URL"},
		{"unparsable", "http://SENSITIVE host/%zz", "does not hold an http(s) URL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newHooksFixture(t, true)
			if tt.url != "" {
				f.env["DEPLOY_HOOK_URL"] = tt.url
			}
			err := f.hooks.AfterApply(context.Background(), webhookStack(), sha, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "webhook $DEPLOY_HOOK_URL")
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "SENSITIVE")
			assert.NotContains(t, err.Error(), "127.0.0.1")
			t.Log(err)
		})
	}
}

func TestAfterApplyRunsBothHooksAndJoinsErrors(t *testing.T) {
	f := newHooksFixture(t, true)
	srv, bodies, _ := webhookServer(t, http.StatusInternalServerError)
	f.env["DEPLOY_HOOK_URL"] = srv.URL + "/hooks/deploy/SENSITIVE-path"
	st := ecsStack()
	st.OnApply.Webhook = webhookStack().OnApply.Webhook
	st.OnApply.ECSRedeploy.Service = ""

	err := f.hooks.AfterApply(context.Background(), st, sha, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "ecs redeploy prod/: cluster and service are required")
	assert.Contains(t, err.Error(), "webhook $DEPLOY_HOOK_URL: POST returned 500")
	assert.Len(t, *bodies, 1, "the webhook runs even though the ECS hook failed")

	// Both succeed.
	st.OnApply.ECSRedeploy.Service = "web"
	f.env["DEPLOY_HOOK_URL"] = ""
	st.OnApply.Webhook = nil
	require.NoError(t, f.hooks.AfterApply(context.Background(), st, sha, ""))
	assert.Len(t, f.ecs.Calls(), 1)
}

func TestAfterApplyWithNoHooksDoesNothing(t *testing.T) {
	f := newHooksFixture(t, true)
	require.NoError(t, f.hooks.AfterApply(context.Background(), prodStack(), sha, ""))
	assert.Empty(t, f.ecs.Calls())
	assert.Empty(t, f.creds.sts.Calls())
}
