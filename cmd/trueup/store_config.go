package main

import (
	"fmt"
	"regexp"
	"time"

	"github.com/trueup/trueup/reconciler/lease"
)

// StoreConfig selects trueup's own store: bbolt in the data dir when Postgres is nil (one replica),
// PostgreSQL shared by two replicas, which elect a leader, otherwise.
type StoreConfig struct {
	Postgres *PostgresConfig `yaml:"postgres"`
}

// PostgresConfig is the store.postgres section. The DSN is a secret: only the name of the variable
// (or the ARN of the Secrets Manager secret) that holds it is written here.
type PostgresConfig struct {
	DSNEnv       string `yaml:"dsn_env"`
	DSNSecretARN string `yaml:"dsn_secret_arn"`
	// StateDSNEnv (or StateDSNSecretARN) names a connection string for Terraform's pg backend alone,
	// which trusted runs of stacks without a backend get as PG_CONN_STR: a role that may use only the
	// tfstate_* schemas, so that Terraform never holds trueup's own login. Unset, they get the store's.
	StateDSNEnv       string `yaml:"state_dsn_env"`
	StateDSNSecretARN string `yaml:"state_dsn_secret_arn"`
	// Schema holds trueup's tables (default "trueup"); each stack without a backend of its own keeps
	// its Terraform state in a schema of its own beside it.
	Schema string `yaml:"schema"`
	// LeaseTTL is how long the leader's lease lasts unrenewed: the longest a dead leader's work waits
	// for the standby (default 15s).
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// defaultSchema is where trueup's tables live when store.postgres.schema is not set.
const defaultSchema = "trueup"

// schemaName is what store.postgres.schema may be: a plain lower-case SQL identifier, so it needs no
// quoting and names one schema whatever the database's settings.
var schemaName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,39}$`)

// postgres is the store.postgres section, or its zero value when there is none (so its secrets' names
// read as unset).
func (s StoreConfig) postgres() PostgresConfig {
	if s.Postgres == nil {
		return PostgresConfig{}
	}
	return *s.Postgres
}

// schema is the configured schema, or the default.
func (p PostgresConfig) schema() string {
	if p.Schema == "" {
		return defaultSchema
	}
	return p.Schema
}

// leaseTTL is the configured TTL, or the default.
func (p PostgresConfig) leaseTTL() time.Duration {
	if p.LeaseTTL == 0 {
		return lease.DefaultTTL
	}
	return p.LeaseTTL
}

func (s StoreConfig) validate() []error {
	p := s.Postgres
	if p == nil {
		return nil
	}
	var errs []error
	if p.StateDSNEnv != "" && p.StateDSNSecretARN != "" {
		errs = append(errs, fmt.Errorf("store.postgres: set state_dsn_env or state_dsn_secret_arn, not both"))
	}
	if p.StateDSNEnv != "" && p.StateDSNEnv == p.DSNEnv {
		errs = append(errs, fmt.Errorf("store.postgres.state_dsn_env names the store's own dsn_env: give Terraform a role of its own, or leave it unset"))
	}
	if (p.DSNEnv == "") == (p.DSNSecretARN == "") {
		errs = append(errs, fmt.Errorf("store.postgres: set dsn_env or dsn_secret_arn (exactly one): the connection string is a secret"))
	}
	if p.Schema != "" && !schemaName.MatchString(p.Schema) {
		errs = append(errs, fmt.Errorf("store.postgres.schema: %q must be a lower-case identifier (a-z, 0-9, _; at most 40)", p.Schema))
	}
	if ttl := p.leaseTTL(); ttl < 3*time.Second || ttl > 10*time.Minute {
		errs = append(errs, fmt.Errorf("store.postgres.lease_ttl must be between 3s and 10m, got %s", p.LeaseTTL))
	}
	return errs
}
