package terraform

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
	"github.com/trueup/trueup/reconciler/pgstore"
	"github.com/trueup/trueup/reconciler/pgstore/pgtest"
	"github.com/trueup/trueup/reconciler/terraform/tftest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const pgPassword = "pg-S3cret-pass0rd"

// sharedStateRunner is a sandboxed Runner keeping stacks without a backend in a fresh database,
// reached as a role with a password, and the store over the same database.
func sharedStateRunner(t *testing.T) (*Runner, *pgstore.Store, string) {
	t.Helper()
	srv := pgtest.Start(t)
	admin := srv.NewDatabase(t)
	u, err := url.Parse(admin)
	require.NoError(t, err)
	db := strings.TrimPrefix(u.Path, "/")
	role := "tf_" + db // a role per test: roles are the server's, not the database's
	srv.NewRole(t, role, pgPassword)
	srv.Exec(t, "postgres", fmt.Sprintf(`ALTER DATABASE %q OWNER TO %q`, db, role))
	u.User = url.UserPassword(role, pgPassword)
	dsn := u.String()
	store, err := pgstore.Open(t.Context(), dsn, pgstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = store.Close() })

	bin, rc := tftest.Tools(t)
	r, err := New(Options{
		Binary: bin, CLIConfigFile: rc, PluginCacheDir: filepath.Join(t.TempDir(), "plugin-cache"),
		Sandbox: requireSandbox(t), SharedState: &SharedState{ConnString: dsn, Read: store.TerraformState},
	})
	require.NoError(t, err)
	return r, store, dsn
}

// With a shared store, a stack that declares no backend keeps its state in PostgreSQL (Terraform's
// pg backend, its own schema), and a pull request's plan reads a copy of it without ever getting
// the connection string.
func TestSharedStateLivesInPostgresAndBranchPlansGetACopy(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform against PostgreSQL under bubblewrap")
	}
	r, store, dsn := sharedStateRunner(t)
	ctx := t.Context()
	base := t.TempDir()
	mainSpec := reconciler.RunSpec{
		Stack:   reconciler.Stack{Name: "stacks/s", Dir: "s", Workspace: "default"},
		Workdir: filepath.Join(base, "data", "work", "main"), DataDir: filepath.Join(base, "data", "tfdata", "main"),
		StatePath: filepath.Join(base, "data", "state", "s", "terraform.tfstate"),
	}
	writeFiles(t, filepath.Join(mainSpec.Workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "base" { input = "v1" }`})
	plan, err := r.Plan(ctx, mainSpec)
	require.NoError(t, err)
	_, err = r.Apply(ctx, mainSpec, plan)
	require.NoError(t, err)

	state, err := store.TerraformState(ctx, StateSchema("stacks/s"), "default")
	require.NoError(t, err)
	assert.Contains(t, string(state), `"terraform_data"`, "the applied state is in the stack's schema")
	assert.NoFileExists(t, mainSpec.StatePath, "nothing is kept in the data dir")
	override, err := os.ReadFile(filepath.Join(mainSpec.Workdir, "s", OverrideFile))
	require.NoError(t, err)
	assert.Contains(t, string(override), `backend "pg"`)
	assert.NotContains(t, string(override), pgPassword, "the connection string is never written in the checkout")
	again, err := r.Plan(ctx, mainSpec)
	require.NoError(t, err)
	assert.False(t, again.HasChanges(), "the next trusted plan reads the state back from PostgreSQL")

	// The pull request's code reads its environment and tries the database.
	branch := mainSpec
	branch.Untrusted, branch.Render = true, true
	branch.Workdir, branch.DataDir = filepath.Join(base, "data", "work", "pr"), filepath.Join(base, "data", "tfdata", "pr")
	writeFiles(t, filepath.Join(branch.Workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "base" { input = "v1" }
resource "terraform_data" "probe" {
  input = replace(file("/proc/self/environ"), "\u0000", "\n")
}
`})
	plan, err = r.Plan(ctx, branch)
	require.NoError(t, err)
	assert.Equal(t, []reconciler.ResourceChange{{Address: "terraform_data.probe", Action: reconciler.ActionCreate}}, plan.Changes,
		"the branch plan read a copy of main's state (base is unchanged)")
	require.Contains(t, plan.Rendered, "TF_DATA_DIR=", "the plan read its environment")
	assert.NotContains(t, plan.Rendered, "PG_CONN_STR")
	assert.NotContains(t, plan.Rendered, pgPassword)
	assert.NotContains(t, plan.Rendered, dsn)
	after, err := store.TerraformState(ctx, StateSchema("stacks/s"), "default")
	require.NoError(t, err)
	assert.Equal(t, string(state), string(after), "the branch plan wrote nothing to the real state")
	_, err = r.Apply(ctx, branch, plan)
	require.Error(t, err, "untrusted code is never applied")
}

// The database going away is a transient failure of a branch plan (it is retried), never a
// plan against an empty state.
func TestSharedStateUnreadableIsTransient(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform")
	}
	bin, rc := tftest.Tools(t)
	r, err := New(Options{
		Binary: bin, CLIConfigFile: rc, PluginCacheDir: filepath.Join(t.TempDir(), "plugin-cache"),
		SharedState: &SharedState{ConnString: "postgres://nobody@127.0.0.1:1/x", Read: func(context.Context, string, string) ([]byte, error) {
			return nil, fmt.Errorf("dial tcp 127.0.0.1:1: connection refused")
		}},
	})
	require.NoError(t, err)
	e := newEnv(t)
	spec := e.spec("s", "")
	spec.Untrusted = true
	writeFiles(t, filepath.Join(e.workdir, "s"), map[string]string{"main.tf": `resource "terraform_data" "base" { input = "v1" }`})
	_, err = r.Plan(t.Context(), spec)
	requireKind(t, err, reconciler.KindTransient)
	assert.ErrorContains(t, err, "connection refused")
}

// A stack that declares a local backend without an absolute path would keep its state in the data
// dir, which a replica shares with no one: with a shared store it is kept in PostgreSQL too.
func TestSharedStateTakesOverARelativeLocalBackend(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Terraform against PostgreSQL under bubblewrap")
	}
	r, store, _ := sharedStateRunner(t)
	ctx := t.Context()
	base := t.TempDir()
	spec := reconciler.RunSpec{
		Stack:   reconciler.Stack{Name: "stacks/l", Dir: "l", Workspace: "default"},
		Workdir: filepath.Join(base, "data", "work", "main"), DataDir: filepath.Join(base, "data", "tfdata", "main"),
		StatePath: filepath.Join(base, "data", "state", "l", "terraform.tfstate"),
	}
	config := `terraform {
  backend "local" { path = "mine.tfstate" }
}
resource "terraform_data" "base" { input = "v1" }
`
	writeFiles(t, filepath.Join(spec.Workdir, "l"), map[string]string{"main.tf": config})
	plan, err := r.Plan(ctx, spec)
	require.NoError(t, err)
	_, err = r.Apply(ctx, spec, plan)
	require.NoError(t, err)
	state, err := store.TerraformState(ctx, StateSchema("stacks/l"), "default")
	require.NoError(t, err)
	assert.Contains(t, string(state), `"terraform_data"`, "the state is in PostgreSQL")
	assert.NoFileExists(t, filepath.Join(spec.Workdir, "l", "mine.tfstate"))
	assert.NoDirExists(t, filepath.Dir(spec.StatePath), "nothing in the data dir")

	branch := spec
	branch.Untrusted = true
	branch.Workdir, branch.DataDir = filepath.Join(base, "data", "work", "pr"), filepath.Join(base, "data", "tfdata", "pr")
	writeFiles(t, filepath.Join(branch.Workdir, "l"), map[string]string{"main.tf": config})
	plan, err = r.Plan(ctx, branch)
	require.NoError(t, err)
	assert.False(t, plan.HasChanges(), "the branch plan read the copy of the shared state")
}
