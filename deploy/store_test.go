package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// dsnEnv is the variable every two-replica deployment gives trueup the PostgreSQL DSN in.
const dsnEnv = "TRUEUP_DATABASE_URL"

// pgConfig is store.postgres of a trueup.yaml.
type pgConfig struct {
	DSNEnv       string `yaml:"dsn_env"`
	DSNSecretARN string `yaml:"dsn_secret_arn"`
	Schema       string `yaml:"schema"`
	LeaseTTL     string `yaml:"lease_ttl"`
}

type storeConfig struct {
	Postgres *pgConfig `yaml:"postgres"`
}

func parseStoreConfig(t *testing.T, data []byte, name string) storeConfig {
	t.Helper()
	var cfg struct {
		Store storeConfig `yaml:"store"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg), name)
	return cfg.Store
}

// trueupConfigs are the example trueup.yaml of every deployment that has one, by a name for messages.
func trueupConfigs(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for _, dir := range k8sDirs {
		objs, _ := k8sObjects(t, dir)
		var cm struct {
			Data map[string]string `yaml:"data"`
		}
		object(t, objs, "ConfigMap/trueup-config", &cm)
		require.Contains(t, cm.Data, "trueup.yaml", dir)
		out[dir+"/configmap.yaml"] = []byte(cm.Data["trueup.yaml"])
	}
	for _, dir := range ecsDirs {
		data, err := os.ReadFile(deployPath(t, dir, "trueup.example.yaml"))
		require.NoError(t, err)
		out[dir+"/trueup.example.yaml"] = data
	}
	return out
}

// yamlTags are the yaml keys of the named struct type's fields in a Go file of cmd/trueup.
func yamlTags(t *testing.T, file, typeName string) []string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "cmd", "trueup", file)
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	var tags []string
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || ts.Name.Name != typeName {
			return true
		}
		found = true
		st, ok := ts.Type.(*ast.StructType)
		require.True(t, ok, "%s is a struct", typeName)
		for _, field := range st.Fields.List {
			if field.Tag == nil {
				continue
			}
			tag, err := strconv.Unquote(field.Tag.Value)
			require.NoError(t, err)
			name, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
			if name != "" && name != "-" {
				tags = append(tags, name)
			}
		}
		return false
	})
	require.True(t, found, "type %s in %s", typeName, rel(t, path))
	sort.Strings(tags)
	return tags
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestStoreConfigKeys keeps the deployments' store sections to the keys cmd/trueup decodes (strictly: an
// unknown key stops trueup at start), and their values to what it accepts.
func TestStoreConfigKeys(t *testing.T) {
	storeKeys := yamlTags(t, "store_config.go", "StoreConfig")
	pgKeys := yamlTags(t, "store_config.go", "PostgresConfig")
	require.Contains(t, storeKeys, "postgres")
	for _, k := range []string{"dsn_env", "dsn_secret_arn", "schema", "lease_ttl"} {
		require.Contains(t, pgKeys, k, "cmd/trueup's PostgresConfig; update pgConfig here when it changes")
	}

	postgres := 0
	for name, data := range trueupConfigs(t) {
		var raw struct {
			Store map[string]any `yaml:"store"`
		}
		require.NoError(t, yaml.Unmarshal(data, &raw), name)
		if raw.Store == nil {
			continue
		}
		assert.Subset(t, storeKeys, keys(raw.Store), "%s: store keys", name)
		if pg, ok := raw.Store["postgres"].(map[string]any); ok {
			postgres++
			assert.Subset(t, pgKeys, keys(pg), "%s: store.postgres keys", name)
		}

		p := parseStoreConfig(t, data, name).Postgres
		require.NotNil(t, p, "%s: a store section is store.postgres", name)
		assert.True(t, (p.DSNEnv == "") != (p.DSNSecretARN == ""), "%s: exactly one of dsn_env and dsn_secret_arn", name)
		if p.Schema != "" {
			assert.Regexp(t, `^[a-z_][a-z0-9_]{0,39}$`, p.Schema, "%s: schema", name)
		}
		if p.LeaseTTL != "" {
			ttl, err := time.ParseDuration(p.LeaseTTL)
			require.NoError(t, err, "%s: lease_ttl", name)
			assert.True(t, ttl >= 3*time.Second && ttl <= 10*time.Minute, "%s: lease_ttl %s outside 3s..10m", name, ttl)
		}
	}
	assert.Equal(t, 2, postgres, "the two-replica configs (kubernetes-ha, aws-ecs-ha) have store.postgres")
}

// dsnLike is anything that looks like a PostgreSQL connection string or a part of one.
var dsnLike = regexp.MustCompile(`(?i)postgres(ql)?://|\bsslmode=|\bpassword=|\bhost=\S+\s+\S+=`)

// TestConfigsNeverHoldTheDSN: the DSN is a secret. A config names the variable that holds it (dsn_env: the one
// every two-replica deployment provides), never the value, anywhere in the file.
func TestConfigsNeverHoldTheDSN(t *testing.T) {
	for name, data := range trueupConfigs(t) {
		var root yaml.Node
		require.NoError(t, yaml.Unmarshal(data, &root), name)
		var walk func(n *yaml.Node)
		walk = func(n *yaml.Node) {
			if n.Kind == yaml.ScalarNode {
				assert.NotRegexp(t, dsnLike, n.Value, "%s line %d: a connection string in the config", name, n.Line)
			}
			for _, c := range n.Content {
				walk(c)
			}
		}
		walk(&root)

		if p := parseStoreConfig(t, data, name).Postgres; p != nil {
			assert.Equal(t, dsnEnv, p.DSNEnv, "%s: store.postgres.dsn_env", name)
			assert.Empty(t, p.DSNSecretARN, "%s: the deployment injects the DSN as %s", name, dsnEnv)
		}
	}
}

// postgresURL matches a PostgreSQL URL with a password; the password is group 1.
var postgresURL = regexp.MustCompile(`postgres(?:ql)?://[^:/\s"'<>]+:([^@\s"'<>]+)@`)

// TestNoDatabasePasswordInDeployFiles: URLs in the deployment files carry placeholders, never a password.
func TestNoDatabasePasswordInDeployFiles(t *testing.T) {
	placeholders := map[string]bool{"PASSWORD": true, "%s": true, "…": true}
	n := 0
	for _, path := range deployFiles(t, "") {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		for _, m := range postgresURL.FindAllStringSubmatch(string(data), -1) {
			n++
			assert.True(t, placeholders[m[1]], "%s: a password in %q", rel(t, path), m[0])
		}
	}
	assert.NotZero(t, n, "the examples show the DSN's form")
}
