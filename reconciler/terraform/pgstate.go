package terraform

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/trueup/trueup/reconciler"
)

// SharedState keeps the state of stacks that declare no backend in PostgreSQL, with Terraform's own
// pg backend and one schema per stack (StateSchema), so that every replica sharing the database sees
// it and Terraform's own lock (an advisory lock of the pg backend) guards it.
type SharedState struct {
	// ConnString reaches Terraform as PG_CONN_STR, in trusted runs of stacks that use the pg
	// backend only: it is trueup's own secret, never given to branch or pull request code.
	ConnString string
	// Read returns the state Terraform's pg backend keeps for workspace in schema, nil when there is
	// none. Untrusted runs plan against a copy of it that trueup writes for each run.
	Read func(ctx context.Context, schema, workspace string) ([]byte, error)
}

// pgOverrideContent is OverrideFile for a stack whose state lives in PostgreSQL: the schema comes
// with -backend-config and the connection string from the environment, so neither is written in
// the checkout, and the file is the same for every stack.
const pgOverrideContent = `# Written by trueup because this stack declares no backend: its state is kept in trueup's
# PostgreSQL database (Terraform's pg backend; the schema is passed to terraform init as
# -backend-config). Declare a backend of your own to keep it elsewhere.
terraform {
  backend "pg" {}
}
`

// maxSchemaText bounds the readable part of a state schema: PostgreSQL identifiers have 63 bytes.
const maxSchemaText = 24

// StateSchema is the PostgreSQL schema that keeps stack's state: "tfstate_", a readable part and
// 128 bits of a hash of the exact name, so no two stacks share one (as with reconciler.Slug), in
// lower case letters, digits and underscores only, so it needs no quoting.
func StateSchema(stack string) string {
	var b strings.Builder
	for _, c := range []byte(strings.ToLower(stack)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			b.WriteByte(c)
		} else {
			b.WriteByte('_')
		}
	}
	text := b.String()
	if len(text) > maxSchemaText {
		text = text[:maxSchemaText]
	}
	sum := sha256.Sum256([]byte(stack))
	return "tfstate_" + text + "_" + hex.EncodeToString(sum[:16])
}

// preparePGBackend points a trusted run of a stack without a backend at its schema.
func (j *job) preparePGBackend(overridePath string) ([]string, error) {
	if err := writeIfChanged(overridePath, []byte(pgOverrideContent)); err != nil {
		return nil, err
	}
	j.env["PG_CONN_STR"] = j.r.opts.SharedState.ConnString
	if err := j.tf.SetEnv(j.env); err != nil {
		return nil, err
	}
	return []string{"schema_name=" + StateSchema(j.spec.Stack.Name)}, nil
}

// copySharedState writes the stack's state, read from the database, where an untrusted run's local
// backend reads its copy (the same place a local state's copy goes).
func (j *job) copySharedState(ctx context.Context, statePath string) error {
	workspace := j.spec.Stack.Workspace
	if workspace == "" {
		workspace = "default"
	}
	data, err := j.r.opts.SharedState.Read(ctx, StateSchema(j.spec.Stack.Name), workspace)
	if err != nil {
		return reconciler.Errorf(reconciler.KindTransient, "read state", err)
	}
	dir := filepath.Join(j.spec.DataDir, "state")
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if data == nil {
		return nil
	}
	path := filepath.Join(dir, filepath.Base(statePath))
	if workspace != "default" {
		path = filepath.Join(dir, "workspaces", workspace, filepath.Base(statePath))
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("copy state: %w", err)
	}
	return nil
}
