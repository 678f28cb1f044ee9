package aws

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Base identity of trueup in tests.
const (
	baseAKID   = "AKIDTRUEUPBASE"
	baseSecret = "base-secret-key-SENSITIVE"
)

func baseConfig() awssdk.Config {
	return awssdk.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider(baseAKID, baseSecret, ""),
	}
}

// clock is a settable clock for Now options.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// zeroBackoff makes the SDK retry at once.
type zeroBackoff struct{}

func (zeroBackoff) BackoffDelay(int, error) (time.Duration, error) { return 0, nil }

var credentialRE = regexp.MustCompile(`Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// signer is who signed a request (SigV4): access key id, region and service of its credential scope.
type signer struct{ AKID, Region, Service string }

func signerOf(r *http.Request) signer {
	m := credentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return signer{}
	}
	return signer{m[1], m[2], m[3]}
}

// stsCall is one AssumeRole request as the fake STS received it.
type stsCall struct {
	Role, Session, ExternalID, Duration string
	Tags                                map[string]string
	TransitiveTagKeys                   []string
	Signer                              signer
}

// fakeSTS speaks STS's query protocol: form-encoded POSTs, XML answers.
type fakeSTS struct {
	t   *testing.T
	srv *httptest.Server
	now func() time.Time

	mu        sync.Mutex
	calls     []stsCall
	deny      map[string]string // role ARN → AccessDenied message
	throttles int               // the next n calls answer Throttling
	issued    []string          // every secret key and session token handed out
}

func newFakeSTS(t *testing.T, now func() time.Time) *fakeSTS {
	f := &fakeSTS{t: t, now: now, deny: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	assert.Equal(f.t, "AssumeRole", r.PostForm.Get("Action"))
	assert.Equal(f.t, "2011-06-15", r.PostForm.Get("Version"))
	call := stsCall{
		Role: r.PostForm.Get("RoleArn"), Session: r.PostForm.Get("RoleSessionName"),
		ExternalID: r.PostForm.Get("ExternalId"), Duration: r.PostForm.Get("DurationSeconds"),
		Tags: map[string]string{}, Signer: signerOf(r),
	}
	for i := 1; r.PostForm.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		call.Tags[r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	for i := 1; r.PostForm.Has(fmt.Sprintf("TransitiveTagKeys.member.%d", i)); i++ {
		call.TransitiveTagKeys = append(call.TransitiveTagKeys, r.PostForm.Get(fmt.Sprintf("TransitiveTagKeys.member.%d", i)))
	}

	f.mu.Lock()
	f.calls = append(f.calls, call)
	n := len(f.calls)
	denied, isDenied := f.deny[call.Role]
	throttled := f.throttles > 0
	if throttled {
		f.throttles--
	}
	secret := fmt.Sprintf("secret-access-key-%d-SENSITIVE", n)
	token := fmt.Sprintf("session-token-%d-SENSITIVE", n)
	if !isDenied && !throttled {
		f.issued = append(f.issued, secret, token)
	}
	f.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	switch {
	case isDenied:
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, stsError, "AccessDenied", denied)
	case throttled:
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, stsError, "Throttling", "Rate exceeded")
	default:
		secs, _ := strconv.Atoi(call.Duration)
		exp := f.now().Add(time.Duration(secs) * time.Second).UTC().Format(time.RFC3339)
		fmt.Fprintf(w, stsOK, fmt.Sprintf("ASIAFAKE%04d", n), secret, token, exp, call.Role, call.Session)
	}
}

const stsOK = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <Credentials>
      <AccessKeyId>%s</AccessKeyId>
      <SecretAccessKey>%s</SecretAccessKey>
      <SessionToken>%s</SessionToken>
      <Expiration>%s</Expiration>
    </Credentials>
    <AssumedRoleUser>
      <Arn>%s/%s</Arn>
      <AssumedRoleId>AROAFAKE:session</AssumedRoleId>
    </AssumedRoleUser>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>c6104cbe-af31-11e0-8154-cbc7ccf896c7</RequestId></ResponseMetadata>
</AssumeRoleResponse>`

const stsError = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>4a0e5d8f-9f7a-4c8b-a3e7-2f1b1c0d9e6a</RequestId>
</ErrorResponse>`

func (f *fakeSTS) Calls() []stsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]stsCall(nil), f.calls...)
}

func (f *fakeSTS) Deny(role, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[role] = message
}

func (f *fakeSTS) Throttle(n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttles = n
}

func (f *fakeSTS) Issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// fakeSecretsManager speaks Secrets Manager's JSON 1.1 protocol.
type fakeSecretsManager struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	secrets map[string]string // by ARN and by name
	fail    bool              // answer AccessDeniedException
	calls   int
	signers []signer
}

func newFakeSecretsManager(t *testing.T) *fakeSecretsManager {
	f := &fakeSecretsManager{t: t, secrets: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeSecretsManager) serve(w http.ResponseWriter, r *http.Request) {
	assert.Equal(f.t, "secretsmanager.GetSecretValue", r.Header.Get("X-Amz-Target"))
	var in struct{ SecretId string }
	require.NoError(f.t, json.NewDecoder(r.Body).Decode(&in))
	f.mu.Lock()
	f.calls++
	f.signers = append(f.signers, signerOf(r))
	value, ok := f.secrets[in.SecretId]
	fail := f.fail
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	switch {
	case fail:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"AccessDeniedException","message":"User: arn:aws:sts::123456789012:assumed-role/trueup-task/x is not authorized to perform: secretsmanager:GetSecretValue"}`)
	case !ok:
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
	default:
		_ = json.NewEncoder(w).Encode(map[string]any{
			"ARN": in.SecretId, "Name": in.SecretId, "SecretString": value, "VersionId": "v1",
			"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
		})
	}
}

func (f *fakeSecretsManager) Set(id, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[id] = value
}

func (f *fakeSecretsManager) Fail(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

func (f *fakeSecretsManager) Calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// ecsCall is one UpdateService request.
type ecsCall struct {
	Cluster            string `json:"cluster"`
	Service            string `json:"service"`
	ForceNewDeployment bool   `json:"forceNewDeployment"`
	Signer             signer `json:"-"`
	Token              string `json:"-"`
}

// fakeECS speaks ECS's JSON 1.1 protocol.
type fakeECS struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	calls []ecsCall
}

func newFakeECS(t *testing.T) *fakeECS {
	f := &fakeECS{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeECS) serve(w http.ResponseWriter, r *http.Request) {
	assert.Equal(f.t, "AmazonEC2ContainerServiceV20141113.UpdateService", r.Header.Get("X-Amz-Target"))
	var call ecsCall
	require.NoError(f.t, json.NewDecoder(r.Body).Decode(&call))
	call.Signer = signerOf(r)
	call.Token = r.Header.Get("X-Amz-Security-Token")
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"service": map[string]any{
		"serviceName": call.Service, "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/" + call.Cluster,
		"status": "ACTIVE", "desiredCount": 2,
	}})
}

func (f *fakeECS) Calls() []ecsCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]ecsCall(nil), f.calls...)
}

// logCapture returns a debug-level JSON logger whose output, at the end of the test, must contain none
// of the values secrets() returns then (credentials and secret values the fakes handed out).
func logCapture(t *testing.T, secrets func() []string) (*slog.Logger, *syncBuffer) {
	buf := &syncBuffer{}
	t.Cleanup(func() {
		out := buf.String()
		for _, s := range append(secrets(), baseSecret) {
			assert.NotContains(t, out, s, "a secret reached the log")
		}
	})
	return slog.New(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug})), buf
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// lines are the log records whose msg is msg.
func (s *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	var out []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if l == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &rec))
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}
