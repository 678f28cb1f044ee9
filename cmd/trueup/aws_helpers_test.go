package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler/aws/awstest"
)

// awsCloud is AWS as far as trueup sees it: STS, Secrets Manager and ECS stand-ins speaking the real
// wire formats, which the SDK reaches through the AWS_ENDPOINT_URL_<SERVICE> variables. trueup's own
// identity is awstest's base one, from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.
type awsCloud struct {
	sts     *awstest.STS
	secrets *awstest.SecretsManager
	ecs     *awstest.ECS
}

// newAWSCloud starts the stand-ins and points the daemon's AWS SDK at them (t.Setenv: no t.Parallel).
func newAWSCloud(t *testing.T) *awsCloud {
	c := &awsCloud{sts: awstest.NewSTS(t, nil), secrets: awstest.NewSecretsManager(t), ecs: awstest.NewECS(t)}
	none := filepath.Join(t.TempDir(), "none")
	for k, v := range map[string]string{
		"AWS_ENDPOINT_URL_STS":             c.sts.URL,
		"AWS_ENDPOINT_URL_SECRETS_MANAGER": c.secrets.URL,
		"AWS_ENDPOINT_URL_ECS":             c.ecs.URL,
		"AWS_ACCESS_KEY_ID":                awstest.BaseKeyID,
		"AWS_SECRET_ACCESS_KEY":            awstest.BaseSecretKey,
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
	for _, s := range append(issued, awstest.BaseSecretKey) {
		assert.NotContains(t, text, s, "a secret reached the log")
	}
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
