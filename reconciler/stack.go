package reconciler

import (
	"crypto/sha256"
	"encoding/hex"
	"path"
	"strings"
	"time"
)

// Revision is a full git commit hash.
type Revision string

// Short is the first 8 characters, for logs and messages.
func (r Revision) Short() string {
	if len(r) > 8 {
		return string(r[:8])
	}
	return string(r)
}

// Stack is one Terraform root module in the repository, run in one workspace.
type Stack struct {
	// Name identifies the stack everywhere (store, queue, API, alerts): the directory,
	// plus "@workspace" when the workspace is not "default".
	Name string
	// Dir is the root module's directory, slash-separated and relative to the repository root ("." for the root).
	Dir string
	// Workspace is the Terraform workspace, "default" unless set.
	Workspace string
	// WhenModified are extra path globs (relative to Dir, as in Atlantis) whose changes affect the stack.
	WhenModified []string
	// VarFiles are -var-file arguments, relative to Dir.
	VarFiles []string
	// ModuleDirs are the repository directories of the local modules the stack calls, directly or
	// transitively, sorted.
	ModuleDirs []string
	// Drift overrides the daemon's drift policy for this stack; nil fields keep the default.
	Drift DriftOverride
	// AWS is how the stack's runs reach AWS (merged with the daemon's defaults); zero means the daemon's own environment.
	AWS StackAWS
	// OnApply runs after a successful apply on main.
	OnApply OnApply
}

// StackName is the canonical name of the stack in dir and workspace.
func StackName(dir, workspace string) string {
	dir = path.Clean(dir)
	if workspace == "" || workspace == "default" {
		return dir
	}
	return dir + "@" + workspace
}

// Slug is Name made safe as one path element (for workdirs and state paths).
func (s Stack) Slug() string { return Slug(s.Name) }

// maxSlugText bounds the readable part of a slug, so paths stay well under filesystem limits.
const maxSlugText = 64

// Slug turns a name into one path element that no other name maps to: a readable part (LegacySlug,
// at most 64 bytes) and a hash of the exact name. "stacks/x/y" and "stacks/x_y", or "App" and "app"
// on a case-insensitive filesystem, never share a directory.
func Slug(name string) string {
	text := LegacySlug(name)
	if len(text) > maxSlugText {
		text = text[:maxSlugText]
	}
	sum := sha256.Sum256([]byte(name))
	// 128 bits: a branch must not be able to brute-force a name that takes another stack's state.
	return text + "-" + hex.EncodeToString(sum[:16])
}

// LegacySlug is how trueup named directories before names had to be injective: every byte outside
// [A-Za-z0-9._-] becomes '_', and "." alone becomes "_root". Different names can share one; it is
// kept to find and move what older versions wrote.
func LegacySlug(name string) string {
	if name == "." || name == "" {
		return "_root"
	}
	var b strings.Builder
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '-':
			b.WriteByte(c)
		default:
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == ".." || s == "." {
		return "_" + s
	}
	return s
}

// RemediateMode says what a drift check does with what it finds.
type RemediateMode string

// Remediation modes.
const (
	RemediateAuto  RemediateMode = "auto"  // apply the checked plan unless a guardrail holds it
	RemediateAlert RemediateMode = "alert" // only alert
	RemediateOff   RemediateMode = "off"   // do not check
)

// DriftPolicy is how a stack's drift is checked and corrected.
type DriftPolicy struct {
	Interval     time.Duration
	Remediate    RemediateMode
	AllowDestroy bool
	// MaxChanges holds a correction with more resource changes than this; 0 means no limit.
	MaxChanges int
}

// DriftOverride is a per-stack override of DriftPolicy; nil fields keep the default.
type DriftOverride struct {
	Interval     *time.Duration
	Remediate    *RemediateMode
	AllowDestroy *bool
	MaxChanges   *int
}

// Apply returns p with o's set fields replacing p's.
func (o DriftOverride) Apply(p DriftPolicy) DriftPolicy {
	if o.Interval != nil {
		p.Interval = *o.Interval
	}
	if o.Remediate != nil {
		p.Remediate = *o.Remediate
	}
	if o.AllowDestroy != nil {
		p.AllowDestroy = *o.AllowDestroy
	}
	if o.MaxChanges != nil {
		p.MaxChanges = *o.MaxChanges
	}
	return p
}
