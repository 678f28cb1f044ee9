package layout

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"path"
	"strings"
	"sync"
)

// maxCachedModules bounds the parsed directories a ModuleCache keeps; past it, it starts over.
const maxCachedModules = 50_000

// ModuleCache keeps what was parsed of Terraform directories across loads, keyed by the directory
// and its content, so a repository whose main moved re-parses only the directories that changed.
// It is safe for concurrent use. The zero value is ready.
type ModuleCache struct {
	mu      sync.Mutex
	modules map[string]cachedModule
	misses  int // directories parsed, for tests
}

type cachedModule struct {
	info     *moduleInfo
	warnings []string
}

// dirHasher is an fs.FS that names a directory's content by a hash (git's tree FS).
type dirHasher interface {
	DirHash(dir string) (string, bool)
}

// key names dir's content: its tree hash when fsys knows it, else a hash of its Terraform files.
func (c *ModuleCache) key(fsys fs.FS, dir string) (string, bool) {
	if h, ok := fsys.(dirHasher); ok {
		if hash, ok := h.DirHash(dir); ok {
			return dir + "\x00tree:" + hash, true
		}
	}
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return "", false
	}
	sum := sha256.New()
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !(strings.HasSuffix(name, ".tf") || strings.HasSuffix(name, ".tf.json")) {
			continue
		}
		data, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			return "", false
		}
		sum.Write([]byte(name + "\x00"))
		sum.Write(data)
		sum.Write([]byte{0})
	}
	return dir + "\x00files:" + hex.EncodeToString(sum.Sum(nil)), true
}

func (c *ModuleCache) get(key string) (cachedModule, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m, ok := c.modules[key]
	return m, ok
}

func (c *ModuleCache) put(key string, m cachedModule) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.modules == nil || len(c.modules) >= maxCachedModules {
		c.modules = map[string]cachedModule{}
	}
	c.modules[key] = m
	c.misses++
}
