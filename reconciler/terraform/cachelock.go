package terraform

import (
	"context"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"

	"github.com/trueup/trueup/reconciler"
)

// Terraform's plugin cache is not safe for concurrent use. Parallel inits that install the same
// provider into it fail ("file exists", "text file busy", "still not detected"), and worse, an
// init whose dependency lock file does not pin a provider re-installs that provider into the
// cache (unlink, then create), which breaks plans and applies of other stacks that are running
// it at that moment. Measured with Terraform 1.5.7:
//   - an init whose lock file pins every provider the configuration needs, each present in the
//     cache, only links cache entries into TF_DATA_DIR: it never writes the cache;
//   - an init without TF_PLUGIN_CACHE_DIR never touches the cache.
//
// So trueup never lets Terraform write the cache: an init that would is run without the cache
// (providers are installed into its own TF_DATA_DIR), and trueup then adds what it installed to
// the cache itself, atomically and without ever replacing an entry. Later inits of stacks whose
// lock files pin those providers link them from the cache, in parallel. Commit
// .terraform.lock.hcl to benefit from the cache on a branch's first init.

// cacheMode is how one init uses the plugin cache.
type cacheMode int

const (
	cacheUnused    cacheMode = iota // no cache configured
	cacheRead                       // the init only links cached providers: run it as is
	cacheIsolate                    // the init would write the cache: run it without, then fill the cache
	cacheSerialize                  // the CLI configuration names a cache trueup cannot hide: one init at a time
)

// cacheModeFor decides how the init of the stack in stackDir uses the cache.
func (r *Runner) cacheModeFor(co checkoutFS, stackRel string) (cacheMode, string) {
	if r.cliConfigCache {
		return cacheSerialize, ""
	}
	dir := r.opts.PluginCacheDir
	if dir == "" {
		dir = os.Getenv("TF_PLUGIN_CACHE_DIR")
	}
	switch {
	case dir == "":
		return cacheUnused, ""
	case cacheReadOnly(co, stackRel, dir):
		return cacheRead, dir
	default:
		return cacheIsolate, dir
	}
}

// initWithCache runs init under the cache discipline above.
func (j *job) initWithCache(ctx context.Context, init func(ctx context.Context) error) error {
	mode, cacheDir := j.r.cacheModeFor(j.checkout, j.stackRel())
	switch mode {
	case cacheSerialize:
		j.r.serialMu.Lock()
		defer j.r.serialMu.Unlock()
	case cacheIsolate:
		isolated := make(map[string]string, len(j.env))
		for k, v := range j.env {
			isolated[k] = v
		}
		delete(isolated, "TF_PLUGIN_CACHE_DIR")
		if err := j.tf.SetEnv(isolated); err != nil {
			return reconciler.Errorf(reconciler.KindFailed, "init", err)
		}
		defer func() { _ = j.tf.SetEnv(j.env) }() // the same variables were accepted before
	}
	if err := j.call(ctx, "init", init); err != nil {
		return err
	}
	// What an untrusted run installed is never shared: its code could have changed the provider
	// binaries in its TF data dir after init, and trusted runs would then execute them.
	if mode == cacheIsolate && !j.spec.Untrusted {
		if err := fillCache(filepath.Join(j.dataDir, "providers"), cacheDir); err != nil {
			// The run is fine without the cache; the next init will try again.
			j.r.log.WarnContext(ctx, "fill terraform plugin cache", "stack", j.spec.Stack.Name, "err", err)
		}
	}
	return nil
}

// fillCache adds the providers installed in a TF_DATA_DIR (providers/<host>/<ns>/<type>/<version>/<platform>)
// to the cache when the cache does not hold them yet. Each entry appears atomically (a rename)
// and an existing entry is never replaced, so Terraform processes using the cache are not disturbed.
func fillCache(providersDir, cacheDir string) error {
	entries, err := filepath.Glob(filepath.Join(providersDir, "*", "*", "*", "*", "*"))
	if err != nil {
		return err
	}
	var errs []error
	for _, src := range entries {
		rel, err := filepath.Rel(providersDir, src)
		if err != nil {
			return err
		}
		dst := filepath.Join(cacheDir, rel)
		if _, err := os.Lstat(dst); err == nil {
			continue
		}
		errs = append(errs, addCacheEntry(src, dst))
	}
	return errors.Join(errs...)
}

// addCacheEntry copies one provider package from src to dst (a symlink stays a symlink to the
// same place, as Terraform itself links unpacked mirrors) through a temporary name.
func addCacheEntry(src, dst string) error {
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	fi, err := os.Lstat(src)
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if !filepath.IsAbs(target) {
			target = filepath.Join(filepath.Dir(src), target)
		}
		tmp := filepath.Join(filepath.Dir(dst), ".trueup-"+rand.Text())
		if err := os.Symlink(target, tmp); err != nil {
			return err
		}
		return renameNew(tmp, dst)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dst), ".trueup-")
	if err != nil {
		return err
	}
	err = filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, path)
		to := filepath.Join(tmp, rel)
		if d.IsDir() {
			return os.MkdirAll(to, 0o755)
		}
		return copyFile(path, to)
	})
	if err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return renameNew(tmp, dst)
}

// renameNew moves tmp to dst unless dst appeared meanwhile (another run filled it first).
func renameNew(tmp, dst string) error {
	if _, err := os.Lstat(dst); err == nil {
		return os.RemoveAll(tmp)
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.RemoveAll(tmp)
		if _, statErr := os.Lstat(dst); statErr == nil {
			return nil
		}
		return err
	}
	return nil
}

// copyFile copies from (following a symlinked file, as Terraform would) to a new file to, with
// from's permissions.
func copyFile(from, to string) error {
	fi, err := os.Stat(from)
	if err != nil {
		return err
	}
	return copyFileMode(from, to, fi.Mode().Perm())
}

// cacheReadOnly reports whether init of the stack in stackRel (of the checkout) will only read
// the plugin cache: the lock file pins every provider the configuration needs and the cache holds
// each pinned version.
func cacheReadOnly(co checkoutFS, stackRel, cacheDir string) bool {
	locked, ok := lockedProviders(co, filepath.Join(stackRel, ".terraform.lock.hcl"))
	if !ok {
		return false
	}
	needed, ok := neededProviders(co, stackRel, map[string]bool{})
	if !ok {
		return false
	}
	for addr := range needed {
		if _, ok := locked[addr]; !ok {
			return false
		}
	}
	platform := runtime.GOOS + "_" + runtime.GOARCH
	for addr, version := range locked {
		if !dirExists(filepath.Join(cacheDir, filepath.FromSlash(addr), version, platform)) {
			return false
		}
	}
	return true
}

// lockedProviders reads the provider versions pinned in a dependency lock file.
func lockedProviders(co checkoutFS, path string) (map[string]string, bool) {
	src, err := co.ReadFile(path)
	if err != nil {
		return nil, false
	}
	f, diags := hclparse.NewParser().ParseHCL(src, path)
	if diags.HasErrors() {
		return nil, false
	}
	content, _, diags := f.Body.PartialContent(&hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{{Type: "provider", LabelNames: []string{"source"}}}})
	if diags.HasErrors() {
		return nil, false
	}
	locked := map[string]string{}
	for _, b := range content.Blocks {
		attrs, _, diags := b.Body.PartialContent(&hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "version", Required: true}}})
		if diags.HasErrors() {
			return nil, false
		}
		v, diags := attrs.Attributes["version"].Expr.Value(nil)
		if diags.HasErrors() || !v.IsKnown() || v.IsNull() {
			return nil, false
		}
		locked[strings.ToLower(b.Labels[0])] = v.AsString()
	}
	return locked, true
}

// neededProviders lists the providers the module in dir (relative to the checkout) and its local
// modules need, as full addresses. ok is false when it cannot tell (a remote module may need
// anything; a module outside the checkout is not read).
func neededProviders(co checkoutFS, dir string, seen map[string]bool) (map[string]bool, bool) {
	dir = filepath.Clean(dir)
	if seen[dir] {
		return map[string]bool{}, true
	}
	seen[dir] = true
	if dir == ".." || strings.HasPrefix(dir, ".."+string(filepath.Separator)) || filepath.IsAbs(dir) {
		return nil, false
	}
	mod, diags := tfconfig.LoadModuleFromFilesystem(co, dir)
	if diags.HasErrors() {
		return nil, false
	}
	needed := map[string]bool{}
	for name, req := range mod.RequiredProviders {
		if addr := providerAddr(name, req.Source); addr != "" {
			needed[addr] = true
		}
	}
	for _, call := range mod.ModuleCalls {
		if !strings.HasPrefix(call.Source, "./") && !strings.HasPrefix(call.Source, "../") {
			return nil, false
		}
		sub, ok := neededProviders(co, filepath.Join(dir, filepath.FromSlash(call.Source)), seen)
		if !ok {
			return nil, false
		}
		for addr := range sub {
			needed[addr] = true
		}
	}
	return needed, true
}

// providerAddr is the full provider address ("registry.terraform.io/hashicorp/local") for a
// local name and source; "" for the built-in terraform provider, which is never installed.
func providerAddr(name, source string) string {
	if source == "" {
		if name == "terraform" {
			return ""
		}
		source = "hashicorp/" + name
	}
	source = strings.ToLower(source)
	switch strings.Count(source, "/") {
	case 1:
		source = "registry.terraform.io/" + source
	case 2:
	default:
		return "?" + source // malformed: never found in a lock file, so init runs alone
	}
	if source == "terraform.io/builtin/terraform" {
		return ""
	}
	return source
}
