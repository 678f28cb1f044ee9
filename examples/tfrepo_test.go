package examples_test

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// tfRepo is the Terraform of one infrastructure repository: every directory holding .tf files,
// parsed, and the tree of module instances under each stack.
type tfRepo struct {
	mods   map[string]*tfModule // by slash-separated directory relative to the repository root
	stacks []*scope             // one per root module (a directory no module call names), by dir
}

// tfModule is the top-level blocks of one directory's .tf files.
type tfModule struct {
	dir    string
	blocks []*hclsyntax.Block
}

// scope is one instance of a module: a stack, or a module a stack calls (directly or not). The
// same module called twice is two scopes, each seeing its own call's arguments.
type scope struct {
	repo     *tfRepo
	mod      *tfModule
	call     *hclsyntax.Block // the module block that made this instance; nil for a stack
	parent   *scope
	children map[string]*scope // by module call name
}

// maxDepth bounds module nesting and reference chains, so a cycle is an error, not a hang.
const maxDepth = 32

// loadRepo parses every .tf file in fsys (hidden directories and .terraform skipped). Any HCL
// diagnostic, warnings included, is an error.
func loadRepo(fsys fs.FS) (*tfRepo, error) {
	r := &tfRepo{mods: map[string]*tfModule{}}
	p := hclparse.NewParser()
	var errs []error
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if name != "." && strings.HasPrefix(d.Name(), ".") {
				return fs.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(name, ".tf") {
			return nil
		}
		data, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		f, diags := p.ParseHCL(data, name)
		if len(diags) > 0 {
			errs = append(errs, fmt.Errorf("parse %s: %s", name, diags.Error()))
			return nil
		}
		dir := path.Dir(name)
		m := r.mods[dir]
		if m == nil {
			m = &tfModule{dir: dir}
			r.mods[dir] = m
		}
		m.blocks = append(m.blocks, f.Body.(*hclsyntax.Body).Blocks...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("walk repository: %w", err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	called := map[string]bool{}
	for _, m := range r.mods {
		for _, b := range m.all("module") {
			if dir, ok := localSource(m, b); ok {
				called[dir] = true
			}
		}
	}
	for _, dir := range r.dirs() {
		if !called[dir] {
			r.stacks = append(r.stacks, r.instantiate(r.mods[dir], nil, nil, 0))
		}
	}
	return r, nil
}

// dirs are the repository's Terraform directories, sorted.
func (r *tfRepo) dirs() []string {
	dirs := make([]string, 0, len(r.mods))
	for dir := range r.mods {
		dirs = append(dirs, dir)
	}
	sort.Strings(dirs)
	return dirs
}

// instantiate builds the scope of m and, below it, of every local module it calls that exists.
// Calls whose source does not resolve are left out here: checkModuleSources reports them.
func (r *tfRepo) instantiate(m *tfModule, call *hclsyntax.Block, parent *scope, depth int) *scope {
	s := &scope{repo: r, mod: m, call: call, parent: parent, children: map[string]*scope{}}
	if depth >= maxDepth {
		return s
	}
	for _, b := range m.all("module") {
		if dir, ok := localSource(m, b); ok && r.mods[dir] != nil {
			s.children[b.Labels[0]] = r.instantiate(r.mods[dir], b, s, depth+1)
		}
	}
	return s
}

// scopes returns every module instance in the repository, stacks first then depth first.
func (r *tfRepo) scopes() []*scope {
	var out []*scope
	var walk func(s *scope)
	walk = func(s *scope) {
		out = append(out, s)
		names := make([]string, 0, len(s.children))
		for n := range s.children {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			walk(s.children[n])
		}
	}
	for _, s := range r.stacks {
		walk(s)
	}
	return out
}

// stack returns the stack in dir, or nil.
func (r *tfRepo) stack(dir string) *scope {
	for _, s := range r.stacks {
		if s.mod.dir == dir {
			return s
		}
	}
	return nil
}

// localSource returns the repository directory a module call's local source ("./x", "../x")
// names. ok is false for registry and remote sources and for a source that is not a literal.
func localSource(m *tfModule, b *hclsyntax.Block) (dir string, ok bool) {
	src, ok := moduleSource(b)
	if !ok || !(strings.HasPrefix(src, "./") || strings.HasPrefix(src, "../")) {
		return "", false
	}
	return path.Join(m.dir, src), true
}

func moduleSource(b *hclsyntax.Block) (string, bool) {
	a, ok := b.Body.Attributes["source"]
	if !ok {
		return "", false
	}
	v, diags := a.Expr.Value(nil)
	if diags.HasErrors() || !v.Type().Equals(cty.String) || v.IsNull() {
		return "", false
	}
	return v.AsString(), true
}

// all returns the module's top-level blocks of typ whose labels start with labels.
func (m *tfModule) all(typ string, labels ...string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.blocks {
		if b.Type != typ || len(b.Labels) < len(labels) {
			continue
		}
		match := true
		for i, l := range labels {
			match = match && b.Labels[i] == l
		}
		if match {
			out = append(out, b)
		}
	}
	return out
}

// one returns the block typ with exactly these labels, or nil.
func (m *tfModule) one(typ string, labels ...string) *hclsyntax.Block {
	for _, b := range m.all(typ, labels...) {
		if len(b.Labels) == len(labels) {
			return b
		}
	}
	return nil
}

// local returns the expression of local.name, or nil.
func (m *tfModule) local(name string) hclsyntax.Expression {
	for _, b := range m.all("locals") {
		if a, ok := b.Body.Attributes[name]; ok {
			return a.Expr
		}
	}
	return nil
}

// where names a scope in messages: "stacks/data" or "stacks/data: module.aurora (modules/aurora)".
func (s *scope) where() string {
	var calls []string
	root := s
	for ; root.parent != nil; root = root.parent {
		calls = append([]string{"module." + root.call.Labels[0]}, calls...)
	}
	if len(calls) == 0 {
		return s.mod.dir
	}
	return fmt.Sprintf("%s: %s (%s)", root.mod.dir, strings.Join(calls, "."), s.mod.dir)
}

// attr returns the expression of a block's attribute, or nil.
func attr(b *hclsyntax.Block, name string) hclsyntax.Expression {
	if b == nil {
		return nil
	}
	if a, ok := b.Body.Attributes[name]; ok {
		return a.Expr
	}
	return nil
}

// nested returns the block's direct child blocks of typ.
func nested(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// eval computes expr's value in s the way Terraform would before any resource exists: var.x from
// the calling module's argument (or the variable's default), local.x from the locals. A value
// that needs anything else (a resource, a data source, a function) is an error.
func (s *scope) eval(expr hclsyntax.Expression) (cty.Value, error) {
	return s.evalDepth(expr, 0)
}

func (s *scope) evalDepth(expr hclsyntax.Expression, depth int) (cty.Value, error) {
	if expr == nil {
		return cty.NilVal, errors.New("not set")
	}
	if depth > maxDepth {
		return cty.NilVal, fmt.Errorf("%s: references nest too deep", expr.Range())
	}
	vars, locals := map[string]cty.Value{}, map[string]cty.Value{}
	for _, t := range expr.Variables() {
		name := step(t, 1)
		switch t.RootName() {
		case "var":
			v, err := s.variable(name, depth)
			if err != nil {
				return cty.NilVal, err
			}
			vars[name] = v
		case "local":
			e := s.mod.local(name)
			if e == nil {
				return cty.NilVal, fmt.Errorf("%s: no local.%s in %s", t.SourceRange(), name, s.mod.dir)
			}
			v, err := s.evalDepth(e, depth+1)
			if err != nil {
				return cty.NilVal, err
			}
			locals[name] = v
		default:
			return cty.NilVal, fmt.Errorf("%s: %s is not known before apply", t.SourceRange(), traversalString(t))
		}
	}
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{"var": cty.ObjectVal(vars), "local": cty.ObjectVal(locals)}}
	v, diags := expr.Value(ctx)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("evaluate %s: %s", expr.Range(), diags.Error())
	}
	return v, nil
}

// variable is var.name's value in s: the call's argument, else the variable's default.
func (s *scope) variable(name string, depth int) (cty.Value, error) {
	if s.call != nil {
		if a, ok := s.call.Body.Attributes[name]; ok {
			return s.parent.evalDepth(a.Expr, depth+1)
		}
	}
	v := s.mod.one("variable", name)
	if v == nil {
		return cty.NilVal, fmt.Errorf("%s: no variable %q", s.where(), name)
	}
	def := attr(v, "default")
	if def == nil {
		return cty.NilVal, fmt.Errorf("%s: var.%s has no value here (no argument, no default)", s.where(), name)
	}
	val, diags := def.Value(nil)
	if diags.HasErrors() {
		return cty.NilVal, fmt.Errorf("%s: default of var.%s: %s", s.where(), name, diags.Error())
	}
	return val, nil
}

// number evaluates expr as a number (a numeric string, as the AWS provider accepts, counts).
func (s *scope) number(expr hclsyntax.Expression) (float64, error) {
	if expr == nil {
		return 0, errors.New("not set")
	}
	v, err := s.eval(expr)
	if err != nil {
		return 0, err
	}
	n, err := convert.Convert(v, cty.Number)
	if err != nil || n.IsNull() {
		return 0, fmt.Errorf("%s: not a number", expr.Range())
	}
	f, _ := n.AsBigFloat().Float64()
	return f, nil
}

// str evaluates expr as a string.
func (s *scope) str(expr hclsyntax.Expression) (string, error) {
	if expr == nil {
		return "", errors.New("not set")
	}
	v, err := s.eval(expr)
	if err != nil {
		return "", err
	}
	v, err = convert.Convert(v, cty.String)
	if err != nil || v.IsNull() {
		return "", fmt.Errorf("%s: not a string", expr.Range())
	}
	return v.AsString(), nil
}

// step returns the name of a traversal's i-th step ("" when it is not an attribute).
func step(t hcl.Traversal, i int) string {
	if i >= len(t) {
		return ""
	}
	switch s := t[i].(type) {
	case hcl.TraverseRoot:
		return s.Name
	case hcl.TraverseAttr:
		return s.Name
	}
	return ""
}

// traversalString renders a reference like Terraform does: "aws_subnet.private[0].id".
func traversalString(t hcl.Traversal) string {
	var b strings.Builder
	for _, s := range t {
		switch s := s.(type) {
		case hcl.TraverseRoot:
			b.WriteString(s.Name)
		case hcl.TraverseAttr:
			b.WriteString("." + s.Name)
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String {
				fmt.Fprintf(&b, "[%q]", s.Key.AsString())
			} else {
				b.WriteString("[" + s.Key.GoString() + "]")
			}
		case hcl.TraverseSplat:
			b.WriteString("[*]")
		}
	}
	return b.String()
}

// refersTo reports whether expr references a resource of type typ (with one of names, if any).
func refersTo(expr hclsyntax.Expression, typ string, names ...string) bool {
	if expr == nil {
		return false
	}
	for _, t := range expr.Variables() {
		if t.RootName() == typ && (len(names) == 0 || slices.Contains(names, step(t, 1))) {
			return true
		}
	}
	return false
}
