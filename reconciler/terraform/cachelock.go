package terraform

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// lockCache guards the plugin cache for one init and returns the unlock function.
//
// Terraform's plugin cache is not safe for concurrent writers: parallel inits that install the
// same provider into it fail ("file exists", "text file busy", "still not detected"). An init
// only reads the cache (it links providers into TF_DATA_DIR) when the stack's dependency lock
// file pins every provider the configuration needs and the cache already holds each pinned
// version for this platform; such inits run in parallel. Any other init may write the cache and
// runs alone. With no cache at all, nothing is shared and nothing is locked.
func (r *Runner) lockCache(stackDir string) (unlock func()) {
	cacheDir, known := r.cacheDir()
	switch {
	case known && cacheDir == "":
		return func() {}
	case known && cacheReadOnly(stackDir, cacheDir):
		r.cacheMu.RLock()
		return r.cacheMu.RUnlock
	default:
		r.cacheMu.Lock()
		return r.cacheMu.Unlock
	}
}

// cacheDir is the plugin cache Terraform will use; known is false when the CLI configuration may
// name one that trueup did not parse.
func (r *Runner) cacheDir() (dir string, known bool) {
	if r.opts.PluginCacheDir != "" {
		return r.opts.PluginCacheDir, true
	}
	if dir := os.Getenv("TF_PLUGIN_CACHE_DIR"); dir != "" {
		return dir, true
	}
	cfg := r.opts.CLIConfigFile
	if cfg == "" {
		cfg = os.Getenv("TF_CLI_CONFIG_FILE")
	}
	if cfg == "" {
		if home, err := os.UserHomeDir(); err == nil {
			cfg = filepath.Join(home, ".terraformrc")
		}
	}
	b, err := os.ReadFile(cfg)
	if err != nil {
		return "", true
	}
	return "", !strings.Contains(string(b), "plugin_cache_dir")
}

// cacheReadOnly reports whether init in stackDir will only read the plugin cache.
func cacheReadOnly(stackDir, cacheDir string) bool {
	locked, ok := lockedProviders(filepath.Join(stackDir, ".terraform.lock.hcl"))
	if !ok {
		return false
	}
	needed, ok := neededProviders(stackDir, map[string]bool{})
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
func lockedProviders(path string) (map[string]string, bool) {
	f, diags := hclparse.NewParser().ParseHCLFile(path)
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

// neededProviders lists the providers the module in dir and its local modules need, as full
// addresses. ok is false when it cannot tell (a remote module may need anything).
func neededProviders(dir string, seen map[string]bool) (map[string]bool, bool) {
	if seen[dir] {
		return map[string]bool{}, true
	}
	seen[dir] = true
	mod, diags := tfconfig.LoadModule(dir)
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
		sub, ok := neededProviders(filepath.Join(dir, filepath.FromSlash(call.Source)), seen)
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
