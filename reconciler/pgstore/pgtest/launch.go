package pgtest

import (
	"fmt"
	"os"

	"github.com/jackc/pgx/v5"
)

// Launch starts a server outside a test, for the benchmarks: the caller stops it and removes its
// files with Shutdown. Like Start, it runs from the machine's PostgreSQL as an unprivileged user.
func Launch() (*Server, error) { return start() }

// Shutdown stops a server from Launch and removes its files (and the process's template cluster).
func (s *Server) Shutdown() error {
	err := s.close()
	if base != "" {
		if rmErr := os.RemoveAll(base); rmErr != nil && err == nil {
			err = rmErr
		}
	}
	return err
}

// CreateDatabase makes database name on a server from Launch and returns its DSN.
func (s *Server) CreateDatabase(name string) (string, error) {
	if err := s.exec("postgres", "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return s.DSN(name), nil
}
