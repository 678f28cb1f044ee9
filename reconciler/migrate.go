package reconciler

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
)

// dataDirVersion is written to DataDir/layout.version once the data dir uses injective names
// (Slug). Older data dirs named directories with LegacySlug.
const (
	dataDirVersionFile = "layout.version"
	dataDirVersion     = "2"
)

// migrateDataDir brings a data dir written by an older trueup up to date. Workdirs and Terraform
// data dirs (work/, tfdata/) are caches of checkouts and inits named the old way: they are removed,
// and made again by the next runs. (The store's own records, such as plan records keyed the old way,
// are its business: boltstore re-keys them when it opens.)
//
// Local state is moved stack by stack once the stacks are known: the first layout of main after
// the upgrade (moveLegacyState), which then writes the version marker. Until the marker is
// written, every start does this again; each step is idempotent.
func (r *Reconciler) migrateDataDir() {
	marker := filepath.Join(r.opts.DataDir, dataDirVersionFile)
	if b, err := os.ReadFile(marker); err == nil && strings.TrimSpace(string(b)) == dataDirVersion {
		return
	}
	for _, dir := range []string{"work", "tfdata"} {
		if err := removeTree(filepath.Join(r.opts.DataDir, dir)); err != nil {
			r.log.Error("upgrade data dir: remove old workdirs", "dir", dir, "err", err)
			return
		}
	}
	r.legacyState.Store(true)
}

// moveLegacyState moves each stack's local state from where an older trueup kept it
// (state/<LegacySlug>) to its own directory (state/<Slug>), once. When several stacks of the layout
// had the same old directory, they shared one state and nobody can tell whose it is: it is left
// where it is, and the error says so.
func (r *Reconciler) moveLegacyState(layout *Layout) {
	if !r.legacyState.Load() {
		return // only during an upgrade: a later commit must never be handed a directory it did not own
	}
	defer r.finishUpgrade()
	owners := map[string][]string{}
	current := map[string]bool{}
	for _, s := range layout.Stacks {
		owners[LegacySlug(s.Name)] = append(owners[LegacySlug(s.Name)], s.Name)
		current[s.Slug()] = true
	}
	for old, names := range owners {
		if current[old] {
			continue // a stack's own directory under the new names, never an old one
		}
		from := filepath.Join(r.opts.DataDir, "state", old)
		if fi, err := os.Lstat(from); err != nil || !fi.IsDir() {
			continue
		}
		if len(names) > 1 {
			r.log.Error("local state kept by an older trueup is shared by several stacks; not moved: move it by hand into the stack it belongs to",
				"dir", from, "stacks", strings.Join(names, ", "))
			continue
		}
		to := r.stateDir(names[0])
		if _, err := os.Lstat(to); err == nil || !errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err := os.Rename(from, to); err != nil {
			r.log.Error("move local state to its new directory", "stack", names[0], "from", from, "to", to, "err", err)
			continue
		}
		r.log.Info("moved local state to its new directory", "stack", names[0], "from", from, "to", to)
	}
}

// finishUpgrade writes the version marker once the state has been moved.
func (r *Reconciler) finishUpgrade() {
	marker := filepath.Join(r.opts.DataDir, dataDirVersionFile)
	if err := os.WriteFile(marker, []byte(dataDirVersion+"\n"), 0o600); err != nil {
		r.log.Error("upgrade data dir", "err", err)
		return
	}
	r.legacyState.Store(false)
	r.log.Info("data dir upgraded to injective names; old workdirs removed", "version", dataDirVersion)
}
