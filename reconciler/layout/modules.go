package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/terraform-config-inspect/tfconfig"
)

// moduleInfo is what trueup needs from one parsed Terraform directory.
type moduleInfo struct {
	// sources are the local module call sources ("./x", "../y"), sorted by call name.
	sources []moduleSource
}

type moduleSource struct {
	name, source string
}

// graph parses Terraform directories on demand (each once) and follows local module calls.
type graph struct {
	fsys     fs.FS
	tfs      tfconfig.FS
	res      *resolver
	parsed   map[string]*moduleInfo // by real directory
	warnings map[string]struct{}
	cache    *ModuleCache // across loads; nil for none
}

func newGraph(fsys fs.FS, res *resolver, cache *ModuleCache) *graph {
	return &graph{
		fsys:     fsys,
		tfs:      tfconfig.WrapFS(fsys),
		res:      res,
		parsed:   map[string]*moduleInfo{},
		warnings: map[string]struct{}{},
		cache:    cache,
	}
}

func (g *graph) warnf(format string, args ...any) {
	g.warnings[fmt.Sprintf(format, args...)] = struct{}{}
}

// sortedWarnings returns the collected warnings, deduplicated and sorted.
func (g *graph) sortedWarnings() []string {
	out := make([]string, 0, len(g.warnings))
	for w := range g.warnings {
		out = append(out, w)
	}
	sort.Strings(out)
	return out
}

// module parses the real directory dir. Invalid HCL is a warning, not an error: Terraform
// reports it when it runs, and the calls tfconfig could still read are kept.
func (g *graph) module(dir string) *moduleInfo {
	if m, ok := g.parsed[dir]; ok {
		return m
	}
	if g.cache == nil {
		return g.parse(dir)
	}
	key, ok := g.cache.key(g.fsys, dir)
	if !ok {
		return g.parse(dir)
	}
	if c, hit := g.cache.get(key); hit {
		for _, w := range c.warnings {
			g.warnings[w] = struct{}{}
		}
		g.parsed[dir] = c.info
		return c.info
	}
	before := maps.Clone(g.warnings)
	m := g.parse(dir)
	var added []string
	for w := range g.warnings {
		if _, ok := before[w]; !ok {
			added = append(added, w)
		}
	}
	g.cache.put(key, cachedModule{info: m, warnings: added})
	return m
}

// parse reads the real directory dir with terraform-config-inspect.
func (g *graph) parse(dir string) *moduleInfo {
	mod, diags := tfconfig.LoadModuleFromFilesystem(g.tfs, dir)
	if diags.HasErrors() {
		var errs []tfconfig.Diagnostic
		for _, d := range diags {
			if d.Severity == tfconfig.DiagError {
				errs = append(errs, d)
			}
		}
		first := errs[0]
		where := dir
		if first.Pos != nil {
			where = fmt.Sprintf("%s:%d", first.Pos.Filename, first.Pos.Line)
		}
		more := ""
		if len(errs) > 1 {
			more = fmt.Sprintf(" (and %d more errors)", len(errs)-1)
		}
		g.warnf("%s: invalid Terraform configuration: %s%s; module calls may be incomplete", where, diagText(first), more)
	}
	m := &moduleInfo{}
	if mod != nil {
		for name, call := range mod.ModuleCalls {
			if isLocalSource(call.Source) {
				m.sources = append(m.sources, moduleSource{name: name, source: call.Source})
			}
		}
	}
	slices.SortFunc(m.sources, func(a, b moduleSource) int { return strings.Compare(a.name, b.name) })
	g.parsed[dir] = m
	return m
}

func diagText(d tfconfig.Diagnostic) string {
	if d.Detail == "" {
		return d.Summary
	}
	return d.Summary + ": " + d.Detail
}

// isLocalSource reports whether a module source is a path in the same repository, as Terraform
// decides: it starts with "./" or "../".
func isLocalSource(s string) bool {
	return strings.HasPrefix(s, "./") || strings.HasPrefix(s, "../")
}

// call resolves one local module call made from the directory whose (lexical) path is from.
// It returns the callee's lexical path and its real path; real is "" when the callee does
// not exist (the lexical path is still worth watching: adding the module later affects the caller).
// ok is false when the call leaves the repository and must not be followed.
func (g *graph) call(from string, src moduleSource) (lexical, real string, ok bool) {
	lexical = path.Join(from, src.source)
	if outside(lexical) {
		g.warnf("%s: module %q: source %q leads out of the repository; ignored", from, src.name, src.source)
		return "", "", false
	}
	real, err := g.res.resolve(lexical)
	switch {
	case errors.Is(err, errEscapes):
		g.warnf("%s: module %q: source %q: %v; ignored", from, src.name, src.source, err)
		return "", "", false
	case errors.Is(err, fs.ErrNotExist):
		g.warnf("%s: module %q: source %q: directory %s does not exist", from, src.name, src.source, lexical)
		return lexical, "", true
	case err != nil:
		g.warnf("%s: module %q: source %q: %v", from, src.name, src.source, err)
		return lexical, "", true
	}
	return lexical, real, true
}

// modulePaths are the directories a stack depends on through local module calls.
type modulePaths struct {
	// real are the existing modules' real directories, plus the lexical path of missing ones.
	real []string
	// extra are lexical paths that differ from their real path (reached through a symlink).
	extra []string
}

// closure follows local module calls from the stack whose real directory is dir, transitively.
// Terraform resolves a root module's calls against its working directory (the real stack dir)
// and nested calls by joining paths lexically, so that is what this does.
func (g *graph) closure(dir string) modulePaths {
	seen := map[string]bool{dir: true} // by real path: guards cycles and link loops
	var out modulePaths
	lexicals := map[string]bool{}
	var visit func(lexical, real string)
	visit = func(lexical, real string) {
		for _, src := range g.module(real).sources {
			lex, r, ok := g.call(lexical, src)
			if !ok {
				continue
			}
			if r == "" {
				if !lexicals[lex] {
					lexicals[lex] = true
					out.real = append(out.real, lex)
				}
				continue
			}
			if lex != r && !lexicals[lex] {
				lexicals[lex] = true
				out.extra = append(out.extra, lex)
			}
			if seen[r] {
				continue
			}
			seen[r] = true
			out.real = append(out.real, r)
			visit(lex, r)
		}
	}
	visit(dir, dir)
	sort.Strings(out.real)
	out.real = slices.Compact(out.real)
	sort.Strings(out.extra)
	return out
}
