package examples_test

import (
	"errors"
	"fmt"

	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// tracer follows a value back through the references it is made of — a module's variable to
// the caller's argument, a module's output to its value, a terraform_remote_state output to the
// stack that writes that state, a local to its expression — until it reaches resources.
type tracer struct {
	// name checks each named step on the way (a variable, a module or stack output).
	name func(step string) error
	// resource checks a resource the value ends at, and returns its expressions to follow
	// further in the same scope (a subnet group's subnet_ids), if any.
	resource func(s *scope, b *hclsyntax.Block) ([]hclsyntax.Expression, error)
}

// ignoredRoots are references that only index or describe (count.index, each.key, path.module).
var ignoredRoots = map[string]bool{"count": true, "each": true, "path": true, "terraform": true, "self": true}

// trace checks every reference expr is made of. A value without references (a literal list of
// subnet IDs) cannot be checked, so it is an error.
func (tr tracer) trace(s *scope, expr hclsyntax.Expression) error {
	return tr.traceDepth(s, expr, 0)
}

func (tr tracer) traceDepth(s *scope, expr hclsyntax.Expression, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%s: references nest too deep", expr.Range())
	}
	var errs []error
	followed := 0
	for _, t := range expr.Variables() {
		root := t.RootName()
		if ignoredRoots[root] {
			continue
		}
		followed++
		ref := traversalString(t)
		fail := func(format string, args ...any) {
			errs = append(errs, fmt.Errorf("%s: %s: %s", s.where(), ref, fmt.Sprintf(format, args...)))
		}
		switch root {
		case "var":
			name := step(t, 1)
			if err := tr.name(name); err != nil {
				fail("%v", err)
				continue
			}
			if s.call == nil {
				fail("a stack's variable is set outside the repository and cannot be traced")
				continue
			}
			a, ok := s.call.Body.Attributes[name]
			if !ok {
				fail("module.%s does not set it, so it is the variable's default, which cannot be traced", s.call.Labels[0])
				continue
			}
			errs = append(errs, tr.traceDepth(s.parent, a.Expr, depth+1))
		case "local":
			e := s.mod.local(step(t, 1))
			if e == nil {
				fail("no such local")
				continue
			}
			errs = append(errs, tr.traceDepth(s, e, depth+1))
		case "module":
			call, out := step(t, 1), step(t, 2)
			if err := tr.name(out); err != nil {
				fail("%v", err)
				continue
			}
			child := s.children[call]
			if child == nil {
				fail("module.%s is not a local module of this repository", call)
				continue
			}
			errs = append(errs, tr.output(child, out, ref, depth))
		case "data":
			if step(t, 1) != "terraform_remote_state" {
				fail("a data source's value cannot be traced")
				continue
			}
			stack, err := remoteStateStack(s, step(t, 2))
			if err != nil {
				fail("%v", err)
				continue
			}
			out := step(t, 4)
			if step(t, 3) != "outputs" || out == "" {
				fail("want data.terraform_remote_state.NAME.outputs.OUTPUT")
				continue
			}
			if err := tr.name(out); err != nil {
				fail("%v", err)
				continue
			}
			errs = append(errs, tr.output(stack, out, ref, depth))
		default:
			b := s.mod.one("resource", root, step(t, 1))
			if b == nil {
				fail("no such resource in %s", s.mod.dir)
				continue
			}
			more, err := tr.resource(s, b)
			if err != nil {
				fail("%v", err)
				continue
			}
			for _, e := range more {
				errs = append(errs, tr.traceDepth(s, e, depth+1))
			}
		}
	}
	if followed == 0 {
		errs = append(errs, fmt.Errorf("%s: %s: a literal value cannot be traced", s.where(), expr.Range()))
	}
	return errors.Join(errs...)
}

// output follows the value of output name in s.
func (tr tracer) output(s *scope, name, ref string, depth int) error {
	o := s.mod.one("output", name)
	if o == nil || attr(o, "value") == nil {
		return fmt.Errorf("%s: %s: %s has no output %q", s.where(), ref, s.mod.dir, name)
	}
	return tr.traceDepth(s, attr(o, "value"), depth+1)
}

// remoteStateStack returns the stack whose S3 backend writes the state that
// data.terraform_remote_state.name in s reads, matched by the state's key.
func remoteStateStack(s *scope, name string) (*scope, error) {
	d := s.mod.one("data", "terraform_remote_state", name)
	if d == nil {
		return nil, fmt.Errorf("no data.terraform_remote_state.%s in %s", name, s.mod.dir)
	}
	if b, err := s.str(attr(d, "backend")); err != nil || b != "s3" {
		return nil, fmt.Errorf("data.terraform_remote_state.%s: only the s3 backend can be traced", name)
	}
	cfg, err := s.eval(attr(d, "config"))
	if err != nil {
		return nil, fmt.Errorf("data.terraform_remote_state.%s config: %w", name, err)
	}
	if !cfg.Type().IsObjectType() || !cfg.Type().HasAttribute("key") {
		return nil, fmt.Errorf("data.terraform_remote_state.%s config has no key", name)
	}
	key := cfg.GetAttr("key").AsString()
	for _, st := range s.repo.stacks {
		if stateKey(st) == key {
			return st, nil
		}
	}
	return nil, fmt.Errorf("no stack's s3 backend has key %q", key)
}

// stateKey is the key of a stack's backend "s3" block, "" when it has none.
func stateKey(s *scope) string {
	for _, tf := range s.mod.all("terraform") {
		for _, b := range nested(tf, "backend") {
			if len(b.Labels) == 1 && b.Labels[0] == "s3" {
				if k, err := s.str(attr(b, "key")); err == nil {
					return k
				}
			}
		}
	}
	return ""
}
