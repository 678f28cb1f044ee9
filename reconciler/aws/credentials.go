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

// sessionKey identifies one assumed-role session. It includes the role and the purpose, so a plan
// is never handed an apply session, and everything that goes into the session's name and tags.
type sessionKey struct {
	role, purpose, externalID string
	duration                  int32
	stack                     string
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
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	client := sts.NewFromConfig(opts.AWSConfig, func(o *sts.Options) {
		if opts.STSEndpoint != "" {
			o.BaseEndpoint = awssdk.String(opts.STSEndpoint)
		}
		o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
			so.MaxAttempts = stsMaxAttempts
			if opts.backoff != nil {
				so.Backoff = opts.backoff
			}
		})
	})
	return &Credentials{opts: opts, sts: client, log: log, cache: map[sessionKey]session{}}, nil
}

// Env returns the environment of one Terraform run:
//   - a stack with no role (neither role_arn nor apply_role_arn, after the daemon's defaults) gets only
//     AWS_REGION and AWS_DEFAULT_REGION when a region is set, or nothing: the run inherits the daemon's
//     own environment and identity;
//   - otherwise plans assume role_arn, applies apply_role_arn (or role_arn), and the run gets
//     AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_PROFILE="" and the region
//     variables when a region is set. A plan never gets apply credentials: when only
//     apply_role_arn is set, a plan fails.
//
// Sessions are cached per role, purpose, stack, commit and pull request until RefreshBefore before
// they expire. Errors are *reconciler.Error: KindFailed when STS refuses (access denied, no such
// role, invalid parameters; STS's message is kept), KindTransient for throttling that outlasts the
// SDK's retries, STS server errors and network errors. A failure concerns only that request.
func (c *Credentials) Env(ctx context.Context, req reconciler.CredentialRequest) (map[string]string, error) {
	cfg := req.Stack.AWS.Merge(c.opts.Defaults)
	env := map[string]string{}
	if cfg.Region != "" {
		env[EnvRegion] = cfg.Region
		env[EnvDefaultRegion] = cfg.Region
	}
	if cfg.RoleARN == "" && cfg.ApplyRoleARN == "" {
		return env, nil
	}
	role := cfg.RoleARN
	if req.Purpose == reconciler.PurposeApply && cfg.ApplyRoleARN != "" {
		role = cfg.ApplyRoleARN
	}
	if role == "" {
		// Only apply_role_arn is set: falling back to it would give a plan write access.
		return nil, reconciler.Errorf(reconciler.KindFailed, "assume role",
			fmt.Errorf("stack %s has apply_role_arn but no role_arn for %s runs", req.Stack.Name, req.Purpose))
	}
	key := sessionKey{
		role: role, purpose: string(req.Purpose), externalID: cfg.ExternalID,
		duration: durationSeconds(int64(cfg.SessionDuration / time.Second)),
		stack:    req.Stack.Name, rev: req.Revision, pr: req.PullRequest,
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
	for _, t := range sessionTags(key.stack, key.rev, key.pr) {
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
		"duration", strconv.Itoa(int(key.duration))+"s", "expires", s.expires)
	return s, nil
}
