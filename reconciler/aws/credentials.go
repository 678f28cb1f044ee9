package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	ststypes "github.com/aws/aws-sdk-go-v2/service/sts/types"

	"github.com/trueup/trueup/reconciler"
)

// Environment variables a run receives.
const (
	EnvAccessKeyID     = "AWS_ACCESS_KEY_ID"
	EnvSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	EnvSessionToken    = "AWS_SESSION_TOKEN"
	EnvRegion          = "AWS_REGION"
	EnvDefaultRegion   = "AWS_DEFAULT_REGION"
	// EnvProfile is set to "" next to assumed credentials: a profile named in the daemon's own
	// environment would otherwise win over them in the AWS SDKs and Terraform's AWS provider.
	EnvProfile = "AWS_PROFILE"
)

// stsMaxAttempts bounds the SDK's retries of throttled or failed AssumeRole calls.
const stsMaxAttempts = 5

// CredentialsOptions configures NewCredentials.
type CredentialsOptions struct {
	// AWSConfig is trueup's own identity, from which stack roles are assumed
	// (config.LoadDefaultConfig: an ECS task role in production).
	AWSConfig awssdk.Config
	// Defaults are the daemon's aws: settings; a stack's own settings win.
	Defaults reconciler.StackAWS
	// STSEndpoint overrides the STS endpoint (tests, VPC endpoints); empty uses the SDK's resolution.
	STSEndpoint string
	// Now is the clock that decides when cached credentials are refreshed; nil is time.Now.
	Now func() time.Time
	// RefreshBefore is how long before expiry cached credentials are replaced, and so the least
	// lifetime a run's credentials have when it starts; default 5 minutes.
	RefreshBefore time.Duration
	// Logger receives role ARNs, session names and expiry times, never credentials; nil discards.
	Logger *slog.Logger

	// backoff replaces the SDK's retry delays (tests).
	backoff retry.BackoffDelayer
}

// Credentials is the reconciler.Credentials port over sts:AssumeRole. It is safe for concurrent use.
type Credentials struct {
	opts  CredentialsOptions
	sts   *sts.Client
	log   *slog.Logger
	mu    sync.Mutex
	cache map[sessionKey]session
}

var _ reconciler.Credentials = (*Credentials)(nil)

// sessionKey identifies one assumed-role session. It includes the role, the purpose, the branch
// and the trust, so a session is never shared between an apply and a plan, main and a branch, or
// trusted and untrusted code even when they assume the same role, and everything that goes into the
// session's name and tags.
type sessionKey struct {
	role, purpose, externalID string
	duration                  int32
	stack, branch             string
	untrusted                 bool
	rev                       reconciler.Revision
	pr                        int
}

type session struct {
	accessKeyID, secretAccessKey, sessionToken string
	expires                                    time.Time
}

// NewCredentials returns Credentials assuming roles from opts.AWSConfig. Nothing is called yet.
func NewCredentials(_ context.Context, opts CredentialsOptions) (*Credentials, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.RefreshBefore <= 0 {
		opts.RefreshBefore = 5 * time.Minute
	}
	retryer := retry.NewStandard(func(so *retry.StandardOptions) {
		so.MaxAttempts = stsMaxAttempts
		if opts.backoff != nil {
			so.Backoff = opts.backoff
		}
	})
	client := newClient(sts.NewFromConfig, opts.AWSConfig, opts.STSEndpoint, retryer,
		func(o *sts.Options) (**string, *awssdk.Retryer) { return &o.BaseEndpoint, &o.Retryer })
	return &Credentials{opts: opts, sts: client, log: orDiscard(opts.Logger), cache: map[sessionKey]session{}}, nil
}

// Env returns the environment of one Terraform run. The role depends on the purpose and the trust:
//   - applies assume apply_role_arn, or role_arn;
//   - plans and drift checks of the applied branch assume role_arn;
//   - untrusted plans (branch and pull request code) assume branch_role_arn, or role_arn.
//
// Untrusted code never gets apply credentials: an untrusted request that is not a plan is refused,
// and a plan whose only role is apply_role_arn fails. A purpose without a role of its own fails
// too when the stack has any role (after the daemon's defaults): runs that assume roles never fall
// back to another role, nor to none. A stack with no role at all gets only AWS_REGION and
// AWS_DEFAULT_REGION when a region is set, or nothing: its runs reach AWS with whatever
// terraform.pass_env grants them, never the daemon's own identity by default. A run that assumes a
// role gets AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE="" and the
// region variables when a region is set.
//
// The session is named trueup-<stack>-<short commit> and tagged trueup:stack, trueup:commit,
// trueup:purpose (plan, apply or drift), trueup:trusted ("true" or "false"), trueup:branch (when
// req.Branch is set) and trueup:pull_request (when req.PullRequest is set). A pull request's head
// branch is chosen by its author (a fork's may be named main): IAM conditions on trueup:branch must
// also require trueup:trusted=true.
//
// Sessions are cached per role, purpose, trust, stack, branch, commit and pull request until
// RefreshBefore before they expire. Errors are *reconciler.Error: KindFailed for a refused request
// or a missing role, and when STS refuses (access denied, no such role, invalid parameters; STS's
// message is kept), KindTransient for throttling that outlasts the SDK's retries, STS server errors
// and network errors. A failure concerns only that request.
func (c *Credentials) Env(ctx context.Context, req reconciler.CredentialRequest) (map[string]string, error) {
	cfg := req.Stack.AWS.Merge(c.opts.Defaults)
	role, err := chooseRole(req, cfg)
	if err != nil {
		return nil, err
	}
	env := map[string]string{}
	if cfg.Region != "" {
		env[EnvRegion] = cfg.Region
		env[EnvDefaultRegion] = cfg.Region
	}
	if role == "" {
		return env, nil
	}
	key := sessionKey{
		role: role, purpose: string(req.Purpose), externalID: cfg.ExternalID,
		duration: durationSeconds(int64(cfg.SessionDuration / time.Second)),
		stack:    req.Stack.Name, branch: req.Branch, untrusted: req.Untrusted,
		rev: req.Revision, pr: req.PullRequest,
	}
	s, err := c.session(ctx, key, cfg.Region)
	if err != nil {
		return nil, err
	}
	env[EnvAccessKeyID] = s.accessKeyID
	env[EnvSecretAccessKey] = s.secretAccessKey
	env[EnvSessionToken] = s.sessionToken
	env[EnvProfile] = ""
	return env, nil
}

// chooseRole returns the role req assumes under cfg (the stack's settings merged with the
// daemon's), "" when the stack has no role at all, or a KindFailed error.
func chooseRole(req reconciler.CredentialRequest, cfg reconciler.StackAWS) (string, error) {
	refuse := func(format string, args ...any) (string, error) {
		return "", reconciler.Errorf(reconciler.KindFailed, "assume role", fmt.Errorf(format, args...))
	}
	var role, wanted string
	switch {
	case req.Untrusted && req.Purpose != reconciler.PurposePlan:
		// Checked first, whatever is configured: untrusted code is only ever planned.
		return refuse("stack %s: refusing %q credentials to untrusted code", req.Stack.Name, req.Purpose)
	case req.Untrusted:
		role, wanted = cfg.BranchRoleARN, "branch_role_arn"
		if role == "" {
			role = cfg.RoleARN
		}
	case req.Purpose == reconciler.PurposeApply:
		role, wanted = cfg.ApplyRoleARN, "apply_role_arn"
		if role == "" {
			role = cfg.RoleARN
		}
	case req.Purpose == reconciler.PurposePlan, req.Purpose == reconciler.PurposeDrift:
		role = cfg.RoleARN
	default:
		return refuse("stack %s: unknown run purpose %q", req.Stack.Name, req.Purpose)
	}
	if role != "" || (cfg.RoleARN == "" && cfg.BranchRoleARN == "" && cfg.ApplyRoleARN == "") {
		return role, nil
	}
	// Only another purpose's role is set: falling back to it could give a plan write access or
	// main's runs a branch's role, and running with none would hide the misconfiguration.
	if wanted == "" {
		return refuse("stack %s has no role_arn for %s runs", req.Stack.Name, req.Purpose)
	}
	return refuse("stack %s has neither %s nor role_arn for %s runs", req.Stack.Name, wanted, describe(req))
}

// describe names the kind of run req is, for errors.
func describe(req reconciler.CredentialRequest) string {
	if req.Untrusted {
		return "untrusted " + string(req.Purpose)
	}
	return string(req.Purpose)
}

// session returns the cached session for key, or assumes the role. Two concurrent requests for the
// same key may both assume it (the reconciler runs one job per stack and branch, so this is rare);
// the later session is kept.
func (c *Credentials) session(ctx context.Context, key sessionKey, region string) (session, error) {
	now := c.opts.Now()
	c.mu.Lock()
	s, ok := c.cache[key]
	for k, old := range c.cache { // session names carry the commit: drop what has expired
		if !now.Before(old.expires) {
			delete(c.cache, k)
		}
	}
	c.mu.Unlock()
	if ok && now.Add(c.opts.RefreshBefore).Before(s.expires) {
		return s, nil
	}
	s, err := c.assume(ctx, key, region)
	if err != nil {
		return session{}, err
	}
	c.mu.Lock()
	c.cache[key] = s
	c.mu.Unlock()
	return s, nil
}

func (c *Credentials) assume(ctx context.Context, key sessionKey, region string) (session, error) {
	name := sessionName(key.stack, key.rev)
	in := &sts.AssumeRoleInput{
		RoleArn:           awssdk.String(key.role),
		RoleSessionName:   awssdk.String(name),
		DurationSeconds:   awssdk.Int32(key.duration),
		TransitiveTagKeys: nil, // the tags describe this session only; a chained role sets its own
	}
	if key.externalID != "" {
		in.ExternalId = awssdk.String(key.externalID)
	}
	for _, t := range sessionTags(key) {
		in.Tags = append(in.Tags, ststypes.Tag{Key: awssdk.String(t[0]), Value: awssdk.String(t[1])})
	}
	out, err := c.sts.AssumeRole(ctx, in, func(o *sts.Options) {
		// Regional STS near the stack; a base config without a region still needs one.
		switch {
		case region != "":
			o.Region = region
		case o.Region == "":
			o.Region = "us-east-1"
		}
	})
	if err != nil {
		return session{}, reconciler.Errorf(stsErrorKind(err), "assume role "+key.role, err)
	}
	cr := out.Credentials
	if cr == nil || cr.AccessKeyId == nil || cr.SecretAccessKey == nil || cr.SessionToken == nil || cr.Expiration == nil {
		return session{}, reconciler.Errorf(reconciler.KindTransient, "assume role "+key.role,
			errors.New("STS returned no credentials"))
	}
	s := session{
		accessKeyID: *cr.AccessKeyId, secretAccessKey: *cr.SecretAccessKey, sessionToken: *cr.SessionToken,
		expires: *cr.Expiration,
	}
	c.log.Debug("assumed role", "role", key.role, "session", name, "purpose", key.purpose,
		"branch", key.branch, "untrusted", key.untrusted, "duration", strconv.Itoa(int(key.duration))+"s", "expires", s.expires)
	return s, nil
}
