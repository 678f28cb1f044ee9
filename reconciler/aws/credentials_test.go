package aws

import (
	"context"
	"maps"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/aws/awstest"
)

const (
	planRole   = "arn:aws:iam::123456789012:role/trueup-plan"
	applyRole  = "arn:aws:iam::123456789012:role/trueup-apply"
	branchRole = "arn:aws:iam::123456789012:role/trueup-branch"
)

type credsFixture struct {
	sts   *awstest.STS
	clock *clock
	creds *Credentials
	log   *syncBuffer
}

func newCredsFixture(t *testing.T, defaults reconciler.StackAWS) *credsFixture {
	t.Helper()
	clk := newClock()
	f := &credsFixture{sts: awstest.NewSTS(t, clk.Now), clock: clk}
	log, buf := logCapture(t, f.sts.Issued)
	creds, err := NewCredentials(context.Background(), CredentialsOptions{
		AWSConfig: baseConfig(), Defaults: defaults, STSEndpoint: f.sts.URL,
		Now: clk.Now, Logger: log, backoff: zeroBackoff{},
	})
	require.NoError(t, err)
	f.creds, f.log = creds, buf
	return f
}

func prodStack() reconciler.Stack {
	return reconciler.Stack{Name: "envs/prod", Dir: "envs/prod", Workspace: "default", AWS: reconciler.StackAWS{
		RoleARN: planRole, ApplyRoleARN: applyRole, ExternalID: "ext-123", Region: "eu-west-1",
	}}
}

func TestEnvPlanAndApplyAssumeDifferentRoles(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	ctx := context.Background()

	plan, err := f.creds.Env(ctx, reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan, Branch: "main"})
	require.NoError(t, err)
	apply, err := f.creds.Env(ctx, reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposeApply, Branch: "main"})
	require.NoError(t, err)

	wantKeys := []string{"AWS_ACCESS_KEY_ID", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}
	assert.Equal(t, wantKeys, slices.Sorted(maps.Keys(plan)))
	assert.Equal(t, wantKeys, slices.Sorted(maps.Keys(apply)))
	assert.Equal(t, "eu-west-1", plan["AWS_REGION"])
	assert.Equal(t, "eu-west-1", plan["AWS_DEFAULT_REGION"])
	assert.Empty(t, plan["AWS_PROFILE"])
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		assert.NotEmpty(t, plan[k], k)
		assert.NotEqual(t, plan[k], apply[k], "plan and apply share %s", k)
	}

	calls := f.sts.Calls()
	require.Len(t, calls, 2)
	assert.Equal(t, awstest.AssumeRoleCall{
		Role: planRole, Session: "trueup-envs-prod-01234567", ExternalID: "ext-123", Duration: "3600",
		Tags: map[string]string{
			"trueup:stack": "envs/prod", "trueup:commit": string(sha), "trueup:purpose": "plan",
			"trueup:branch": "main", "trueup:trusted": "true",
		},
		Signer: awstest.Signer{KeyID: awstest.BaseKeyID, Region: "eu-west-1", Service: "sts"},
	}, calls[0])
	assert.Equal(t, awstest.AssumeRoleCall{
		Role: applyRole, Session: "trueup-envs-prod-01234567", ExternalID: "ext-123", Duration: "3600",
		Tags: map[string]string{
			"trueup:stack": "envs/prod", "trueup:commit": string(sha), "trueup:purpose": "apply",
			"trueup:branch": "main", "trueup:trusted": "true",
		},
		Signer: awstest.Signer{KeyID: awstest.BaseKeyID, Region: "eu-west-1", Service: "sts"},
	}, calls[1])
	assert.Equal(t, "ASIAFAKE0001", plan["AWS_ACCESS_KEY_ID"])
	assert.Equal(t, "ASIAFAKE0002", apply["AWS_ACCESS_KEY_ID"])

	// The log names roles and sessions.
	assumed := f.log.lines(t, "assumed role")
	require.Len(t, assumed, 2)
	assert.Equal(t, planRole, assumed[0]["role"])
	assert.Equal(t, "trueup-envs-prod-01234567", assumed[0]["session"])
	assert.Equal(t, "plan", assumed[0]["purpose"])
	assert.Equal(t, "main", assumed[0]["branch"])
	assert.Equal(t, false, assumed[0]["untrusted"])
}

func TestEnvRoleSelection(t *testing.T) {
	tests := []struct {
		name     string
		stack    reconciler.StackAWS
		defaults reconciler.StackAWS
		purpose  reconciler.RunPurpose
		wantRole string
		wantDur  string
	}{
		{"apply falls back to role_arn", reconciler.StackAWS{RoleARN: planRole}, reconciler.StackAWS{}, reconciler.PurposeApply, planRole, "3600"},
		{"plan from the daemon's defaults", reconciler.StackAWS{}, reconciler.StackAWS{RoleARN: planRole, ApplyRoleARN: applyRole}, reconciler.PurposePlan, planRole, "3600"},
		{"apply from the daemon's defaults", reconciler.StackAWS{}, reconciler.StackAWS{RoleARN: planRole, ApplyRoleARN: applyRole}, reconciler.PurposeApply, applyRole, "3600"},
		{"stack role wins over defaults", reconciler.StackAWS{ApplyRoleARN: "arn:aws:iam::1:role/own"}, reconciler.StackAWS{RoleARN: planRole, ApplyRoleARN: applyRole}, reconciler.PurposeApply, "arn:aws:iam::1:role/own", "3600"},
		{"short duration clamped to 900s", reconciler.StackAWS{RoleARN: planRole, SessionDuration: time.Minute}, reconciler.StackAWS{}, reconciler.PurposePlan, planRole, "900"},
		{"duration from defaults", reconciler.StackAWS{RoleARN: planRole}, reconciler.StackAWS{SessionDuration: 2 * time.Hour}, reconciler.PurposePlan, planRole, "7200"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCredsFixture(t, tt.defaults)
			st := reconciler.Stack{Name: "app", AWS: tt.stack}
			env, err := f.creds.Env(context.Background(), reconciler.CredentialRequest{Stack: st, Revision: sha, Purpose: tt.purpose})
			require.NoError(t, err)
			assert.NotEmpty(t, env["AWS_SESSION_TOKEN"])
			calls := f.sts.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.wantRole, calls[0].Role)
			assert.Equal(t, tt.wantDur, calls[0].Duration)
			assert.Empty(t, calls[0].ExternalID)
			assert.Empty(t, calls[0].TransitiveTagKeys)
			assert.Equal(t, "us-east-1", calls[0].Signer.Region, "no stack region: the base config's")
			assert.NotContains(t, env, "AWS_REGION")
		})
	}
}

func TestEnvWithoutRoleGetsOnlyTheRegion(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	ctx := context.Background()
	env, err := f.creds.Env(ctx, reconciler.CredentialRequest{Stack: reconciler.Stack{Name: "app"}, Revision: sha, Purpose: reconciler.PurposeApply, Branch: "main"})
	require.NoError(t, err)
	assert.Empty(t, env)

	st := reconciler.Stack{Name: "app", AWS: reconciler.StackAWS{Region: "ap-south-1", ExternalID: "x", SessionDuration: time.Hour}}
	for _, req := range []reconciler.CredentialRequest{
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "main"},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposeDrift, Branch: "main"},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "feature/x", Untrusted: true, PullRequest: 7},
	} {
		env, err = f.creds.Env(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, map[string]string{"AWS_REGION": "ap-south-1", "AWS_DEFAULT_REGION": "ap-south-1"}, env, req)
	}
	assert.Empty(t, f.sts.Calls())
}

func TestEnvPlanNeverFallsBackToApplyRole(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	st := reconciler.Stack{Name: "app", AWS: reconciler.StackAWS{ApplyRoleARN: applyRole}}
	_, err := f.creds.Env(context.Background(), reconciler.CredentialRequest{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan})
	require.Error(t, err)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "no role_arn")
	assert.Empty(t, f.sts.Calls())
}

func TestEnvCachesAndRefreshesNearExpiry(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	ctx := context.Background()
	req := reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan}

	first, err := f.creds.Env(ctx, req)
	require.NoError(t, err)
	f.clock.Add(50 * time.Minute) // 10 minutes left: still more than RefreshBefore (5m)
	again, err := f.creds.Env(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, first, again)
	require.Len(t, f.sts.Calls(), 1)

	f.clock.Add(6 * time.Minute) // 4 minutes left: refresh
	refreshed, err := f.creds.Env(ctx, req)
	require.NoError(t, err)
	require.Len(t, f.sts.Calls(), 2)
	assert.NotEqual(t, first["AWS_ACCESS_KEY_ID"], refreshed["AWS_ACCESS_KEY_ID"])
	assert.NotEqual(t, first["AWS_SESSION_TOKEN"], refreshed["AWS_SESSION_TOKEN"])

	// Another commit, another pull request or the other purpose is another session.
	other := []reconciler.CredentialRequest{
		{Stack: prodStack(), Revision: "fedcba9876543210fedcba9876543210fedcba98", Purpose: reconciler.PurposePlan},
		{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan, PullRequest: 3},
		{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposeApply},
	}
	for i, r := range other {
		env, err := f.creds.Env(ctx, r)
		require.NoError(t, err)
		assert.NotEqual(t, refreshed["AWS_ACCESS_KEY_ID"], env["AWS_ACCESS_KEY_ID"], i)
	}
	assert.Len(t, f.sts.Calls(), 5)
}

func TestEnvCacheSeparatesPlanFromApplyWithOneRole(t *testing.T) {
	// Even when plan and apply assume the same role, their sessions are kept apart.
	f := newCredsFixture(t, reconciler.StackAWS{})
	st := reconciler.Stack{Name: "app", AWS: reconciler.StackAWS{RoleARN: planRole}}
	ctx := context.Background()
	plan, err := f.creds.Env(ctx, reconciler.CredentialRequest{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan})
	require.NoError(t, err)
	apply, err := f.creds.Env(ctx, reconciler.CredentialRequest{Stack: st, Revision: sha, Purpose: reconciler.PurposeApply})
	require.NoError(t, err)
	assert.NotEqual(t, plan["AWS_ACCESS_KEY_ID"], apply["AWS_ACCESS_KEY_ID"])
	assert.Len(t, f.sts.Calls(), 2)
}

func TestEnvAccessDeniedFailsOnlyThatStack(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	ctx := context.Background()
	denied := "arn:aws:iam::123456789012:role/locked"
	msg := "User: arn:aws:sts::123456789012:assumed-role/trueup-task/x is not authorized to perform: sts:AssumeRole on resource: " + denied
	f.sts.Deny(denied, msg)

	bad := reconciler.Stack{Name: "locked", AWS: reconciler.StackAWS{RoleARN: denied}}
	var wg sync.WaitGroup
	var badErr, goodErr error
	var goodEnv map[string]string
	wg.Go(func() {
		_, badErr = f.creds.Env(ctx, reconciler.CredentialRequest{Stack: bad, Revision: sha, Purpose: reconciler.PurposePlan})
	})
	wg.Go(func() {
		goodEnv, goodErr = f.creds.Env(ctx, reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan})
	})
	wg.Wait()

	require.Error(t, badErr)
	assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(badErr))
	assert.Contains(t, badErr.Error(), "assume role "+denied)
	assert.Contains(t, badErr.Error(), "AccessDenied")
	assert.Contains(t, badErr.Error(), "is not authorized to perform: sts:AssumeRole")
	require.NoError(t, goodErr)
	assert.NotEmpty(t, goodEnv["AWS_ACCESS_KEY_ID"])

	// A refusal is not cached: fixing the trust policy helps on the next run.
	_, err := f.creds.Env(ctx, reconciler.CredentialRequest{Stack: bad, Revision: sha, Purpose: reconciler.PurposePlan})
	require.Error(t, err)
	assert.Len(t, f.sts.Calls(), 3, "a denial is not retried by the SDK, nor cached")
}

func TestEnvThrottlingIsRetried(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	f.sts.Throttle(2)
	env, err := f.creds.Env(context.Background(), reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan})
	require.NoError(t, err)
	assert.Equal(t, "ASIAFAKE0003", env["AWS_ACCESS_KEY_ID"])
	assert.Len(t, f.sts.Calls(), 3)
}

func TestEnvThrottlingThatPersistsIsTransient(t *testing.T) {
	f := newCredsFixture(t, reconciler.StackAWS{})
	f.sts.Throttle(100)
	_, err := f.creds.Env(context.Background(), reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposePlan})
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "Throttling")
	assert.Len(t, f.sts.Calls(), stsMaxAttempts)
}

func TestEnvNetworkErrorIsTransient(t *testing.T) {
	srv := httptest.NewServer(nil)
	url := srv.URL
	srv.Close() // nothing listens there now
	creds, err := NewCredentials(context.Background(), CredentialsOptions{
		AWSConfig: baseConfig(), STSEndpoint: url, backoff: zeroBackoff{},
	})
	require.NoError(t, err)
	_, err = creds.Env(context.Background(), reconciler.CredentialRequest{Stack: prodStack(), Revision: sha, Purpose: reconciler.PurposeApply})
	require.Error(t, err)
	assert.Equal(t, reconciler.KindTransient, reconciler.KindOf(err))
	assert.Contains(t, err.Error(), "assume role "+applyRole)
}
