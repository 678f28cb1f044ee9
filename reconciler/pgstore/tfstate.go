package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Terraform's pg backend keeps each workspace's state as a row (name, data) of the table "states" in
// the schema the backend is configured with, its ids from the sequence public.global_states_id_seq.
// trueup reads that table to give branch plans a copy of the state, and `trueup store copy` writes it
// when it moves a local state in. The statements below make the schema, sequence and table exactly as
// the backend (Terraform 1.5) would on its first init, so the backend finds them as its own.

// stateSchema is what a state schema may be named: trueup's StateSchema names, which need no quoting.
var stateSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// TFStates reads and writes Terraform's pg backend states with a connection of their own: the role
// Terraform logs in with (store.postgres.state_dsn_env), which may use only the tfstate_* schemas,
// so the states it makes are its own and trueup reads them with the same rights.
type TFStates struct {
	pool   *pgxpool.Pool
	secret string // the DSN's password, kept out of errors
}

// OpenTFStates connects to the database at dsn for Terraform's states.
func OpenTFStates(ctx context.Context, dsn string) (*TFStates, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("open terraform states: the database URL does not parse (not shown: it may hold a password)")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, scrubSecret(fmt.Errorf("open terraform states: %w", err), cfg.ConnConfig.Password)
	}
	return &TFStates{pool: pool, secret: cfg.ConnConfig.Password}, nil
}

// Close closes the connections.
func (t *TFStates) Close() { t.pool.Close() }

// Read returns the state Terraform's pg backend keeps for workspace in schema, or nil when there is
// none yet (no schema, no table or no row).
func (t *TFStates) Read(ctx context.Context, schema, workspace string) ([]byte, error) {
	data, err := readState(ctx, t.pool, schema, workspace)
	return data, scrubSecret(err, t.secret)
}

// Put writes data as the state of workspace in schema, creating the schema, sequence and table as
// Terraform's pg backend does, and replacing a state already there.
func (t *TFStates) Put(ctx context.Context, schema, workspace string, data []byte) error {
	err := pgx.BeginFunc(ctx, t.pool, func(tx pgx.Tx) error { return putState(ctx, tx, schema, workspace, data) })
	return scrubSecret(err, t.secret)
}

// TerraformState is Read over the store's own connection (its role owns the states when Terraform
// logs in with the store's DSN).
func (s *Store) TerraformState(ctx context.Context, schema, workspace string) ([]byte, error) {
	var data []byte
	err := s.call(ctx, func(ctx context.Context) error {
		var err error
		data, err = readState(ctx, s.pool, schema, workspace)
		return err
	})
	return data, err
}

// PutTerraformState is Put over the store's own connection; on a fenced view it is fenced.
func (s *Store) PutTerraformState(ctx context.Context, schema, workspace string, data []byte) error {
	return s.write(ctx, func(tx pgx.Tx) error { return putState(ctx, tx, schema, workspace, data) })
}

// querier is a pool or a transaction.
type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func readState(ctx context.Context, q querier, schema, workspace string) ([]byte, error) {
	if !stateSchema.MatchString(schema) {
		return nil, fmt.Errorf("read terraform state: %q is not a state schema", schema)
	}
	var table *string
	if err := q.QueryRow(ctx, `SELECT to_regclass($1)::text`, schema+".states").Scan(&table); err != nil {
		return nil, fmt.Errorf("read terraform state of %s/%s: %w", schema, workspace, err)
	}
	if table == nil {
		return nil, nil
	}
	var data []byte
	err := q.QueryRow(ctx, `SELECT data FROM `+schema+`.states WHERE name = $1`, workspace).Scan(&data)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read terraform state of %s/%s: %w", schema, workspace, err)
	}
	return data, nil
}

func putState(ctx context.Context, tx pgx.Tx, schema, workspace string, data []byte) error {
	if !stateSchema.MatchString(schema) {
		return fmt.Errorf("write terraform state: %q is not a state schema", schema)
	}
	for _, stmt := range []string{
		`CREATE SCHEMA IF NOT EXISTS ` + schema,
		`CREATE SEQUENCE IF NOT EXISTS public.global_states_id_seq AS bigint`,
		`CREATE TABLE IF NOT EXISTS ` + schema + `.states (
			id bigint NOT NULL DEFAULT nextval('public.global_states_id_seq') PRIMARY KEY,
			name text UNIQUE,
			data text
		)`,
		`CREATE UNIQUE INDEX IF NOT EXISTS states_by_name ON ` + schema + `.states (name)`,
	} {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("write terraform state of %s/%s: %w", schema, workspace, err)
		}
	}
	_, err := tx.Exec(ctx, `INSERT INTO `+schema+`.states (name, data) VALUES ($1, $2)
		ON CONFLICT (name) DO UPDATE SET data = excluded.data`, workspace, string(data))
	if err != nil {
		return fmt.Errorf("write terraform state of %s/%s: %w", schema, workspace, err)
	}
	return nil
}
