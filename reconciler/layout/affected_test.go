package layout

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/trueup/trueup/reconciler"
)

func affectedRepo(t *testing.T) *Layout {
	t.Helper()
	config := `stacks:
  - dir: stacks/app
    when_modified: ["../../shared/*.json", "../../shared/**/*.yaml", "../../docs"]
    var_files: [../../env/prod.tfvars]
  - dir: stacks/app
    workspace: staging
  - dir: stacks/app/nested
  - dir: stacks/db
`
	l, err := Load(repo(map[string]string{
		".trueup.yaml":                config,
		"README.md":                   "# infra",
		"stacks/app/main.tf":          module("../../modules/a"),
		"stacks/app/templates/x.tpl":  "x",
		"stacks/app/nested/main.tf":   module(),
		"stacks/db/main.tf":           module("../../modules/c"),
		"stacks/dbx/README.md":        "not a stack",
		"modules/a/main.tf":           module("../b"),
		"modules/a/files/policy.json": "{}",
		"modules/b/main.tf":           module(),
		"modules/c/main.tf":           module(),
		"env/prod.tfvars":             "x = 1",
	}))
	require.NoError(t, err)
	require.Equal(t, []string{"stacks/app", "stacks/app/nested", "stacks/app@staging", "stacks/db"}, l.Names())
	return l
}

func TestAffected(t *testing.T) {
	l := affectedRepo(t)
	app := []string{"stacks/app", "stacks/app@staging"}
	tests := []struct {
		name    string
		changed []string
		want    []string
	}{
		{"stack file", []string{"stacks/app/main.tf"}, app},
		{"file in a plain subdirectory of the stack", []string{"stacks/app/templates/x.tpl"}, app},
		{"the stack directory itself (a symlink replaced)", []string{"stacks/app"}, app},
		{"module file", []string{"modules/a/main.tf"}, app},
		{"transitive module file", []string{"modules/b/main.tf"}, app},
		{"file below a module", []string{"modules/a/files/policy.json"}, app},
		{"other stack's module", []string{"modules/c/main.tf"}, []string{"stacks/db"}},
		{"nested stack belongs to itself only", []string{"stacks/app/nested/main.tf"}, []string{"stacks/app/nested"}},
		{"README at the root", []string{"README.md"}, nil},
		{"unrelated file", []string{"tools/lint.sh"}, nil},
		{"directory whose name extends a stack's", []string{"stacks/dbx/README.md"}, nil},
		{"when_modified glob", []string{"shared/tags.json"}, []string{"stacks/app"}},
		{"when_modified glob is one level", []string{"shared/sub/tags.json"}, nil},
		{"when_modified ** glob", []string{"shared/a/b/c.yaml"}, []string{"stacks/app"}},
		{"when_modified ** matches zero directories", []string{"shared/c.yaml"}, []string{"stacks/app"}},
		{"when_modified directory covers what it holds", []string{"docs/guide/intro.md"}, []string{"stacks/app"}},
		{"var file", []string{"env/prod.tfvars"}, []string{"stacks/app"}},
		{"other var file", []string{"env/dev.tfvars"}, nil},
		{".trueup.yaml alone", []string{".trueup.yaml"}, nil},
		{"several changes", []string{"README.md", "modules/c/x.tf", "modules/b/y.tf"}, []string{"stacks/app", "stacks/app@staging", "stacks/db"}},
		{"paths are cleaned", []string{"./stacks/db/../db/main.tf"}, []string{"stacks/db"}},
		{"paths outside the repository and empty paths", []string{"../stacks/db/main.tf", "", "/etc/passwd"}, nil},
		{"nothing changed", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, l.Affected(tt.changed))
			for _, s := range l.Stacks {
				assert.Equal(t, slices.Contains(tt.want, s.Name), l.AffectedStack(s, tt.changed), "AffectedStack(%s)", s.Name)
			}
		})
	}
}

func TestAffectedRootStack(t *testing.T) {
	l, err := New([]reconciler.Stack{
		{Dir: ".", Workspace: "default"},
		{Dir: "stacks/app", ModuleDirs: []string{"modules/a"}},
	})
	require.NoError(t, err)
	tests := []struct {
		changed string
		want    []string
	}{
		{"README.md", []string{"."}},
		{"main.tf", []string{"."}},
		{"scripts/x.sh", []string{"."}},
		{"stacks/app/main.tf", []string{"stacks/app"}},
		{"modules/a/main.tf", []string{"stacks/app"}},
		{".trueup.yaml", nil},
	}
	for _, tt := range tests {
		t.Run(tt.changed, func(t *testing.T) {
			assert.Equal(t, tt.want, l.Affected([]string{tt.changed}))
		})
	}
}

func TestAffectedThroughSymlinks(t *testing.T) {
	l, err := Load(repo(map[string]string{
		".trueup.yaml":       "stacks:\n  - dir: live/prod\n",
		"live/prod":          "->../envs/prod",
		"envs/prod/main.tf":  module("../../modules/current"),
		"modules/current":    "->v2",
		"modules/v2/main.tf": module(),
		"modules/v1/main.tf": module(),
	}))
	require.NoError(t, err)
	s, ok := l.Stack("live/prod")
	require.True(t, ok)
	assert.Equal(t, []string{"modules/v2"}, s.ModuleDirs)
	for changed, want := range map[string]bool{
		"envs/prod/main.tf":  true, // the real directory
		"live/prod":          true, // the link itself
		"modules/v2/main.tf": true, // the module's real directory
		"modules/current":    true, // the module link, repointed
		"modules/v1/main.tf": false,
	} {
		assert.Equal(t, want, l.AffectedStack(s, []string{changed}), changed)
		assert.Equal(t, want, len(l.Affected([]string{changed})) == 1, changed)
	}
}

func TestAffectedStackNotInLayout(t *testing.T) {
	l := affectedRepo(t)
	// A stack the layout does not list is judged by its own dirs, against everyone else's roots.
	s := reconciler.Stack{Name: "stacks/new", Dir: "stacks/new", ModuleDirs: []string{"modules/c"}, WhenModified: []string{"../../README.md"}}
	assert.True(t, l.AffectedStack(s, []string{"stacks/new/main.tf"}))
	assert.True(t, l.AffectedStack(s, []string{"modules/c/main.tf"}))
	assert.True(t, l.AffectedStack(s, []string{"README.md"}))
	assert.False(t, l.AffectedStack(s, []string{"stacks/app/main.tf"}))
	assert.False(t, l.AffectedStack(s, []string{"modules/a/main.tf"}))
}

func TestNewRejectsBadPatterns(t *testing.T) {
	_, err := New([]reconciler.Stack{{Dir: "a", WhenModified: []string{"../../x"}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `stack a: when_modified: "../../x" leads out of the repository`)
	_, err = New([]reconciler.Stack{{Dir: "a"}, {Dir: "a/", Workspace: "default"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "stack a: listed twice")
}

func TestMatchSegments(t *testing.T) {
	tests := []struct {
		pattern, path string
		want          bool
	}{
		{"a/*.tf", "a/main.tf", true},
		{"a/*.tf", "a/b/main.tf", false},
		{"a/*.tf", "b/main.tf", false},
		{"a/**/*.tf", "a/main.tf", true},
		{"a/**/*.tf", "a/b/c/main.tf", true},
		{"a/**/*.tf", "a/b/c/main.json", false},
		{"a/**", "a/b/c", true},
		{"**", "anything/at/all", true},
		{"**/*.tf", "x.tf", true},
		{"a/b", "a/b/c/d.tf", true},
		{"a/b", "a/bc", false},
		{"a/?.tf", "a/x.tf", true},
		{"a/[xy].tf", "a/z.tf", false},
		{"a/**/b/**/c", "a/b/c", true},
		{"a/**/b/**/c", "a/x/b/y/z/c", true},
		{"a/**/b/**/c", "a/x/y/c", false},
	}
	for _, tt := range tests {
		t.Run(tt.pattern+" "+tt.path, func(t *testing.T) {
			got := matchSegments(strings.Split(tt.pattern, "/"), strings.Split(tt.path, "/"))
			assert.Equal(t, tt.want, got)
		})
	}
}
