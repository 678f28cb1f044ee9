package terraform

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// seedEntries are what a seed's TF data dir holds that a new one may start from: the installed
// modules (and modules.json), the providers (symlinks into the cache or a mirror, or installed
// packages), the backend configuration and the selected workspace. Nothing else is copied: plan
// files and state never live there, and anything else is not needed to skip init.
var seedEntries = []string{"modules", "providers", "terraform.tfstate", "environment"}

// seedFrom makes this job's TF data dir a copy of spec.SeedDataDir's when the seed was initialised
// with the fingerprint fp (the same init inputs as this run), and records fp, so that init is
// skipped. It reports whether it did. Any problem just means init runs: the copy is built beside
// the data dir and only renamed into place when complete, and it is discarded when the seed's
// fingerprint changed while it was copied (a run of the seed's stack re-initialised it meanwhile).
func (j *job) seedFrom(ctx context.Context, fp, fpPath string) bool {
	seed := j.spec.SeedDataDir
	if seed == "" || filepath.Clean(seed) == filepath.Clean(j.spec.DataDir) {
		return false
	}
	seedFP := filepath.Join(seed, fingerprintFile)
	before, err := readSmallFile(seedFP)
	if err != nil || string(before) != fp {
		return false
	}
	src := filepath.Join(seed, "tfdata")
	tmp, err := os.MkdirTemp(j.spec.DataDir, ".seed-")
	if err != nil {
		j.r.log.WarnContext(ctx, "seed terraform data dir", "stack", j.spec.Stack.Name, "err", err)
		return false
	}
	err = copySeed(src, tmp)
	if err == nil {
		err = rebaseModules(filepath.Join(tmp, "modules", "modules.json"), src, j.dataDir)
	}
	if err == nil {
		if after, rerr := readSmallFile(seedFP); rerr != nil || string(after) != string(before) {
			err = errors.New("the seed was re-initialised while it was copied")
		}
	}
	if err == nil {
		if err = os.RemoveAll(j.dataDir); err == nil {
			err = os.Rename(tmp, j.dataDir)
		}
	}
	if err == nil {
		err = os.WriteFile(fpPath, []byte(fp), 0o644)
	}
	if err != nil {
		_ = os.RemoveAll(tmp)
		j.r.log.WarnContext(ctx, "seed terraform data dir", "stack", j.spec.Stack.Name, "seed", seed, "err", err)
		return false
	}
	j.r.seeds.Add(1)
	j.r.log.DebugContext(ctx, "terraform data dir seeded", "stack", j.spec.Stack.Name, "seed", seed)
	return true
}

// copySeed copies the seedEntries of the TF data dir src into dst: directories and regular files
// (with their permissions) are copied, symlinks stay symlinks to the same target, anything else
// is left out. Nothing is shared with src: the new data dir may belong to untrusted code.
func copySeed(src, dst string) error {
	for _, name := range seedEntries {
		from := filepath.Join(src, name)
		if _, err := os.Lstat(from); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		err := filepath.WalkDir(from, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			to := filepath.Join(dst, rel)
			switch {
			case d.Type()&fs.ModeSymlink != 0:
				target, err := os.Readlink(p)
				if err != nil {
					return err
				}
				return os.Symlink(target, to)
			case d.IsDir():
				return os.MkdirAll(to, 0o755)
			case d.Type().IsRegular():
				fi, err := d.Info()
				if err != nil {
					return err
				}
				return copyFileMode(p, to, fi.Mode().Perm())
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("copy %s: %w", name, err)
		}
	}
	return nil
}

// rebaseModules rewrites the module directories recorded in modules.json (at path, when it exists)
// that lie in the seed's data dir (from) to the same place in the new one (to): Terraform records
// remote modules' directories under TF_DATA_DIR, an absolute path.
func rebaseModules(path, from, to string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var manifest map[string]any
	if err := json.Unmarshal(b, &manifest); err != nil {
		return fmt.Errorf("modules.json: %w", err)
	}
	mods, _ := manifest["Modules"].([]any)
	prefix := filepath.ToSlash(from) + "/"
	changed := false
	for _, m := range mods {
		rec, ok := m.(map[string]any)
		if !ok {
			continue
		}
		if dir, ok := rec["Dir"].(string); ok && strings.HasPrefix(dir, prefix) {
			rec["Dir"] = filepath.ToSlash(to) + "/" + strings.TrimPrefix(dir, prefix)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	out, err := json.Marshal(manifest)
	if err != nil {
		return err
	}
	return os.WriteFile(path, out, 0o644)
}
