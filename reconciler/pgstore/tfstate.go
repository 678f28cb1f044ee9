package pgstore

import (
	"context"
	"errors"
	"fmt"
	"regexp"

	"github.com/jackc/pgx/v5"
)

// Terraform's pg backend keeps each workspace's state as a row (name, data) of the table "states" in
// the schema the backend is configured with, its ids from the sequence public.global_states_id_seq.
// trueup reads that table to give branch plans a copy of the state, and `trueup store copy` writes it
// when it moves a local state in. The statements below make the schema, sequence and table exactly as
// the backend (Terraform 1.5) would on its first init, so the backend finds them as its own.

// stateSchema is what a state schema may be named: trueup's StateSchema names, which need no quoting.
var stateSchema = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// TerraformState returns the state Terraform's pg backend keeps for workspace in schema, or nil when
// there is none yet (no schema, no table or no row).
func (s *Store) TerraformState(ctx context.Context, schema, workspace string) ([]byte, error) {
	if !stateSchema.MatchString(schema) {
		return nil, fmt.Errorf("read terraform state: %q is not a state schema", schema)
	}
	var data []byte
	err := s.call(ctx, func(ctx context.Context) error {
		var table *string
		if err := s.pool.QueryRow(ctx, `SELECT to_regclass($1)::text`, schema+".states").Scan(&table); err != nil {
			return err
		}
		if table == nil {
			return nil
		}
		err := s.pool.QueryRow(ctx, `SELECT data FROM `+schema+`.states WHERE name = $1`, workspace).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read terraform state of %s/%s: %w", schema, workspace, err)
	}
	return data, nil
}

// PutTerraformState writes data as the state of workspace in schema, creating the schema, sequence
// and table as Terraform's pg backend does, and replacing a state already there.
func (s *Store) PutTerraformState(ctx context.Context, schema, workspace string, data []byte) error {
	if !stateSchema.MatchString(schema) {
		return fmt.Errorf("write terraform state: %q is not a state schema", schema)
	}
	err := s.write(ctx, func(tx pgx.Tx) error {
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
				return err
			}
		}
		_, err := tx.Exec(ctx, `INSERT INTO `+schema+`.states (name, data) VALUES ($1, $2)
			ON CONFLICT (name) DO UPDATE SET data = excluded.data`, workspace, string(data))
		return err
	})
	if err != nil {
		return fmt.Errorf("write terraform state of %s/%s: %w", schema, workspace, err)
	}
	return nil
}
