package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGitLabConfig(t *testing.T) {
	cfg, err := LoadConfig(writeConfig(t, `
repo:
  url: https://gitlab.example.com/group/infra.git
gitlab:
  project: group/infra
  api_url: https://gitlab.example.com
  token_env: GITLAB_TOKEN
  webhook_secret_env: GITLAB_WEBHOOK_SECRET
  allow_forks: true
  allow_self_approve: true
`))
	require.NoError(t, err)
	require.NoError(t, cfg.Validate())
	assert.Equal(t, GitLabConfig{Project: "group/infra", APIURL: "https://gitlab.example.com", TokenEnv: "GITLAB_TOKEN",
		WebhookSecretEnv: "GITLAB_WEBHOOK_SECRET", AllowForks: true, AllowSelfApprove: true}, cfg.GitLab)

	_, err = LoadConfig(writeConfig(t, "repo:\n  url: /x\ngitlab:\n  project: group/infra\n  token: glpat-in-the-file\n"))
	require.Error(t, err, "decoded strictly: a token is never written in the file")
	assert.Contains(t, err.Error(), `unknown key "token"`)
	assert.Contains(t, err.Error(), "line 5")
}

func TestGitLabConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		body string
		want string
	}{
		{"with github", "github:\n  owner: acme\n  repo: infra\n  token_env: T\ngitlab:\n  project: group/infra\n  token_env: T\n",
			"github and gitlab are exclusive"},
		{"no namespace", "gitlab:\n  project: infra\n  token_env: T\n", "gitlab.project must be the project's full path"},
		{"no token", "gitlab:\n  project: group/infra\n", "gitlab: set token_env"},
		{"bad url", "gitlab:\n  project: group/infra\n  token_env: T\n  api_url: gitlab.example.com\n", "gitlab.api_url must be an http(s) URL"},
		{"token passed to terraform", "gitlab:\n  project: group/infra\n  token_env: GL\nterraform:\n  pass_env:\n    plans: [GL]\n",
			"holds trueup's own secret (gitlab.token_env)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := LoadConfig(writeConfig(t, "repo:\n  url: /x\n"+tt.body))
			require.NoError(t, err)
			err = cfg.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
