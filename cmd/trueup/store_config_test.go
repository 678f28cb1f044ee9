package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStorePostgresConfigIsDecodedStrictlyAndValidated(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trueup.yaml")
	require.NoError(t, os.WriteFile(path, []byte("repo: {url: /srv/git/infra.git}\nstore:\n  postgres:\n    dsn_env: TRUEUP_DATABASE_URL\n    lease_ttl: 20s\n"), 0o600))
	cfg, err := LoadConfig(path)
	require.NoError(t, err)
	require.NotNil(t, cfg.Store.Postgres)
	assert.Equal(t, "TRUEUP_DATABASE_URL", cfg.Store.Postgres.DSNEnv)
	assert.Equal(t, 20*time.Second, cfg.Store.Postgres.leaseTTL())
	assert.Equal(t, "trueup", cfg.Store.Postgres.schema())
	require.NoError(t, cfg.Validate())

	require.NoError(t, os.WriteFile(path, []byte("store:\n  postgres:\n    dsn: postgres://u:p@db/trueup\n"), 0o600))
	_, err = LoadConfig(path)
	require.Error(t, err, "a DSN written in the file is refused: only the variable's name belongs there")
	assert.Contains(t, err.Error(), `unknown key "dsn"`)
	assert.NotContains(t, err.Error(), "u:p@db", "the refused value is not echoed")
}

func TestValidateStore(t *testing.T) {
	valid := func() Config {
		c := DefaultConfig()
		c.Repo.URL = "/srv/git/infra.git"
		c.Store.Postgres = &PostgresConfig{DSNEnv: "TRUEUP_DATABASE_URL"}
		return c
	}
	tests := []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no dsn", func(c *Config) { c.Store.Postgres.DSNEnv = "" }, "store.postgres: set dsn_env or dsn_secret_arn"},
		{"both dsns", func(c *Config) { c.Store.Postgres.DSNSecretARN = "arn:aws:secretsmanager:eu-west-1:1:secret:db" }, "exactly one"},
		{"schema injection", func(c *Config) { c.Store.Postgres.Schema = `trueup"; drop table x; --` }, "store.postgres.schema"},
		{"upper-case schema", func(c *Config) { c.Store.Postgres.Schema = "Trueup" }, "lower-case identifier"},
		{"ttl too short", func(c *Config) { c.Store.Postgres.LeaseTTL = time.Second }, "lease_ttl must be between 3s and 10m"},
		{"ttl too long", func(c *Config) { c.Store.Postgres.LeaseTTL = time.Hour }, "lease_ttl must be between 3s and 10m"},
		{"both state dsns", func(c *Config) { c.Store.Postgres.StateDSNEnv, c.Store.Postgres.StateDSNSecretARN = "S", "arn:x" }, "state_dsn_env or state_dsn_secret_arn, not both"},
		{"state dsn is the store's", func(c *Config) { c.Store.Postgres.StateDSNEnv = "TRUEUP_DATABASE_URL" }, "give Terraform a role of its own"},
		{"state dsn passed to plans", func(c *Config) {
			c.Store.Postgres.StateDSNEnv = "TF_STATE_DSN"
			c.Terraform.PassEnv.Plans = []string{"TF_STATE_DSN"}
		}, "which holds trueup's own secret (store.postgres.state_dsn_env)"},
		{"dsn passed to Terraform", func(c *Config) { c.Terraform.PassEnv.Main = []string{"TRUEUP_DATABASE_URL"} },
			"terraform.pass_env.main names TRUEUP_DATABASE_URL, which holds trueup's own secret (store.postgres.dsn_env)"},
	}
	require.NoError(t, valid().Validate())
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := valid()
			tt.change(&c)
			err := c.Validate()
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}
