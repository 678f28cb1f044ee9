package layout

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
)

// isTerraformFile reports whether a file name is one Terraform loads (and tfconfig parses):
// *.tf or *.tf.json, not hidden and not an editor's backup.
func isTerraformFile(name string) bool {
	if strings.HasPrefix(name, ".") || strings.HasSuffix(name, "~") ||
		(strings.HasPrefix(name, "#") && strings.HasSuffix(name, "#")) {
		return false
	}
	return strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")
}

// hasTerraformFiles reports whether dir directly holds Terraform files.
func hasTerraformFiles(fsys fs.FS, dir string) (bool, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return false, fmt.Errorf("read %s: %w", dir, err)
	}
	for _, e := range entries {
		if !e.IsDir() && isTerraformFile(e.Name()) {
			return true, nil
		}
	}
	return false, nil
}

// terraformDirs walks the repository and returns every directory that directly holds Terraform
// files, sorted. Hidden directories (".git", ".terraform", ".github"...) are skipped and
// symlinked directories are not followed, so every directory is seen once, by its real path.
func terraformDirs(fsys fs.FS) ([]string, error) {
	var dirs []string
	var walk func(dir string) error
	walk = func(dir string) error {
		entries, err := fs.ReadDir(fsys, dir)
		if err != nil {
			return fmt.Errorf("read %s: %w", dir, err)
		}
		hasTF := false
		for _, e := range entries {
			name := e.Name()
			switch {
			case e.IsDir():
				if strings.HasPrefix(name, ".") {
					continue
				}
				if err := walk(path.Join(dir, name)); err != nil {
					return err
				}
			case isTerraformFile(name):
				hasTF = true
			}
		}
		if hasTF {
			dirs = append(dirs, dir)
		}
		return nil
	}
	if err := walk("."); err != nil {
		return nil, err
	}
	sort.Strings(dirs)
	return dirs, nil
}

// discover returns the real directories of the stacks: every Terraform directory that no other
// Terraform directory calls as a local module.
func discover(fsys fs.FS, g *graph) ([]string, error) {
	dirs, err := terraformDirs(fsys)
	if err != nil {
		return nil, err
	}
	called := map[string]bool{}
	for _, dir := range dirs {
		for _, src := range g.module(dir).sources {
			_, real, ok := g.call(dir, src)
			if ok && real != "" && real != dir {
				called[real] = true
			}
		}
	}
	var stacks []string
	for _, dir := range dirs {
		if !called[dir] {
			stacks = append(stacks, dir)
		}
	}
	return stacks, nil
}
