package terraform

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// lockFile is the dependency lock file of a stack.
const lockFile = ".terraform.lock.hcl"

// fingerprint hashes what terraform init depends on, and nothing else: the binary, the CLI
// configuration, the plugin cache, the stack's directory in the checkout, the backend arguments,
// the dependency lock file, trueup's override file, and the init inputs of the configuration
// (initInputs): provider requirements, module calls and the backend block. A resource change
// leaves it unchanged. When the configuration cannot be read (a syntax error), the stack's and its
// local modules' files are hashed instead, so init runs and reports the error.
//
// It holds no absolute path of the checkout, so the same stack in another checkout (a branch's)
// with the same init inputs has the same fingerprint, which is what seeding compares.
func (j *job) fingerprint(backendConfig []string) (string, error) {
	h := sha256.New()
	fmt.Fprintf(h, "fingerprint=2\nbinary=%s\ncliconfig=%s\ncache=%s\nstack=%s\n", j.r.binary, j.r.cliConfig, j.r.opts.PluginCacheDir, filepath.ToSlash(j.stackRel()))
	for _, bc := range backendConfig {
		fmt.Fprintf(h, "backend-config=%s\n", bc)
	}
	if j.r.cliConfig != "" {
		if b, err := os.ReadFile(j.r.cliConfig); err == nil { // trusted: the operator's file
			fmt.Fprintf(h, "cliconfig-content=%x\n", sha256.Sum256(b))
		} else if !os.IsNotExist(err) {
			return "", err
		}
	}
	for _, name := range []string{lockFile, OverrideFile} {
		err := j.checkout.hash(h, filepath.Join(j.stackRel(), name))
		switch {
		case errors.Is(err, fs.ErrNotExist):
			fmt.Fprintf(h, "nofile=%s\n", name)
		case err != nil:
			return "", err
		}
	}
	inputs := sha256.New()
	if initInputs(inputs, j.checkout, j.stackRel(), true, map[string]bool{}) {
		fmt.Fprintf(h, "inputs=%x\n", inputs.Sum(nil))
	} else if err := j.hashConfigFiles(h); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// initInputs writes what init reads of the module in dir (relative to the checkout) and of the
// local modules it calls into w: required Terraform versions, provider requirements (declared, and
// implied by provider blocks and resources), module calls (source and version) and, for the root
// module, the backend or cloud block as written. It returns false when it cannot tell: a file does
// not parse, or a module lies outside the checkout.
func initInputs(w io.Writer, co checkoutFS, dir string, root bool, seen map[string]bool) bool {
	dir = filepath.Clean(dir)
	if seen[dir] {
		return true
	}
	seen[dir] = true
	if dir == ".." || strings.HasPrefix(dir, ".."+string(filepath.Separator)) || filepath.IsAbs(dir) {
		return false
	}
	mod, diags := tfconfig.LoadModuleFromFilesystem(co, dir)
	if diags.HasErrors() {
		return false
	}
	fmt.Fprintf(w, "module=%q\n", filepath.ToSlash(dir))
	core := append([]string(nil), mod.RequiredCore...)
	sort.Strings(core)
	fmt.Fprintf(w, "core=%q\n", core)
	for _, name := range sortedKeys(mod.RequiredProviders) {
		req := mod.RequiredProviders[name]
		versions := append([]string(nil), req.VersionConstraints...)
		sort.Strings(versions)
		aliases := make([]string, 0, len(req.ConfigurationAliases))
		for _, a := range req.ConfigurationAliases {
			aliases = append(aliases, a.Name+"."+a.Alias)
		}
		sort.Strings(aliases)
		fmt.Fprintf(w, "provider=%q source=%q versions=%q aliases=%q\n", name, req.Source, versions, aliases)
	}
	for _, name := range sortedKeys(mod.ModuleCalls) {
		call := mod.ModuleCalls[name]
		fmt.Fprintf(w, "call=%q source=%q version=%q\n", name, call.Source, call.Version)
		if strings.HasPrefix(call.Source, "./") || strings.HasPrefix(call.Source, "../") {
			if !initInputs(w, co, filepath.Join(dir, filepath.FromSlash(call.Source)), false, seen) {
				return false
			}
		}
	}
	if root {
		return backendInputs(w, co, dir)
	}
	return true
}

var backendSchema = &hcl.BodySchema{Blocks: []hcl.BlockHeaderSchema{
	{Type: "backend", LabelNames: []string{"type"}},
	{Type: "cloud"},
}}

// backendInputs writes the backend and cloud blocks of the module in dir into w, each as its
// source text (its type and literal configuration). A JSON file with a terraform block is written
// whole. false: a file does not parse.
func backendInputs(w io.Writer, co checkoutFS, dir string) bool {
	entries, err := co.ReadDir(dir)
	if err != nil {
		return false
	}
	p := hclparse.NewParser()
	for _, e := range entries { // sorted by name
		name := e.Name()
		if e.IsDir() || !isConfigFile(name) {
			continue
		}
		rel := filepath.Join(dir, name)
		src, err := co.ReadFile(rel)
		if err != nil {
			return false
		}
		if strings.HasSuffix(name, ".json") {
			f, diags := p.ParseJSON(src, rel)
			if diags.HasErrors() {
				return false
			}
			content, _, diags := f.Body.PartialContent(fileSchema)
			if diags.HasErrors() {
				return false
			}
			if len(content.Blocks) > 0 {
				fmt.Fprintf(w, "backend-json=%q %x\n", name, sha256.Sum256(src))
			}
			continue
		}
		f, diags := p.ParseHCL(src, rel)
		if diags.HasErrors() {
			return false
		}
		content, _, diags := f.Body.PartialContent(fileSchema)
		if diags.HasErrors() {
			return false
		}
		for _, tb := range content.Blocks {
			inner, _, diags := tb.Body.PartialContent(backendSchema)
			if diags.HasErrors() {
				return false
			}
			for _, b := range inner.Blocks {
				body, ok := b.Body.(*hclsyntax.Body)
				if !ok {
					return false
				}
				rng := hcl.RangeBetween(b.TypeRange, body.SrcRange)
				fmt.Fprintf(w, "backend=%q %q %q\n", name, b.Type, b.Labels)
				w.Write(rng.SliceBytes(src))
				fmt.Fprintln(w)
			}
		}
	}
	return true
}

// hashConfigFiles writes the stack's configuration files and its local modules' *.tf files into
// h: the fallback when the configuration cannot be read.
func (j *job) hashConfigFiles(h io.Writer) error {
	fmt.Fprintln(h, "files")
	entries, err := j.checkout.ReadDir(j.stackRel())
	if err != nil {
		return err
	}
	for _, e := range entries {
		if e.IsDir() || !isConfigFile(e.Name()) {
			continue
		}
		if err := j.checkout.hash(h, filepath.Join(j.stackRel(), e.Name())); err != nil {
			return err
		}
	}
	for _, dir := range j.spec.Stack.ModuleDirs {
		err := fs.WalkDir(j.checkout.root.FS(), path.Clean(dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					return nil // a module removed from the repository: init will say so
				}
				return err
			}
			if d.IsDir() && d.Name() == ".terraform" {
				return fs.SkipDir
			}
			if d.Type().IsRegular() && strings.HasSuffix(d.Name(), ".tf") {
				return j.checkout.hash(h, p)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
