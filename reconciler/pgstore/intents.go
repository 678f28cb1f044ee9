package pgstore

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// Intent is a mutation a standby recorded for the leader to apply (a person's sync or approve
// that reached the replica that does not lead).
type Intent struct {
	// ID is set by AddIntent; intents are applied in ID order.
	ID int64 `json:"id"`
	// Kind says what to do ("sync", "approve", ...): the caller's vocabulary.
	Kind     string `json:"kind"`
	Stack    string `json:"stack"`
	Revision string `json:"revision,omitempty"`
	// PullRequest and Comment name a comment on a pull request (a comment command), 0 for none.
	PullRequest int   `json:"pull_request,omitempty"`
	Comment     int64 `json:"comment,omitempty"`
	// Created is when the intent was recorded: the database's now when zero.
	Created time.Time `json:"created"`
}

// AddIntent records i and returns its ID. On a fenced view it is fenced like every write.
func (s *Store) AddIntent(ctx context.Context, i Intent) (int64, error) {
	if i.Kind == "" || !storable(i.Kind, i.Stack, i.Revision) {
		return 0, fmt.Errorf("add %q intent for %q: empty kind, or not text", i.Kind, i.Stack)
	}
	var created *time.Time
	if !i.Created.IsZero() {
		created = &i.Created
	}
	var id int64
	err := s.write(ctx, func(tx pgx.Tx) error {
		return tx.QueryRow(ctx, s.q(`INSERT INTO {s}intents (kind, stack, revision, pull_request, comment, created)
			VALUES ($1, $2, $3, $4, $5, coalesce($6, clock_timestamp())) RETURNING id`),
			i.Kind, i.Stack, i.Revision, i.PullRequest, i.Comment, created).Scan(&id)
	})
	if err != nil {
		return 0, fmt.Errorf("add %s intent for %s: %w", i.Kind, i.Stack, err)
	}
	return id, nil
}

// Intents returns every recorded intent, oldest (lowest ID) first.
func (s *Store) Intents(ctx context.Context) ([]Intent, error) {
	var out []Intent
	err := s.call(ctx, func(ctx context.Context) error {
		rows, err := s.pool.Query(ctx, s.q(`SELECT id, kind, stack, revision, pull_request, comment, created FROM {s}intents ORDER BY id`))
		if err != nil {
			return err
		}
		out, err = pgx.CollectRows(rows, func(row pgx.CollectableRow) (Intent, error) {
			var i Intent
			err := row.Scan(&i.ID, &i.Kind, &i.Stack, &i.Revision, &i.PullRequest, &i.Comment, &i.Created)
			i.Created = i.Created.UTC()
			return i, err
		})
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("list intents: %w", err)
	}
	return out, nil
}

// DeleteIntent removes an applied intent; a missing one is not an error. On a fenced view it is
// fenced like every write, so only the leader consumes intents.
func (s *Store) DeleteIntent(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, s.q(`DELETE FROM {s}intents WHERE id = $1`), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete intent %d: %w", id, err)
	}
	return nil
}
