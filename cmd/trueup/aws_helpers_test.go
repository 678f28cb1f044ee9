package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trueup's own (base) identity in the AWS tests, from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
const (
	awsBaseKeyID  = "AKIDTRUEUPBASE"
	awsBaseSecret = "base-secret-key-SENSITIVE"
)

// awsCloud is AWS as far as trueup sees it: STS, Secrets Manager and ECS stand-ins speaking the real
// wire formats, which the SDK reaches through the AWS_ENDPOINT_URL_<SERVICE> variables.
type awsCloud struct {
	sts     *awsFakeSTS
	secrets *awsFakeSecrets
	ecs     *awsFakeECS
}

// newAWSCloud starts the stand-ins and points the daemon's AWS SDK at them (t.Setenv: no t.Parallel).
func newAWSCloud(t *testing.T) *awsCloud {
	c := &awsCloud{sts: newAWSFakeSTS(t), secrets: newAWSFakeSecrets(t), ecs: newAWSFakeECS(t)}
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":             c.sts.srv.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": c.secrets.srv.URL,
		"AWS_ENDPOINT_URL_ECS":             c.ecs.srv.URL,
		"AWS_ACCESS_KEY_ID":                awsBaseKeyID,
		"AWS_SECRET_ACCESS_KEY":            awsBaseSecret,
		"AWS_SESSION_TOKEN":                "",
		"AWS_REGION":                       "us-east-1",
		"AWS_DEFAULT_REGION":               "",
		"AWS_PROFILE":                      "",
		"AWS_EC2_METADATA_DISABLED":        "true",
		// The machine's own AWS files, if any, must not leak into the test.
		"AWS_CONFIG_FILE":             none,
		"AWS_SHARED_CREDENTIALS_FILE": none,
		// A global fallback that would catch a service the test forgot: nothing listens there.
		"AWS_ENDPOINT_URL": "http://127.0.0.1:1",
	} {
		t.Setenv(k, v)
	}
	return c
}

// assertNoSecretsIn checks that text holds no secret the stand-ins handed out nor trueup's base secret key.
func (c *awsCloud) assertNoSecretsIn(t *testing.T, text string) {
	t.Helper()
	issued := c.sts.Issued()
	require.NotEmpty(t, issued, "STS handed out credentials")
	for _, s := range append(issued, awsBaseSecret) {
		assert.NotContains(t, text, s, "a secret reached the log")
	}
}

var awsCredentialRE = regexp.MustCompile(`Credential=([^/]+)/\d{8}/([^/]+)/([^/]+)/aws4_request`)

// awsSigner is who signed a request (SigV4): access key id, region and service of its credential scope.
type awsSigner struct{ KeyID, Region, Service string }

func awsSignerOf(r *http.Request) awsSigner {
	m := awsCredentialRE.FindStringSubmatch(r.Header.Get("Authorization"))
	if m == nil {
		return awsSigner{}
	}
	return awsSigner{m[1], m[2], m[3]}
}

// awsSTSCall is one AssumeRole request as the fake STS received it, with the key it handed out.
type awsSTSCall struct {
	Role, Session string
	Tags          map[string]string
	Signer        awsSigner
	KeyID, Token  string // what STS handed out; "" when refused
}

// awsFakeSTS speaks STS's query protocol: form-encoded POSTs, XML answers.
type awsFakeSTS struct {
	t   *testing.T
	srv *httptest.Server

	mu     sync.Mutex
	calls  []awsSTSCall
	deny   map[string]string // role ARN → AccessDenied message
	issued []string          // every secret key and session token handed out
}

func newAWSFakeSTS(t *testing.T) *awsFakeSTS {
	f := &awsFakeSTS{t: t, deny: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *awsFakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil || r.Method != http.MethodPost || r.PostForm.Get("Action") != "AssumeRole" {
		f.t.Errorf("fake STS: unexpected request %s %s action %q", r.Method, r.URL, r.PostForm.Get("Action"))
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	call := awsSTSCall{
		Role: r.PostForm.Get("RoleArn"), Session: r.PostForm.Get("RoleSessionName"),
		Tags: map[string]string{}, Signer: awsSignerOf(r),
	}
	for i := 1; r.PostForm.Has(fmt.Sprintf("Tags.member.%d.Key", i)); i++ {
		call.Tags[r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Key", i))] = r.PostForm.Get(fmt.Sprintf("Tags.member.%d.Value", i))
	}
	secs := r.PostForm.Get("DurationSeconds")

	f.mu.Lock()
	n := len(f.calls) + 1
	denied, isDenied := f.deny[call.Role]
	secret := fmt.Sprintf("sts-secret-access-key-%d-SENSITIVE", n)
	token := fmt.Sprintf("sts-session-token-%d-SENSITIVE", n)
	if !isDenied {
		call.KeyID, call.Token = fmt.Sprintf("ASIAFAKE%04d", n), token
		f.issued = append(f.issued, secret, token)
	}
	f.calls = append(f.calls, call)
	f.mu.Unlock()

	w.Header().Set("Content-Type", "text/xml")
	if isDenied {
		w.WriteHeader(http.StatusForbidden)
		fmt.Fprintf(w, awsSTSError, "AccessDenied", denied)
		return
	}
	d, err := time.ParseDuration(secs + "s")
	if err != nil {
		d = time.Hour
	}
	exp := time.Now().Add(d).UTC().Format(time.RFC3339)
	fmt.Fprintf(w, awsSTSOK, call.KeyID, secret, token, exp, call.Role, call.Session)
}

const awsSTSOK = `<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
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

const awsSTSError = `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>4a0e5d8f-9f7a-4c8b-a3e7-2f1b1c0d9e6a</RequestId>
</ErrorResponse>`

// Deny makes AssumeRole of role answer AccessDenied with message.
func (f *awsFakeSTS) Deny(role, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deny[role] = message
}

func (f *awsFakeSTS) Calls() []awsSTSCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]awsSTSCall(nil), f.calls...)
}

func (f *awsFakeSTS) Issued() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.issued...)
}

// Roles are the roles asked for, in order, with repeats.
func (f *awsFakeSTS) Roles() []string {
	var roles []string
	for _, c := range f.Calls() {
		roles = append(roles, c.Role)
	}
	return roles
}

// awsFakeSecrets speaks Secrets Manager's JSON 1.1 protocol (GetSecretValue only).
type awsFakeSecrets struct {
	t   *testing.T
	srv *httptest.Server

	mu      sync.Mutex
	secrets map[string]string // by ARN
	signers []awsSigner
}

func newAWSFakeSecrets(t *testing.T) *awsFakeSecrets {
	f := &awsFakeSecrets{t: t, secrets: map[string]string{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *awsFakeSecrets) serve(w http.ResponseWriter, r *http.Request) {
	var in struct{ SecretId string }
	if r.Header.Get("X-Amz-Target") != "secretsmanager.GetSecretValue" || json.NewDecoder(r.Body).Decode(&in) != nil {
		f.t.Errorf("fake Secrets Manager: unexpected request %s %s", r.Header.Get("X-Amz-Target"), r.URL)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	f.signers = append(f.signers, awsSignerOf(r))
	value, ok := f.secrets[in.SecretId]
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	if !ok {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"__type":"ResourceNotFoundException","message":"Secrets Manager can't find the specified secret."}`)
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{
		"ARN": in.SecretId, "Name": "slack", "SecretString": value, "VersionId": "v1",
		"VersionStages": []string{"AWSCURRENT"}, "CreatedDate": 1.7e9,
	})
}

// Set stores a secret under its ARN.
func (f *awsFakeSecrets) Set(arn, value string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.secrets[arn] = value
}

func (f *awsFakeSecrets) Signers() []awsSigner {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]awsSigner(nil), f.signers...)
}

// awsECSCall is one UpdateService request.
type awsECSCall struct {
	Cluster            string    `json:"cluster"`
	Service            string    `json:"service"`
	ForceNewDeployment bool      `json:"forceNewDeployment"`
	Signer             awsSigner `json:"-"`
}

// awsFakeECS speaks ECS's JSON 1.1 protocol (UpdateService only).
type awsFakeECS struct {
	t   *testing.T
	srv *httptest.Server

	mu    sync.Mutex
	calls []awsECSCall
}

func newAWSFakeECS(t *testing.T) *awsFakeECS {
	f := &awsFakeECS{t: t}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *awsFakeECS) serve(w http.ResponseWriter, r *http.Request) {
	var call awsECSCall
	if r.Header.Get("X-Amz-Target") != "AmazonEC2ContainerServiceV20141113.UpdateService" || json.NewDecoder(r.Body).Decode(&call) != nil {
		f.t.Errorf("fake ECS: unexpected request %s %s", r.Header.Get("X-Amz-Target"), r.URL)
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	call.Signer = awsSignerOf(r)
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/x-amz-json-1.1")
	_ = json.NewEncoder(w).Encode(map[string]any{"service": map[string]any{
		"serviceName": call.Service, "clusterArn": "arn:aws:ecs:eu-west-1:123456789012:cluster/" + call.Cluster,
		"status": "ACTIVE", "desiredCount": 2,
	}})
}

func (f *awsFakeECS) Calls() []awsECSCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]awsECSCall(nil), f.calls...)
}

// awsSlackInbox is a Slack incoming webhook that records the text of each post and answers "ok".
type awsSlackInbox struct {
	srv   *httptest.Server
	mu    sync.Mutex
	texts []string
}

func newAWSSlackInbox(t *testing.T) *awsSlackInbox {
	s := &awsSlackInbox{}
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m struct {
			Text string `json:"text"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&m) != nil || m.Text == "" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		s.mu.Lock()
		s.texts = append(s.texts, m.Text)
		s.mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// URL is the webhook URL, which is the secret Secrets Manager holds.
func (s *awsSlackInbox) URL() string { return s.srv.URL + "/services/T000/B000/awstest" }

func (s *awsSlackInbox) Texts() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.texts...)
}

// awsStack is a stack whose apply writes its run's AWS_ACCESS_KEY_ID, AWS_SESSION_TOKEN and AWS_REGION to
// <outDir>/<name>.env with a local-exec provisioner (a plan runs no provisioner), so the test
// sees the environment Terraform's apply got. version changes force a new apply.
func awsStack(outDir, name, version string) string {
	cmd := fmt.Sprintf(`printf '%%s %%s %%s' "$AWS_ACCESS_KEY_ID" "$AWS_SESSION_TOKEN" "$AWS_REGION" > %s`, filepath.Join(outDir, name+".env"))
	return fmt.Sprintf("resource \"terraform_data\" \"deploy\" {\n  input = %q\n\n  provisioner \"local-exec\" {\n    command = %q\n  }\n}\n", version, cmd)
}

// awsStackStatus reads GET /api/v1/stacks/{stack} from the daemon's API.
func awsStackStatus(t *testing.T, d *daemon, stack string) map[string]any {
	t.Helper()
	started := d.logs.entries("trueup started")
	require.NotEmpty(t, started, "the daemon logged its start")
	addr, _ := started[0]["listen"].(string)
	resp, err := http.Get("http://" + addr + "/api/v1/stacks/" + stack)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(body))
	var st map[string]any
	require.NoError(t, json.Unmarshal(body, &st), string(body))
	return st
}
