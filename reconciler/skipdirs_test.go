package reconciler

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSkipDirs(t *testing.T) {
	dirs := []string{"stacks/a", "stacks/b", "stacks/b/sub", "stacks/bb", "shared/stack", "envs", "envs/prod"}
	tests := []struct {
		name  string
		stack Stack
		want  []string
	}{
		{"other stacks are left out", Stack{Dir: "stacks/a"},
			[]string{"stacks/b", "stacks/b/sub", "stacks/bb", "shared/stack", "envs", "envs/prod"}},
		{"a stack nested in this one's directory is left out; a parent stack's directory is kept", Stack{Dir: "envs/prod"},
			[]string{"stacks/a", "stacks/b", "stacks/b/sub", "stacks/bb", "shared/stack"}},
		{"its parent's nested stack", Stack{Dir: "envs"},
			[]string{"stacks/a", "stacks/b", "stacks/b/sub", "stacks/bb", "shared/stack", "envs/prod"}},
		{"a module dir inside another stack keeps that stack's directory", Stack{Dir: "stacks/a", ModuleDirs: []string{"stacks/b/sub"}},
			[]string{"stacks/bb", "shared/stack", "envs", "envs/prod"}},
		{"a var file in another stack's directory", Stack{Dir: "stacks/a", VarFiles: []string{"../bb/common.tfvars"}},
			[]string{"stacks/b", "stacks/b/sub", "shared/stack", "envs", "envs/prod"}},
		{"when_modified keeps what it may match, above and below its literal part", Stack{Dir: "stacks/a", WhenModified: []string{"../b/**/*.json", "../../envs/*"}},
			[]string{"stacks/bb", "shared/stack"}},
		{"a stack at the root leaves out every other one", Stack{Dir: "."},
			[]string{"stacks/a", "stacks/b", "stacks/b/sub", "stacks/bb", "shared/stack", "envs", "envs/prod"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := append([]string{tt.stack.Dir}, dirs...)
			assert.Equal(t, tt.want, skipDirs(all, tt.stack))
		})
	}
	assert.Empty(t, skipDirs([]string{".", "stacks/a"}, Stack{Dir: "stacks/a"}), "a stack at the root is every stack's parent")
}

// Pull requests from one main have the same stacks: they share one slice of stack dirs rather than
// holding one each (2,000 dirs for each of 200 pull requests).
func TestTargetsWithTheSameStacksShareTheirDirs(t *testing.T) {
	p := &planner{targets: map[string]*target{}, stacks: map[string]targetStacks{}}
	planned := []Stack{{Name: "stacks/a", Dir: "stacks/a"}}
	p.follow(target{Name: "pr:1"}, targetStacks{planned: planned, dirs: []string{"stacks/a", "stacks/b"}})
	p.follow(target{Name: "pr:2"}, targetStacks{planned: planned, dirs: []string{"stacks/a", "stacks/b"}})
	p.follow(target{Name: "pr:3"}, targetStacks{planned: planned, dirs: []string{"stacks/a", "stacks/c"}})
	_, one, _ := p.followed("pr:1")
	_, two, _ := p.followed("pr:2")
	_, three, _ := p.followed("pr:3")
	assert.Same(t, &one.dirs[0], &two.dirs[0], "the same dirs are one slice")
	assert.Equal(t, []string{"stacks/a", "stacks/c"}, three.dirs)
}
