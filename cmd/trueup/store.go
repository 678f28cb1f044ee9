package main

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
	"github.com/trueup/trueup/reconciler/terraform"
)

// stores is trueup's own store as configured: bbolt in the data dir for one replica, or PostgreSQL
// shared by replicas that elect a leader.
type stores struct {
	kind string
	// local is the bbolt store; nil when shared is set.
	local reconciler.Store
	// shared is the PostgreSQL store, with the lease; nil for one replica.
	shared   *pgShared
	leaseTTL time.Duration
	// state keeps the Terraform state of stacks without a backend in the same database; nil with bbolt.
	state *terraform.SharedState
	close func()
}

func openStore(ctx context.Context, cfg Config, sec *secrets, dataDir string, log *slog.Logger) (stores, error) {
	if pg := cfg.Store.Postgres; pg != nil {
		dsn, err := sec.optional(ctx, "store.postgres.dsn", pg.DSNEnv, pg.DSNSecretARN)
		if err != nil {
			return stores{}, err
		}
		db, err := openShared(ctx, dsn, pg.schema(), sec, log)
		if err != nil {
			return stores{}, fmt.Errorf("open store: %w", err)
		}
		state := &terraform.SharedState{ConnString: dsn, Read: db.TerraformState}
		return stores{kind: "postgres", shared: db, leaseTTL: pg.leaseTTL(), state: state, close: func() { _ = db.Close() }}, nil
	}
	db, err := boltstore.Open(filepath.Join(dataDir, "trueup.db"), boltstore.Options{Logger: log})
	if err != nil {
		return stores{}, fmt.Errorf("open store: %w", err)
	}
	return stores{kind: "bolt", local: db, close: func() { _ = db.Close() }}, nil
}
