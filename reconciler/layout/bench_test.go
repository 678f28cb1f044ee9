package layout

import (
	"fmt"
	"testing"
	"testing/fstest"
)

// benchRepo is 100 stacks calling 20 modules (two each; every fifth module calls the next).
func benchRepo() fstest.MapFS {
	files := map[string]string{"README.md": "# bench"}
	for m := range 20 {
		var calls []string
		if m%5 == 0 && m+1 < 20 {
			calls = append(calls, fmt.Sprintf("../m%02d", m+1))
		}
		files[fmt.Sprintf("modules/m%02d/main.tf", m)] = module(calls...)
		files[fmt.Sprintf("modules/m%02d/variables.tf", m)] = "variable \"name\" {}\n"
	}
	for s := range 100 {
		dir := fmt.Sprintf("stacks/team%d/s%03d", s%10, s)
		files[dir+"/main.tf"] = module(fmt.Sprintf("../../../modules/m%02d", s%20), fmt.Sprintf("../../../modules/m%02d", (s+7)%20))
		files[dir+"/backend.tf"] = "terraform {\n  backend \"local\" {}\n}\n"
		files[dir+"/prod.tfvars"] = "name = \"x\"\n"
	}
	return repo(files)
}

func BenchmarkLoad(b *testing.B) {
	fsys := benchRepo()
	for b.Loop() {
		l, err := Load(fsys)
		if err != nil || len(l.Stacks) != 100 {
			b.Fatalf("Load: %d stacks, %v", len(l.Stacks), err)
		}
	}
}

func BenchmarkAffected(b *testing.B) {
	l, err := Load(benchRepo())
	if err != nil {
		b.Fatal(err)
	}
	changed := []string{"README.md", "modules/m03/main.tf", "modules/m05/variables.tf", "docs/x.md"}
	for s := range 200 {
		changed = append(changed, fmt.Sprintf("stacks/team%d/s%03d/main.tf", s%10, s%150))
	}
	for b.Loop() {
		if len(l.Affected(changed)) == 0 {
			b.Fatal("nothing affected")
		}
	}
}
