package terraform

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrueupReadsOfAnUntrustedCheckoutNeverStall: a branch commits symlinks to /dev/zero and to
// trueup's database, and an earlier plan planted FIFOs where trueup reads its own files. trueup's
// own reads (backend, fingerprint, lock file) refuse them at once instead of blocking or reading
// without end, and never read outside the checkout.
func TestTrueupReadsOfAnUntrustedCheckoutNeverStall(t *testing.T) {
	r := newTestRunner(t, 0)
	e := newEnv(t)
	stack := filepath.Join(e.workdir, "s")
	writeFiles(t, stack, map[string]string{"main.tf": `resource "terraform_data" "x" {}`})
	secret := filepath.Join(t.TempDir(), "trueup.db")
	require.NoError(t, os.WriteFile(secret, []byte(`terraform { backend "s3" {} }`), 0o600))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(stack, "zero.tf")))
	require.NoError(t, os.Symlink("/dev/zero", filepath.Join(stack, ".terraform.lock.hcl")))
	require.NoError(t, os.Symlink(secret, filepath.Join(stack, "db.tf")))
	require.NoError(t, syscall.Mkfifo(filepath.Join(stack, "fifo.tf"), 0o644))

	spec := e.spec("s", "")
	spec.Untrusted = true
	require.NoError(t, os.MkdirAll(filepath.Join(spec.DataDir, "tfdata"), 0o700))
	require.NoError(t, syscall.Mkfifo(filepath.Join(spec.DataDir, fingerprintFile), 0o644))
	require.NoError(t, syscall.Mkfifo(filepath.Join(spec.DataDir, "tfdata", "environment"), 0o644))
	j, err := r.prepareJob(spec)
	require.NoError(t, err)
	defer j.close()

	assert.NoFileExists(t, filepath.Join(spec.DataDir, fingerprintFile), "the planted FIFO is dropped")
	decl, err := readBackend(j.checkout, j.stackRel())
	require.NoError(t, err)
	assert.False(t, decl.Parsed, "files trueup cannot read safely leave the backend to Terraform")
	_, err = j.fingerprint(nil)
	assert.Error(t, err, "the fingerprint refuses a lock file that is not a regular file of the checkout")
	assert.False(t, cacheReadOnly(j.checkout, j.stackRel(), r.opts.PluginCacheDir))
	_, err = readSmallFile(filepath.Join(spec.DataDir, "tfdata", "environment"))
	assert.Error(t, err, "a FIFO is never read")
}
