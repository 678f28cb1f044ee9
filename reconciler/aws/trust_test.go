package aws

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

// allRoles is a stack with a role for every kind of run.
var allRoles = reconciler.StackAWS{RoleARN: planRole, BranchRoleARN: branchRole, ApplyRoleARN: applyRole}

// tags are the session tags every test request here gets, plus more.
func tags(more ...string) map[string]string {
	m := map[string]string{"trueup:stack": "app", "trueup:commit": string(sha)}
	for i := 0; i+1 < len(more); i += 2 {
		m[more[i]] = more[i+1]
	}
	return m
}

func TestEnvRoleByPurposeAndTrust(t *testing.T) {
	plan, apply, drift := reconciler.PurposePlan, reconciler.PurposeApply, reconciler.PurposeDrift
	tests := []struct {
		name      string
		stack     reconciler.StackAWS
		defaults  reconciler.StackAWS
		purpose   reconciler.RunPurpose
		branch    string
		untrusted bool
		pr        int
		wantRole  string
		wantTags  map[string]string
	}{
		{
			name: "untrusted plan assumes branch_role_arn", stack: allRoles,
			purpose: plan, branch: "feature/x", untrusted: true, pr: 7, wantRole: branchRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "feature/x", "trueup:pull_request", "7", "trueup:trusted", "false"),
		},
		{
			name: "untrusted plan of a branch, no pull request", stack: allRoles,
			purpose: plan, branch: "feature/x", untrusted: true, wantRole: branchRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "feature/x", "trueup:trusted", "false"),
		},
		{
			name: "untrusted plan without branch_role_arn assumes role_arn", stack: reconciler.StackAWS{RoleARN: planRole, ApplyRoleARN: applyRole},
			purpose: plan, branch: "feature/x", untrusted: true, pr: 7, wantRole: planRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "feature/x", "trueup:pull_request", "7", "trueup:trusted", "false"),
		},
		{
			name: "untrusted plan takes branch_role_arn from the defaults", stack: reconciler.StackAWS{RoleARN: planRole},
			defaults: reconciler.StackAWS{BranchRoleARN: branchRole, ApplyRoleARN: applyRole},
			purpose:  plan, branch: "feature/x", untrusted: true, pr: 7, wantRole: branchRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "feature/x", "trueup:pull_request", "7", "trueup:trusted", "false"),
		},
		{
			name: "a fork's head branch named main is still untrusted", stack: allRoles,
			purpose: plan, branch: "main", untrusted: true, pr: 2, wantRole: branchRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "main", "trueup:pull_request", "2", "trueup:trusted", "false"),
		},
		{
			name: "branch tag is sanitized", stack: allRoles,
			purpose: plan, branch: "x;$(id)#<y>", untrusted: true, wantRole: branchRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "x---id---y-", "trueup:trusted", "false"),
		},
		{
			name: "main's plan assumes role_arn, not the branch role", stack: allRoles,
			purpose: plan, branch: "main", wantRole: planRole,
			wantTags: tags("trueup:purpose", "plan", "trueup:branch", "main", "trueup:trusted", "true"),
		},
		{
			name: "drift assumes role_arn", stack: allRoles,
			purpose: drift, branch: "main", wantRole: planRole,
			wantTags: tags("trueup:purpose", "drift", "trueup:branch", "main", "trueup:trusted", "true"),
		},
		{
			name: "apply assumes apply_role_arn", stack: allRoles,
			purpose: apply, branch: "main", wantRole: applyRole,
			wantTags: tags("trueup:purpose", "apply", "trueup:branch", "main", "trueup:trusted", "true"),
		},
		{
			name: "apply without apply_role_arn assumes role_arn, never the branch role", stack: reconciler.StackAWS{RoleARN: planRole, BranchRoleARN: branchRole},
			purpose: apply, branch: "main", wantRole: planRole,
			wantTags: tags("trueup:purpose", "apply", "trueup:branch", "main", "trueup:trusted", "true"),
		},
		{
			name: "no branch, no branch tag", stack: allRoles,
			purpose: apply, wantRole: applyRole,
			wantTags: tags("trueup:purpose", "apply", "trueup:trusted", "true"),
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCredsFixture(t, tt.defaults)
			st := reconciler.Stack{Name: "app", AWS: tt.stack}
			env, err := f.creds.Env(context.Background(), reconciler.CredentialRequest{
				Stack: st, Revision: sha, Purpose: tt.purpose, Branch: tt.branch, Untrusted: tt.untrusted, PullRequest: tt.pr,
			})
			require.NoError(t, err)
			calls := f.sts.Calls()
			require.Len(t, calls, 1)
			assert.Equal(t, tt.wantRole, calls[0].Role)
			assert.Equal(t, tt.wantTags, calls[0].Tags)
			assert.Empty(t, calls[0].TransitiveTagKeys)
			assert.Equal(t, "ASIAFAKE0001", env["AWS_ACCESS_KEY_ID"])
			assert.Equal(t, "session-token-1-SENSITIVE", env["AWS_SESSION_TOKEN"])
		})
	}
}

func TestEnvRefusals(t *testing.T) {
	plan, apply, drift := reconciler.PurposePlan, reconciler.PurposeApply, reconciler.PurposeDrift
	tests := []struct {
		name      string
		stack     reconciler.StackAWS
		defaults  reconciler.StackAWS
		purpose   reconciler.RunPurpose
		untrusted bool
		want      string
	}{
		{"untrusted apply", allRoles, reconciler.StackAWS{}, apply, true, `refusing "apply" credentials to untrusted code`},
		{"untrusted apply with only role_arn", reconciler.StackAWS{RoleARN: planRole}, reconciler.StackAWS{}, apply, true, "untrusted code"},
		{"untrusted apply with no role at all", reconciler.StackAWS{Region: "eu-west-1"}, reconciler.StackAWS{}, apply, true, "untrusted code"},
		{"untrusted drift", allRoles, reconciler.StackAWS{}, drift, true, `refusing "drift" credentials to untrusted code`},
		{"untrusted unknown purpose", allRoles, reconciler.StackAWS{}, "", true, "untrusted code"},
		{"untrusted plan with only apply_role_arn", reconciler.StackAWS{ApplyRoleARN: applyRole}, reconciler.StackAWS{}, plan, true,
			"neither branch_role_arn nor role_arn for untrusted plan runs"},
		{"untrusted plan with only the default apply_role_arn", reconciler.StackAWS{}, reconciler.StackAWS{ApplyRoleARN: applyRole}, plan, true,
			"neither branch_role_arn nor role_arn"},
		{"main's plan with only branch_role_arn", reconciler.StackAWS{BranchRoleARN: branchRole, ApplyRoleARN: applyRole}, reconciler.StackAWS{}, plan, false,
			"no role_arn for plan runs"},
		{"drift with only apply_role_arn", reconciler.StackAWS{ApplyRoleARN: applyRole}, reconciler.StackAWS{}, drift, false,
			"no role_arn for drift runs"},
		{"apply with only branch_role_arn", reconciler.StackAWS{BranchRoleARN: branchRole}, reconciler.StackAWS{}, apply, false,
			"neither apply_role_arn nor role_arn for apply runs"},
		{"unknown purpose", allRoles, reconciler.StackAWS{}, "destroy", false, `unknown run purpose "destroy"`},
		{"no purpose", allRoles, reconciler.StackAWS{}, "", false, `unknown run purpose ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newCredsFixture(t, tt.defaults)
			st := reconciler.Stack{Name: "app", AWS: tt.stack}
			env, err := f.creds.Env(context.Background(), reconciler.CredentialRequest{
				Stack: st, Revision: sha, Purpose: tt.purpose, Branch: "feature/x", Untrusted: tt.untrusted, PullRequest: 7,
			})
			require.Error(t, err)
			assert.Nil(t, env, "no region, no credentials")
			assert.Equal(t, reconciler.KindFailed, reconciler.KindOf(err))
			assert.Contains(t, err.Error(), tt.want)
			assert.Empty(t, f.sts.Calls(), "refused before any AssumeRole")
		})
	}
}

func TestEnvCacheSeparatesPurposeBranchAndTrust(t *testing.T) {
	// One role for everything, so only the cache key keeps the sessions apart.
	f := newCredsFixture(t, reconciler.StackAWS{})
	st := reconciler.Stack{Name: "app", AWS: reconciler.StackAWS{RoleARN: planRole}}
	ctx := context.Background()
	reqs := []reconciler.CredentialRequest{
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "main"},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposeDrift, Branch: "main"},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposeApply, Branch: "main"},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "main", Untrusted: true}, // only the trust differs from the first
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "feature/x", Untrusted: true},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "feature/y", Untrusted: true},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "feature#y", Untrusted: true},
		{Stack: st, Revision: sha, Purpose: reconciler.PurposePlan, Branch: "feature-y", Untrusted: true}, // the same tag value as feature#y
	}
	keys := map[string]reconciler.CredentialRequest{}
	for i, req := range reqs {
		env, err := f.creds.Env(ctx, req)
		require.NoError(t, err)
		id := env["AWS_ACCESS_KEY_ID"]
		if prev, dup := keys[id]; dup {
			t.Errorf("request %d (%+v) got the session of %+v", i, req, prev)
		}
		keys[id] = req
	}
	calls := f.sts.Calls()
	require.Len(t, calls, len(reqs))
	assert.Equal(t, "true", calls[0].Tags["trueup:trusted"])
	assert.Equal(t, "false", calls[3].Tags["trueup:trusted"])
	assert.Equal(t, calls[6].Tags, calls[7].Tags, "sanitized alike, yet separate sessions")

	// Each is still cached on its own.
	for i, req := range reqs {
		env, err := f.creds.Env(ctx, req)
		require.NoError(t, err)
		assert.Equal(t, req, keys[env["AWS_ACCESS_KEY_ID"]], "request %d got another's session", i)
	}
	assert.Len(t, f.sts.Calls(), len(reqs), "all cached")
}
