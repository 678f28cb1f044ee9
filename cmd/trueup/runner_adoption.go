package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/trueup/trueup/reconciler/remote"
)

// adoptionKeyFile is the data dir's file of the key that seals what trueup tells the platform
// about its runners (remote.Options.AdoptKey): a restarted trueup adopts only runners it sealed.
const adoptionKeyFile = "runner-adoption.key"

// runnerAdoptionKey is the shared store's adoption key with two replicas, else the data dir's.
func runnerAdoptionKey(ctx context.Context, dataDir string, peers runnerPeers) ([]byte, error) {
	if peers == nil {
		return adoptionKey(dataDir)
	}
	keyCtx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	return peers.RunnerKey(keyCtx, "runner-adoption")
}

// adoptionKey reads the data dir's adoption key, making one the first time.
func adoptionKey(dataDir string) ([]byte, error) {
	path := filepath.Join(dataDir, adoptionKeyFile)
	key, err := os.ReadFile(path)
	switch {
	case err == nil && len(key) == 32:
		return key, nil
	case err == nil:
		return nil, fmt.Errorf("runner adoption key %s: %d bytes, not 32 (remove it: runners in flight then are not adopted once)", path, len(key))
	case !errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("runner adoption key: %w", err)
	}
	key = make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("runner adoption key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, dataSecretMode)
	if err != nil {
		return nil, fmt.Errorf("runner adoption key: %w", err)
	}
	if _, err := f.Write(key); err != nil {
		f.Close()
		return nil, fmt.Errorf("runner adoption key: %w", err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("runner adoption key: %w", err)
	}
	return key, nil
}

// adoptInFlight adopts the runners a previous trueup left running. A platform that cannot be
// listed is logged, not fatal: its runners then find their tokens dead and exit, and their runs
// are done again.
func adoptInFlight(ctx context.Context, r *remote.Runner, log *slog.Logger) {
	listCtx, cancel := context.WithTimeout(ctx, adoptListTimeout)
	defer cancel()
	n, err := r.Adopt(listCtx)
	if err != nil {
		log.Warn("runners in flight were not adopted", "err", err)
		return
	}
	if n > 0 {
		log.Info("adopted the runners in flight from before the restart", "runners", n)
	}
}
