package reconciler

import (
	"context"
	"time"
)

// StackAWS is how a stack's Terraform runs reach AWS. Plans and drift checks on the applied branch
// assume RoleARN (which should be read-only); applies assume ApplyRoleARN, or RoleARN when it is
// empty; plans of branch and pull request code (untrusted) assume BranchRoleARN, or RoleARN when it
// is empty. These settings are privilege: for untrusted runs they come only from trusted
// configuration (trueup.yaml and the applied branch's .trueup.yaml).
type StackAWS struct {
	RoleARN         string        `json:"role_arn,omitempty"`
	BranchRoleARN   string        `json:"branch_role_arn,omitempty"`
	ApplyRoleARN    string        `json:"apply_role_arn,omitempty"`
	ExternalID      string        `json:"external_id,omitempty"`
	Region          string        `json:"region,omitempty"`
	SessionDuration time.Duration `json:"session_duration,omitempty"`
}

// IsZero reports whether nothing is configured.
func (a StackAWS) IsZero() bool { return a == StackAWS{} }

// Merge returns a with unset fields taken from defaults.
func (a StackAWS) Merge(defaults StackAWS) StackAWS {
	if a.RoleARN == "" {
		a.RoleARN = defaults.RoleARN
	}
	if a.ApplyRoleARN == "" {
		a.ApplyRoleARN = defaults.ApplyRoleARN
	}
	if a.BranchRoleARN == "" {
		a.BranchRoleARN = defaults.BranchRoleARN
	}
	if a.ExternalID == "" {
		a.ExternalID = defaults.ExternalID
	}
	if a.Region == "" {
		a.Region = defaults.Region
	}
	if a.SessionDuration == 0 {
		a.SessionDuration = defaults.SessionDuration
	}
	return a
}

// OnApply is what runs after a successful apply on main.
type OnApply struct {
	// ECSRedeploy forces a new deployment of an ECS service, under the apply role.
	ECSRedeploy *ECSRedeploy `json:"ecs_redeploy,omitempty"`
	// Webhook POSTs {stack, commit, summary} to the URL held in an environment variable.
	Webhook *WebhookHook `json:"webhook,omitempty"`
}

// IsZero reports whether no hook is configured.
func (o OnApply) IsZero() bool { return o.ECSRedeploy == nil && o.Webhook == nil }

// ECSRedeploy names an ECS service.
type ECSRedeploy struct {
	Cluster string `json:"cluster"`
	Service string `json:"service"`
}

// WebhookHook names the environment variable that holds the hook's URL.
type WebhookHook struct {
	URLEnv string `json:"url_env"`
}

// RunPurpose says what a Terraform run may do, which decides the credentials it gets.
type RunPurpose string

// Run purposes.
const (
	PurposePlan  RunPurpose = "plan"  // plans (of main before an apply, of branches and pull requests): read-only credentials
	PurposeApply RunPurpose = "apply" // applies: apply credentials
	PurposeDrift RunPurpose = "drift" // drift checks of the applied branch: read-only credentials
)

// CredentialRequest describes one Terraform run that needs cloud credentials.
type CredentialRequest struct {
	Stack    Stack
	Revision Revision
	Purpose  RunPurpose
	// Branch is the branch the run's code comes from: the applied branch, a branch, or a pull
	// request's head branch.
	Branch string
	// Untrusted is true for runs of branch and pull request code: they get the branch role
	// (BranchRoleARN, or RoleARN), never the apply role.
	Untrusted   bool
	PullRequest int
}

// Credentials supplies a Terraform run's cloud credentials as environment variables. The values are
// secrets: callers never log them. A failure fails only that stack's run.
type Credentials interface {
	Env(ctx context.Context, req CredentialRequest) (map[string]string, error)
}

// HookResult is the outcome of a stack's on_apply hooks, kept in its status.
type HookResult struct {
	Revision Revision  `json:"revision"`
	Time     time.Time `json:"time"`
	OK       bool      `json:"ok"`
	Error    string    `json:"error,omitempty"`
}

// Hooks runs a stack's on_apply hooks after a successful apply on main. A failure is reported and
// alerted; it never rolls the apply back.
type Hooks interface {
	AfterApply(ctx context.Context, stack Stack, rev Revision, summary string) error
}
