package git

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"

	"github.com/go-git/go-git/v5/plumbing/filemode"

	"github.com/trueup/trueup/reconciler"
)

// manifestName is the file in a checkout directory recording what Checkout wrote there.
const manifestName = ".trueup-checkout.json"

// manifest is what Checkout wrote in a directory: every file, by slash-separated path.
type manifest struct {
	Revision reconciler.Revision      `json:"revision"`
	Files    map[string]manifestEntry `json:"files"`
}

// manifestEntry is one written file. An empty Hash means "state unknown" (a Checkout was
// interrupted while writing it): the file is rewritten, or deleted, by the next Checkout.
type manifestEntry struct {
	Hash  string `json:"hash"`
	Mode  uint32 `json:"mode"`
	Size  int64  `json:"size"`
	MTime int64  `json:"mtime_ns"`
}

func entryFor(t tracked, info fs.FileInfo) manifestEntry {
	return manifestEntry{Hash: t.hash.String(), Mode: uint32(t.mode), Size: info.Size(), MTime: info.ModTime().UnixNano()}
}

// unchanged reports whether the file at p is already what t asks for: same blob and mode as
// recorded, and still the size, time and type Checkout left on disk (someone may have edited it).
func (mf manifest) unchanged(root *os.Root, p string, t tracked) bool {
	e, ok := mf.Files[p]
	if !ok || e.Hash == "" || e.Hash != t.hash.String() || e.Mode != uint32(t.mode) {
		return false
	}
	info, err := root.Lstat(filepath.FromSlash(p))
	if err != nil {
		return false
	}
	isLink := info.Mode()&fs.ModeSymlink != 0
	if isLink != (t.mode == filemode.Symlink) || !isLink && !info.Mode().IsRegular() {
		return false
	}
	return info.Size() == e.Size && info.ModTime().UnixNano() == e.MTime
}

func (mf manifest) clone() manifest {
	return manifest{Revision: mf.Revision, Files: maps.Clone(mf.Files)}
}

// readManifest returns the manifest in root, or an empty one when there is none (a fresh
// directory) or it cannot be read (then every tracked file is rewritten, nothing is deleted).
func readManifest(root *os.Root) manifest {
	mf := manifest{Files: map[string]manifestEntry{}}
	data, err := root.ReadFile(manifestName)
	if err != nil {
		return mf
	}
	if json.Unmarshal(data, &mf) != nil || mf.Files == nil {
		return manifest{Files: map[string]manifestEntry{}}
	}
	return mf
}

// writeManifest replaces the manifest atomically and durably: it is what makes an interrupted
// Checkout recoverable.
func writeManifest(root *os.Root, mf manifest) error {
	data, err := json.Marshal(mf)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	tmp := manifestName + ".tmp-" + randomSuffix()
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(tmp, manifestName)
	}
	if err != nil {
		_ = root.Remove(tmp)
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}
