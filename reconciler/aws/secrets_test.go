package aws

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/aws/awstest"
)

const (
	slackARN  = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:trueup/slack-AbCdEf"
	slackURL  = "https://hooks.slack.example/services/T000/B000/SENSITIVE-slack"
	githubARN = "arn:aws:secretsmanager:eu-central-1:123456789012:secret:trueup/github-XyZ123"
	githubObj = `{"token":"ghp_SENSITIVE_token","app_id":12345,"nested":{"a":1}}`
)

type secretsFixture struct {
	sm      *awstest.SecretsManager
	clock   *clock
	secrets *Secrets
	log     *syncBuffer
}

func newSecretsFixture(t *testing.T) *secretsFixture {
	t.Helper()
	f := &secretsFixture{sm: awstest.NewSecretsManager(t), clock: newClock()}
	f.sm.Set(slackARN, slackURL)
	f.sm.Set(githubARN, githubObj)
	f.sm.Set("plain-name", "not json SENSITIVE")
	log, buf := logCapture(t, func() []string {
		return []string{slackURL, "SENSITIVE-slack", "ghp_SENSITIVE_token", "not json SENSITIVE", "rotated-SENSITIVE"}
	})
	s, err := NewSecrets(context.Background(), SecretsOptions{
		AWSConfig: baseConfig(), Endpoint: f.sm.URL, Refresh: 10 * time.Minute, Now: f.clock.Now, Logger: log,
	})
	require.NoError(t, err)
	f.secrets, f.log = s, buf
	return f
}

func TestSecretsGet(t *testing.T) {
	f := newSecretsFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, ref, want string
	}{
		{"whole secret by ARN", slackARN, slackURL},
		{"whole secret by name", "plain-name", "not json SENSITIVE"},
		{"string field", githubARN + "#token", "ghp_SENSITIVE_token"},
		{"number field as JSON text", githubARN + "#app_id", "12345"},
		{"object field as JSON text", githubARN + "#nested", `{"a":1}`},
		{"whole JSON secret", githubARN, githubObj},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.secrets.Get(ctx, tt.ref)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
	assert.Equal(t, 3, f.sm.Calls(), "one read per secret, fields come from the cache")
}

func TestSecretsGetErrors(t *testing.T) {
	f := newSecretsFixture(t)
	ctx := context.Background()
	tests := []struct {
		name, ref string
		want      []string
	}{
		{"missing key", githubARN + "#password", []string{githubARN + "#password", "no such key"}},
		{"not JSON", "plain-name#token", []string{"plain-name#token", "not a JSON object"}},
		{"missing secret", "arn:aws:secretsmanager:eu-west-1:123456789012:secret:gone", []string{"read secret arn:aws:secretsmanager:eu-west-1:123456789012:secret:gone", "ResourceNotFoundException"}},
		{"empty ref", "#key", []string{"empty secret id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.secrets.Get(ctx, tt.ref)
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "SENSITIVE")
		})
	}
}

func TestSecretsFailureAtStart(t *testing.T) {
	f := newSecretsFixture(t)
	f.sm.Fail(true)
	_, err := f.secrets.Get(context.Background(), slackARN)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "read secret "+slackARN)
	assert.Contains(t, err.Error(), "AccessDeniedException")
	assert.NotContains(t, err.Error(), "SENSITIVE")
}

func TestSecretsRefresh(t *testing.T) {
	f := newSecretsFixture(t)
	get := f.secrets.Func(slackARN)
	ctx := context.Background()

	v, err := get(ctx)
	require.NoError(t, err)
	assert.Equal(t, slackURL, v)

	f.sm.Set(slackARN, "rotated-SENSITIVE")
	f.clock.Add(9 * time.Minute)
	v, err = get(ctx)
	require.NoError(t, err)
	assert.Equal(t, slackURL, v, "served from the cache before Refresh")
	assert.Equal(t, 1, f.sm.Calls())

	f.clock.Add(time.Minute)
	v, err = get(ctx)
	require.NoError(t, err)
	assert.Equal(t, "rotated-SENSITIVE", v)
	assert.Equal(t, 2, f.sm.Calls())

	// A failing refresh serves the last good value and warns once.
	f.sm.Fail(true)
	for range 3 {
		f.clock.Add(11 * time.Minute)
		v, err = get(ctx)
		require.NoError(t, err)
		assert.Equal(t, "rotated-SENSITIVE", v)
	}
	assert.Equal(t, 5, f.sm.Calls())
	warnings := f.log.lines(t, "secret refresh failed; serving the last value read")
	require.Len(t, warnings, 1)
	assert.Equal(t, slackARN, warnings[0]["secret"])

	// After a recovery, the next failure warns again.
	f.sm.Fail(false)
	f.clock.Add(11 * time.Minute)
	_, err = get(ctx)
	require.NoError(t, err)
	f.sm.Fail(true)
	f.clock.Add(11 * time.Minute)
	_, err = get(ctx)
	require.NoError(t, err)
	assert.Len(t, f.log.lines(t, "secret refresh failed; serving the last value read"), 2)
}

func TestSecretsRegionFromARN(t *testing.T) {
	f := newSecretsFixture(t)
	ctx := context.Background()
	_, err := f.secrets.Get(ctx, githubARN+"#token")
	require.NoError(t, err)
	_, err = f.secrets.Get(ctx, "plain-name")
	require.NoError(t, err)
	assert.Equal(t, []awstest.Signer{
		{KeyID: awstest.BaseKeyID, Region: "eu-central-1", Service: "secretsmanager"},
		{KeyID: awstest.BaseKeyID, Region: "us-east-1", Service: "secretsmanager"},
	}, f.sm.Signers())
}
