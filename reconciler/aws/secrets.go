package aws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/arn"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
)

// SecretsOptions configures NewSecrets.
type SecretsOptions struct {
	// AWSConfig is trueup's own identity; it needs secretsmanager:GetSecretValue on the secrets it reads.
	AWSConfig awssdk.Config
	// Endpoint overrides the Secrets Manager endpoint (tests, VPC endpoints).
	Endpoint string
	// Refresh is how long a value is served before it is read again; default 10 minutes.
	Refresh time.Duration
	// Now is the clock that decides refreshes; nil is time.Now.
	Now func() time.Time
	// Logger receives secret ARNs and failures, never values; nil discards.
	Logger *slog.Logger
}

// Secrets reads secrets from AWS Secrets Manager and caches them. It is safe for concurrent use.
type Secrets struct {
	opts   SecretsOptions
	client *secretsmanager.Client
	log    *slog.Logger
	mu     sync.Mutex
	cache  map[string]*secretEntry // by secret id (ARN or name, without #key)
}

type secretEntry struct {
	value   string
	fetched time.Time
	warned  bool // a failed refresh has been logged since the last good read
}

// NewSecrets returns Secrets reading with opts.AWSConfig. Nothing is read until Get.
func NewSecrets(_ context.Context, opts SecretsOptions) (*Secrets, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Refresh <= 0 {
		opts.Refresh = 10 * time.Minute
	}
	client := newClient(secretsmanager.NewFromConfig, opts.AWSConfig, opts.Endpoint, nil,
		func(o *secretsmanager.Options) (**string, *awssdk.Retryer) { return &o.BaseEndpoint, &o.Retryer })
	return &Secrets{opts: opts, client: client, log: orDiscard(opts.Logger), cache: map[string]*secretEntry{}}, nil
}

// Get returns the secret named by ref: a Secrets Manager ARN or name, optionally followed by "#key"
// to pick one field of a secret holding a JSON object. Values are cached for Refresh; when a refresh
// fails the last good value is served and a warning is logged once. Errors name the secret, never
// its value.
func (s *Secrets) Get(ctx context.Context, ref string) (string, error) {
	id, key, hasKey := strings.Cut(ref, "#")
	if id == "" {
		return "", fmt.Errorf("read secret %q: empty secret id", ref)
	}
	value, err := s.value(ctx, id)
	if err != nil {
		return "", err
	}
	if !hasKey {
		return value, nil
	}
	return field(id, value, key)
}

// Func returns a function reading ref on every call, for consumers whose secret may rotate
// (a Slack URLFunc, a GitHub TokenFunc).
func (s *Secrets) Func(ref string) func(ctx context.Context) (string, error) {
	return func(ctx context.Context) (string, error) { return s.Get(ctx, ref) }
}

func (s *Secrets) value(ctx context.Context, id string) (string, error) {
	now := s.opts.Now()
	s.mu.Lock()
	e := s.cache[id]
	s.mu.Unlock()
	if e != nil && now.Sub(e.fetched) < s.opts.Refresh {
		return e.value, nil
	}
	value, err := s.read(ctx, id)
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		if e = s.cache[id]; e == nil {
			return "", err
		}
		if !e.warned {
			e.warned = true
			s.log.Warn("secret refresh failed; serving the last value read", "secret", id,
				"read_at", e.fetched, "err", err)
		}
		return e.value, nil
	}
	s.cache[id] = &secretEntry{value: value, fetched: now}
	return value, nil
}

func (s *Secrets) read(ctx context.Context, id string) (string, error) {
	out, err := s.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: awssdk.String(id)},
		func(o *secretsmanager.Options) {
			// An ARN names its region; a bare name uses the base config's.
			if a, perr := arn.Parse(id); perr == nil && a.Region != "" {
				o.Region = a.Region
			}
		})
	if err != nil {
		return "", fmt.Errorf("read secret %s: %w", id, err)
	}
	if out.SecretString == nil {
		return "", fmt.Errorf("read secret %s: it has no string value (binary secrets are not supported)", id)
	}
	return *out.SecretString, nil
}

// field returns key of the JSON object in value. Errors never quote value.
func field(id, value, key string) (string, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal([]byte(value), &obj); err != nil || obj == nil {
		return "", fmt.Errorf("read secret %s#%s: the secret is not a JSON object", id, key)
	}
	raw, ok := obj[key]
	if !ok {
		return "", fmt.Errorf("read secret %s#%s: %w", id, key, errNoKey)
	}
	var str string
	if err := json.Unmarshal(raw, &str); err == nil {
		return str, nil
	}
	return string(raw), nil // a number, boolean or nested object, as JSON text
}

var errNoKey = errors.New("the secret has no such key")
