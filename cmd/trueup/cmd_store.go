package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/trueup/trueup/reconciler/boltstore"
	"github.com/trueup/trueup/reconciler/redact"
)

const storeExamples = `  TRUEUP_DATABASE_URL=postgres://... trueup store copy --from /var/lib/trueup --to postgres --config /etc/trueup/trueup.yaml
  TRUEUP_DATABASE_URL=postgres://... trueup store copy --from ./data --to postgres
`

// cmdStore runs "trueup store SUBCOMMAND".
func cmdStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "copy" {
		fmt.Fprintf(stderr, "trueup store: want a subcommand: copy\n\nusage: trueup store copy --from DATA_DIR --to postgres [--config FILE]\n\nexamples:\n%s", storeExamples)
		return errUsage
	}
	var from, to, config, dsnEnv string
	fs := newFlagSet("store copy", "trueup store copy --from DATA_DIR --to postgres [--config FILE]", storeExamples, stderr)
	fs.StringVar(&from, "from", "", "the data dir of a stopped trueup (its bbolt store and local Terraform state)")
	fs.StringVar(&to, "to", "", "postgres: the store.postgres of --config, or the database named by --dsn-env")
	fs.StringVar(&config, "config", "", "trueup.yaml whose store.postgres names the database")
	fs.StringVar(&dsnEnv, "dsn-env", "TRUEUP_DATABASE_URL", "environment variable holding the connection string when --config has no store.postgres")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	if from == "" || to != "postgres" {
		fmt.Fprintf(stderr, "trueup store copy: --from DATA_DIR and --to postgres are required\n\n")
		fs.Usage()
		return errUsage
	}
	cfg, err := LoadConfig(config)
	if err != nil {
		return err
	}
	pg := cfg.Store.Postgres
	if pg == nil {
		pg = &PostgresConfig{DSNEnv: dsnEnv}
	}
	return copyDataDir(ctx, from, pg, stdout)
}

// copyDataDir copies the data dir at from into the PostgreSQL store pg names, refusing while a
// trueup holds the data dir.
func copyDataDir(ctx context.Context, from string, pg *PostgresConfig, stdout io.Writer) error {
	dataDir, err := filepath.Abs(from)
	if err != nil {
		return err
	}
	dbPath := filepath.Join(dataDir, "trueup.db")
	if _, err := os.Stat(dbPath); err != nil {
		return fmt.Errorf("store copy: %s holds no trueup store: %w", dataDir, err)
	}
	unlock, err := lockDataDir(dataDir)
	if err != nil {
		return fmt.Errorf("store copy: stop trueup first: %w", err)
	}
	defer unlock()
	src, err := boltstore.Open(dbPath, boltstore.Options{})
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	defer src.Close()

	known := redact.New()
	sec := &secrets{known: known}
	if pg.DSNSecretARN != "" {
		cfg := DefaultConfig()
		cfg.Store.Postgres = pg
		if sec, err = newSecrets(ctx, cfg, known, slog.New(slog.DiscardHandler)); err != nil {
			return err
		}
	}
	dsn, err := sec.optional(ctx, "store.postgres.dsn", pg.DSNEnv, pg.DSNSecretARN)
	if err != nil {
		return fmt.Errorf("store copy: %w", err)
	}
	quiet := slog.New(slog.DiscardHandler)
	dst, err := openShared(ctx, dsn, pg.schema(), sec, quiet)
	if err != nil {
		return fmt.Errorf("store copy: %s", known.Redact(err.Error()))
	}
	defer dst.Close()
	states, err := openStates(ctx, dst, pg, sec, quiet)
	if err != nil {
		return fmt.Errorf("store copy: %s", known.Redact(err.Error()))
	}
	defer states.close()
	rep, err := copyStore(ctx, src, copyTarget{store: dst, putState: states.put}, dataDir)
	if err != nil {
		return fmt.Errorf("store copy: %s (copied so far: %s)", known.Redact(err.Error()), rep)
	}
	_, err = fmt.Fprintf(stdout, "copied %s from %s into PostgreSQL (schema %s)\nthe data dir is unchanged: keep it as a backup, and start the replicas with store.postgres\n", rep, dataDir, pg.schema())
	return err
}
