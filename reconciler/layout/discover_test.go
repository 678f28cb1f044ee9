package layout

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadDiscovers(t *testing.T) {
	tests := []struct {
		name     string
		files    map[string]string
		modules  map[string][]string // stack name -> ModuleDirs; also fixes the set of stacks
		warnings []string            // substrings, one per warning, in order
	}{
		{
			name: "shared module, nested modules, module-only dirs, hidden dirs",
			files: map[string]string{
				"README.md":                               "# infra",
				"stacks/app/main.tf":                      module("../../modules/a"),
				"stacks/app/prod.tfvars":                  "x = 1",
				"stacks/db/main.tf":                       module("../../modules/a", "../../modules/c", "git::https://example.com/m.git", "hashicorp/consul/aws"),
				"stacks/db/files/init.sql":                "select 1;",
				"modules/a/main.tf":                       module("../b"),
				"modules/b/main.tf":                       module(),
				"modules/c/main.tf.json":                  `{"resource": {"terraform_data": {"x": {}}}}`,
				".github/workflows/x/main.tf":             module(),
				"stacks/app/.terraform/modules/a/main.tf": module(),
			},
			modules: map[string][]string{
				"stacks/app": {"modules/a", "modules/b"},
				"stacks/db":  {"modules/a", "modules/b", "modules/c"},
			},
		},
		{
			name: "root stack and an unused module",
			files: map[string]string{
				"main.tf":             module("./modules/net"),
				"modules/net/main.tf": module("../dns"),
				"modules/dns/main.tf": module(),
				"modules/old/main.tf": module(),
			},
			modules: map[string][]string{
				".":           {"modules/dns", "modules/net"},
				"modules/old": nil,
			},
		},
		{
			name: "invalid HCL is still a stack, with a warning",
			files: map[string]string{
				"stacks/bad/main.tf":  "resource \"x\" {\n",
				"stacks/good/main.tf": module("../../modules/a"),
				"modules/a/main.tf":   module(),
			},
			modules: map[string][]string{
				"stacks/bad":  nil,
				"stacks/good": {"modules/a"},
			},
			warnings: []string{"stacks/bad/main.tf:1: invalid Terraform configuration"},
		},
		{
			name: "calls that leave the repository or name a missing directory",
			files: map[string]string{
				"stacks/app/main.tf": module("../../../outside", "../../modules/missing"),
			},
			modules: map[string][]string{
				"stacks/app": {"modules/missing"},
			},
			warnings: []string{
				`stacks/app: module "ma": source "../../../outside" leads out of the repository; ignored`,
				`stacks/app: module "mb": source "../../modules/missing": directory modules/missing does not exist`,
			},
		},
		{
			name: "a module cycle does not loop",
			files: map[string]string{
				"stacks/app/main.tf": module("../../modules/a"),
				"modules/a/main.tf":  module("../b"),
				"modules/b/main.tf":  module("../a", "./"),
			},
			modules: map[string][]string{
				"stacks/app": {"modules/a", "modules/b"},
			},
		},
		{
			name: "a module through a symlink inside the repository; one escaping is ignored",
			files: map[string]string{
				"stacks/app/main.tf":   module("../../modules/current", "../../modules/evil"),
				"modules/v2/main.tf":   module(),
				"modules/current":      "->v2",
				"modules/evil":         "->../../etc",
				"modules/v1/main.tf":   module(),
				"modules/v1/README.md": "old",
			},
			modules: map[string][]string{
				"stacks/app": {"modules/v2"},
				"modules/v1": nil,
			},
			warnings: []string{`stacks/app: module "mb": source "../../modules/evil": modules/evil leads out of the repository through symlink modules/evil -> ../../etc; ignored`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Load(repo(tt.files))
			require.NoError(t, err)
			assert.False(t, l.Configured)
			got := map[string][]string{}
			for _, s := range l.Stacks {
				assert.Equal(t, "default", s.Workspace)
				assert.Equal(t, s.Dir, s.Name)
				got[s.Name] = s.ModuleDirs
			}
			assert.Equal(t, tt.modules, got)
			assert.Equal(t, tt.modules, l.ModuleGraph())
			require.Len(t, l.Warnings, len(tt.warnings), "warnings: %q", l.Warnings)
			for i, w := range tt.warnings {
				assert.Contains(t, l.Warnings[i], w)
			}
		})
	}
}

func TestLoadEmptyRepository(t *testing.T) {
	l, err := Load(repo(map[string]string{"README.md": "nothing here"}))
	require.NoError(t, err)
	assert.Empty(t, l.Stacks)
	assert.Empty(t, l.Affected([]string{"README.md"}))
}
