package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/boltstore"
	"github.com/trueup/trueup/reconciler/pgstore"
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
		db, err := openSharedRetrying(ctx, dsn, pg.schema(), sec, log)
		if err != nil {
			return stores{}, fmt.Errorf("open store: %w", err)
		}
		states, err := openStates(ctx, db, pg, sec, log)
		if err != nil {
			_ = db.Close()
			return stores{}, err
		}
		state := &terraform.SharedState{ConnString: states.dsn, Read: states.read}
		closeAll := func() {
			states.close()
			_ = db.Close()
		}
		return stores{kind: "postgres", shared: db, leaseTTL: pg.leaseTTL(), state: state, close: closeAll}, nil
	}
	db, err := boltstore.Open(filepath.Join(dataDir, "trueup.db"), boltstore.Options{Logger: log})
	if err != nil {
		return stores{}, fmt.Errorf("open store: %w", err)
	}
	return stores{kind: "bolt", local: db, close: func() { _ = db.Close() }}, nil
}

// openSharedRetrying opens the PostgreSQL store, waiting for a database that does not answer yet (a
// replica often starts with or before its database) with capped backoff until ctx ends. A database
// that answers and refuses (a wrong password, a missing database, a schema too new) is an error at
// once: waiting would not change it.
func openSharedRetrying(ctx context.Context, dsn, schema string, sec *secrets, log *slog.Logger) (*pgShared, error) {
	wait := time.Second
	var last string
	for {
		db, err := openShared(ctx, dsn, schema, sec, log)
		if err == nil {
			if last != "" {
				log.Info("database reachable: store opened")
			}
			return db, nil
		}
		if !unreachable(err) || ctx.Err() != nil {
			return nil, err
		}
		if msg := err.Error(); msg != last {
			log.Error("database unreachable; retrying", "err", err, "every", "1s..30s")
			last = msg
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(wait):
		}
		wait = min(2*wait, 30*time.Second)
	}
}

// unreachable reports whether err is a database that did not answer, rather than one that answered
// with a refusal: PostgreSQL's own errors carry an SQLSTATE.
func unreachable(err error) bool {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code == "57P03" // cannot_connect_now: starting up or shutting down
	}
	return !errors.Is(err, pgstore.ErrRefused)
}

// tfStates is where Terraform's pg backend keeps the states of stacks without a backend, and the
// login it uses: store.postgres.state_dsn_env's role when set (one that may use only the tfstate_*
// schemas), else the store's own.
type tfStates struct {
	dsn   string
	read  func(ctx context.Context, schema, workspace string) ([]byte, error)
	put   func(ctx context.Context, schema, workspace string, data []byte) error
	close func()
}

func openStates(ctx context.Context, db *pgShared, pg *PostgresConfig, sec *secrets, log *slog.Logger) (tfStates, error) {
	dsn, err := sec.optional(ctx, "store.postgres.state_dsn", pg.StateDSNEnv, pg.StateDSNSecretARN)
	if err != nil {
		return tfStates{}, err
	}
	if dsn == "" {
		log.Warn("store.postgres.state_dsn_env is not set: Terraform's pg backend logs in with trueup's own database role; give it a role of its own, limited to the tfstate_* schemas")
		return tfStates{dsn: db.dsn, read: db.TerraformState, put: db.PutTerraformState, close: func() {}}, nil
	}
	if cfg, err := pgx.ParseConfig(dsn); err == nil && cfg.Password != "" {
		sec.known.Add(cfg.Password)
	}
	ts, err := pgstore.OpenTFStates(ctx, dsn)
	if err != nil {
		return tfStates{}, err
	}
	return tfStates{dsn: dsn, read: ts.Read, put: ts.Put, close: ts.Close}, nil
}
