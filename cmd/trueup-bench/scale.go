package main

import (
	"context"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"testing/fstest"
	"time"

	"github.com/trueup/trueup/reconciler/layout"
)

// Scale is trueup on a big repository (issue 12): 2,000 stacks. LayoutMS is the load of its layout
// after main moved (one stack changed), as the daemon does it on every move: with the parse cache of
// its loader. ColdLayoutMS is the first load, at start. RSSMB is the RSS of the daemon following
// 2,000 stacks with PRs open pull requests after a drift sweep, and MergeOverheadMS a merge's apply
// beyond Terraform on that daemon (benchScaleDaemon).
type Scale struct {
	Stacks          int     `json:"stacks"`
	PRs             int     `json:"prs"`
	LayoutMS        float64 `json:"layout_ms"`
	ColdLayoutMS    float64 `json:"cold_layout_ms"`
	RSSMB           float64 `json:"rss_mb"`
	MergeOverheadMS float64 `json:"merge_overhead_ms"`
}

// benchScale loads the layout of a 2,000-stack repository, in process, cold and then after a
// change to one stack, reps times each, and reports the medians; then it runs the 2,000-stack
// daemon (benchScaleDaemon).
func benchScale(ctx context.Context, e *env, reps int, res *Results) error {
	in := infra{Stacks: 2000, Resources: 1, ViaMid: fanoutViaMid, Direct: fanoutDirect, OutDir: "/tmp/trueup-bench-scale"}
	files := in.Files()
	var cold, warm []float64
	for i := range max(reps, 3) {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		load := layout.Loader(layout.Options{})
		start := time.Now()
		l, err := load(newIndexedFS(files))
		if err != nil {
			return err
		}
		cold = append(cold, ms(time.Since(start)))
		res.Scale.Stacks = len(l.Stacks)
		files[stackName(i)+"/main.tf"] = in.Stack(i, fmt.Sprint("v", i+2)) // main moved: one stack changed
		moved := newIndexedFS(files)
		start = time.Now()
		if _, err := load(moved); err != nil {
			return err
		}
		warm = append(warm, ms(time.Since(start)))
	}
	res.Scale.LayoutMS, res.Scale.ColdLayoutMS = median(warm), median(cold)
	res.note("scale", map[string][]float64{"layout_ms": warm, "cold_layout_ms": cold})
	e.logf("scale: layout of %d stacks %.1f ms after a move of main, %.1f ms cold (medians of %d)",
		res.Scale.Stacks, res.Scale.LayoutMS, res.Scale.ColdLayoutMS, len(warm))
	return benchScaleDaemon(ctx, e, reps, res)
}

// indexedFS is a MapFS whose directories are listed from an index, as git's tree FS lists them
// (fstest.MapFS scans every file for each listing, which would time the map, not the layout).
type indexedFS struct {
	fstest.MapFS
	dirs map[string][]fs.DirEntry
}

func newIndexedFS(files map[string]string) indexedFS {
	m := fstest.MapFS{}
	for p, c := range files {
		m[p] = &fstest.MapFile{Data: []byte(c)}
	}
	children := map[string]map[string]bool{}
	ix := indexedFS{MapFS: m, dirs: map[string][]fs.DirEntry{}}
	for p := range files {
		child := p
		for dir := path.Dir(p); ; dir = path.Dir(dir) {
			if children[dir] == nil {
				children[dir] = map[string]bool{}
			}
			children[dir][path.Base(child)] = true
			if dir == "." {
				break
			}
			child = dir
		}
	}
	for dir, names := range children {
		sorted := make([]string, 0, len(names))
		for n := range names {
			sorted = append(sorted, n)
		}
		slices.Sort(sorted)
		for _, n := range sorted {
			full := path.Join(dir, n)
			info, err := fs.Stat(m, full)
			if err == nil {
				ix.dirs[dir] = append(ix.dirs[dir], fs.FileInfoToDirEntry(info))
			}
		}
	}
	return ix
}

// ReadDir lists a directory from the index.
func (f indexedFS) ReadDir(name string) ([]fs.DirEntry, error) {
	if entries, ok := f.dirs[name]; ok {
		return entries, nil
	}
	return f.MapFS.ReadDir(name)
}
