package layout

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trueup/trueup/reconciler"
)

// configured is the validated content of .trueup.yaml: stacks with their aws (not merged with any
// defaults yet) and on_apply settings.
type configured struct {
	stacks  []reconciler.Stack
	realDir map[string]string // stack name -> real directory (differs from Dir through a symlink)
}

var workspaceName = regexp.MustCompile(`^[A-Za-z0-9_.~-]+$`)

// validate turns the decoded entries into stacks, checking each against the repository.
// It returns every problem found, joined, each naming the entry and its line.
func validate(p *parsedConfig, fsys fs.FS, res *resolver) (*configured, error) {
	var errs []error
	errf := func(i int, field string, line int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s:%d: stacks[%d].%s: %s", ConfigFile, line, i, field, fmt.Sprintf(format, args...)))
	}
	if v := p.cfg.Version; v != nil && *v != 1 {
		line := 1
		if n := mappingValue(p.root, "version"); n != nil {
			line = n.Line
		}
		errs = append(errs, fmt.Errorf("%s:%d: version: unsupported version %d (want 1)", ConfigFile, line, *v))
	}
	if len(p.cfg.Stacks) == 0 {
		errs = append(errs, fmt.Errorf("%s: stacks: list at least one stack (or remove the file to discover stacks)", ConfigFile))
	}
	c := &configured{realDir: map[string]string{}}
	seen := map[string]int{}
	for i, e := range p.cfg.Stacks {
		n := len(errs)
		dir, real := validateDir(e.Dir, res, fsys, func(format string, args ...any) {
			errf(i, "dir", p.line(i, "dir"), format, args...)
		})
		ws := e.Workspace
		if ws == "" {
			ws = "default"
		} else if !workspaceName.MatchString(ws) || ws == "." || ws == ".." {
			errf(i, "workspace", p.line(i, "workspace"), "%q is not a valid Terraform workspace name (letters, digits, '-', '_', '.', '~')", ws)
		}
		s := reconciler.Stack{Dir: dir, Workspace: ws, Name: reconciler.StackName(dir, ws)}
		if dir != "" {
			if first, dup := seen[s.Name]; dup {
				errf(i, "dir", p.line(i, "dir"), "stack %q is already listed as stacks[%d]", s.Name, first)
			}
			seen[s.Name] = i
		}
		for j, g := range e.WhenModified {
			line := p.itemLine(i, "when_modified", j)
			if err := checkGlob(dir, g); err != nil {
				errf(i, fmt.Sprintf("when_modified[%d]", j), line, "%v", err)
			}
		}
		s.WhenModified = slices.Clone(e.WhenModified)
		for j, vf := range e.VarFiles {
			line := p.itemLine(i, "var_files", j)
			if err := checkVarFile(fsys, res, dir, vf); err != nil {
				errf(i, fmt.Sprintf("var_files[%d]", j), line, "%v", err)
			}
		}
		s.VarFiles = slices.Clone(e.VarFiles)
		if e.Drift != nil {
			s.Drift = validateDrift(e.Drift, func(field, format string, args ...any) {
				errf(i, "drift."+field, p.line(i, "drift", field), format, args...)
			})
		}
		if e.AWS != nil {
			s.AWS = reconciler.StackAWS{
				RoleARN: e.AWS.RoleARN, BranchRoleARN: e.AWS.BranchRoleARN, ApplyRoleARN: e.AWS.ApplyRoleARN,
				ExternalID: e.AWS.ExternalID, Region: e.AWS.Region,
			}
			if e.AWS.SessionDuration != "" {
				d, err := time.ParseDuration(e.AWS.SessionDuration)
				if err != nil || d <= 0 {
					errf(i, "aws.session_duration", p.line(i, "aws", "session_duration"), "%q is not a positive duration like 1h", e.AWS.SessionDuration)
				}
				s.AWS.SessionDuration = d
			}
		}
		if e.OnApply != nil {
			if r := e.OnApply.ECSRedeploy; r != nil && (r.Cluster == "" || r.Service == "") {
				errf(i, "on_apply.ecs_redeploy", p.line(i, "on_apply", "ecs_redeploy"), "cluster and service are both required")
			}
			if w := e.OnApply.Webhook; w != nil && w.URLEnv == "" {
				errf(i, "on_apply.webhook.url_env", p.line(i, "on_apply", "webhook"), "required")
			}
			s.OnApply = e.OnApply.hooks()
		}
		if len(errs) == n {
			c.stacks = append(c.stacks, s)
			c.realDir[s.Name] = real
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return c, nil
}

// validateDir checks a stack's dir and returns it cleaned, with its real (symlink-free) path.
func validateDir(dir string, res *resolver, fsys fs.FS, fail func(format string, args ...any)) (clean, real string) {
	switch {
	case dir == "":
		fail("required")
		return "", ""
	case path.IsAbs(dir):
		fail("%q must be relative to the repository root", dir)
		return "", ""
	case slices.Contains(strings.Split(dir, "/"), ".."):
		fail("%q must not contain \"..\"", dir)
		return "", ""
	case strings.Contains(dir, "@"):
		fail("%q must not contain \"@\" (it separates directory and workspace in stack names)", dir)
		return "", ""
	case !printableName(dir):
		fail("%q must be valid UTF-8 without control characters (line breaks in a name would reach comments as lines of their own)", dir)
		return "", ""
	}
	clean = path.Clean(dir)
	real, err := res.resolve(clean)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		fail("directory %q does not exist", clean)
		return clean, ""
	case err != nil:
		fail("%v", err)
		return clean, ""
	}
	info, err := fs.Stat(fsys, real)
	if err != nil || !info.IsDir() {
		fail("%q is not a directory", clean)
		return clean, ""
	}
	has, err := hasTerraformFiles(fsys, real)
	if err != nil {
		fail("%v", err)
	} else if !has {
		fail("no .tf or .tf.json files in %q", clean)
	}
	return clean, real
}

// checkGlob checks a when_modified pattern: valid syntax, and inside the repository once
// joined with the stack's dir.
func checkGlob(dir, g string) error {
	if g == "" {
		return errors.New("empty pattern")
	}
	if strings.HasPrefix(g, "!") {
		return errors.New("negated patterns are not supported: when_modified only adds paths that affect the stack")
	}
	if path.IsAbs(g) {
		return fmt.Errorf("%q must be relative to the stack's dir", g)
	}
	if outside(path.Join(dir, g)) {
		return fmt.Errorf("%q leads out of the repository", g)
	}
	for _, seg := range strings.Split(g, "/") {
		if _, err := path.Match(seg, ""); err != nil {
			return fmt.Errorf("%q: bad pattern", g)
		}
	}
	return nil
}

// checkVarFile checks that a var file exists, is a regular file and stays inside the repository.
func checkVarFile(fsys fs.FS, res *resolver, dir, vf string) error {
	if vf == "" {
		return errors.New("empty path")
	}
	if path.IsAbs(vf) {
		return fmt.Errorf("%q must be relative to the stack's dir", vf)
	}
	p := path.Join(dir, vf)
	if outside(p) {
		return fmt.Errorf("%q leads out of the repository", vf)
	}
	real, err := res.resolve(p)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("file %q does not exist", p)
	}
	if err != nil {
		return err
	}
	info, err := fs.Stat(fsys, real)
	if err != nil || !info.Mode().IsRegular() {
		return fmt.Errorf("%q is not a regular file", p)
	}
	return nil
}

func validateDrift(d *driftEntry, fail func(field, format string, args ...any)) reconciler.DriftOverride {
	var o reconciler.DriftOverride
	if d.Interval != nil {
		v, err := time.ParseDuration(*d.Interval)
		if err != nil || v <= 0 {
			fail("interval", "%q is not a positive duration like 5m or 1h", *d.Interval)
		}
		o.Interval = &v
	}
	if d.Remediate != nil {
		m := reconciler.RemediateMode(*d.Remediate)
		switch m {
		case reconciler.RemediateAuto, reconciler.RemediateAlert, reconciler.RemediateOff:
		default:
			fail("remediate", "%q is not one of auto, alert, off", *d.Remediate)
		}
		o.Remediate = &m
	}
	if d.AllowDestroy != nil {
		v := *d.AllowDestroy
		o.AllowDestroy = &v
	}
	if d.MaxChanges != nil {
		v := *d.MaxChanges
		if v < 0 {
			fail("max_changes", "%d must be 0 (no limit) or more", v)
		}
		o.MaxChanges = &v
	}
	return o
}

// printableName reports whether a stack directory's name is valid UTF-8 without control characters:
// names reach logs, statuses and comments, where a line break would start a line of their own.
func printableName(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}
