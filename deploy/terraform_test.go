package deploy_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/gocty"
	"go.yaml.in/yaml/v3"
)

// tfModule is the top-level blocks of one directory's .tf files, and an evaluation context holding the
// module's literal locals (local.port, ...), so invariants may be written through a named local.
type tfModule struct {
	blocks []*hclsyntax.Block
	ctx    *hcl.EvalContext
}

// parseTF parses one .tf file and fails the test on any diagnostic.
func parseTF(t *testing.T, p *hclparse.Parser, path string) *hclsyntax.Body {
	t.Helper()
	f, diags := p.ParseHCLFile(path)
	require.False(t, diags.HasErrors() || len(diags) > 0, "%s: %s", rel(t, path), diags.Error())
	body, ok := f.Body.(*hclsyntax.Body)
	require.True(t, ok, "%s: not HCL native syntax", rel(t, path))
	return body
}

func loadModule(t *testing.T, dir string) *tfModule {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.tf"))
	require.NoError(t, err)
	require.NotEmpty(t, paths, "no .tf files in %s", rel(t, dir))
	p := hclparse.NewParser()
	m := &tfModule{}
	locals := map[string]cty.Value{}
	for _, path := range paths {
		for _, b := range parseTF(t, p, path).Blocks {
			m.blocks = append(m.blocks, b)
			if b.Type != "locals" {
				continue
			}
			for name, attr := range b.Body.Attributes {
				if v, diags := attr.Expr.Value(nil); !diags.HasErrors() && v.IsWhollyKnown() {
					locals[name] = v
				}
			}
		}
	}
	m.ctx = &hcl.EvalContext{Variables: map[string]cty.Value{"local": cty.ObjectVal(locals)}}
	return m
}

// all returns the top-level blocks of a type ("resource", "data") whose first label is kind.
func (m *tfModule) all(typ, kind string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, b := range m.blocks {
		if b.Type == typ && len(b.Labels) > 0 && b.Labels[0] == kind {
			out = append(out, b)
		}
	}
	return out
}

// one returns the block typ "kind" "name", failing the test when it is missing.
func (m *tfModule) one(t *testing.T, typ, kind, name string) *hclsyntax.Block {
	t.Helper()
	for _, b := range m.all(typ, kind) {
		if len(b.Labels) == 2 && b.Labels[1] == name {
			return b
		}
	}
	require.FailNow(t, "missing block", "%s %q %q", typ, kind, name)
	return nil
}

// local returns the expression of the named local value.
func (m *tfModule) local(t *testing.T, name string) hclsyntax.Expression {
	t.Helper()
	for _, b := range m.blocks {
		if b.Type == "locals" {
			if a, ok := b.Body.Attributes[name]; ok {
				return a.Expr
			}
		}
	}
	require.FailNow(t, "missing local", name)
	return nil
}

// eval evaluates expr with the module's literal locals; anything else (var.x, functions) fails the test.
func (m *tfModule) eval(t *testing.T, expr hclsyntax.Expression) cty.Value {
	t.Helper()
	v, diags := expr.Value(m.ctx)
	require.False(t, diags.HasErrors(), "evaluate %s: %s", expr.Range(), diags.Error())
	return v
}

func (m *tfModule) attr(t *testing.T, b *hclsyntax.Block, name string) hclsyntax.Expression {
	t.Helper()
	a, ok := b.Body.Attributes[name]
	require.True(t, ok, "%s %v: no attribute %s", b.Type, b.Labels, name)
	return a.Expr
}

func (m *tfModule) number(t *testing.T, b *hclsyntax.Block, name string) int {
	t.Helper()
	return toInt(t, m.eval(t, m.attr(t, b, name)))
}

func (m *tfModule) str(t *testing.T, b *hclsyntax.Block, name string) string {
	t.Helper()
	var s string
	require.NoError(t, gocty.FromCtyValue(m.eval(t, m.attr(t, b, name)), &s), "%s %v %s", b.Type, b.Labels, name)
	return s
}

func (m *tfModule) strings(t *testing.T, b *hclsyntax.Block, name string) []string {
	t.Helper()
	// A literal ["a", "b"] is a tuple: convert it like Terraform does for a list(string) argument.
	v, err := convert.Convert(m.eval(t, m.attr(t, b, name)), cty.List(cty.String))
	require.NoError(t, err, "%s %v %s", b.Type, b.Labels, name)
	var s []string
	require.NoError(t, gocty.FromCtyValue(v, &s), "%s %v %s", b.Type, b.Labels, name)
	return s
}

func toInt(t *testing.T, v cty.Value) int {
	t.Helper()
	// Provider string attributes ("1024") convert like Terraform converts them.
	var n int
	if v.Type() == cty.String {
		var err error
		v, err = ctyNumber(v)
		require.NoError(t, err)
	}
	require.NoError(t, gocty.FromCtyValue(v, &n))
	return n
}

func ctyNumber(v cty.Value) (cty.Value, error) {
	return cty.ParseNumberVal(v.AsString())
}

// children are b's nested blocks of type typ.
func children(b *hclsyntax.Block, typ string) []*hclsyntax.Block {
	var out []*hclsyntax.Block
	for _, c := range b.Body.Blocks {
		if c.Type == typ {
			out = append(out, c)
		}
	}
	return out
}

// objectItems are the values of every object-constructor item keyed key, at any depth inside expr
// (container definitions are an object inside jsonencode).
func objectItems(expr hclsyntax.Expression, key string) []hclsyntax.Expression {
	var out []hclsyntax.Expression
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if o, ok := n.(*hclsyntax.ObjectConsExpr); ok {
			for _, it := range o.Items {
				if k, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String && k.AsString() == key {
					out = append(out, it.ValueExpr)
				}
			}
		}
		return nil
	})
	return out
}

// objectKeys are the literal keys of every object constructor inside expr, sorted.
func objectKeys(expr hclsyntax.Expression) []string {
	var out []string
	hclsyntax.VisitAll(expr, func(n hclsyntax.Node) hcl.Diagnostics {
		if o, ok := n.(*hclsyntax.ObjectConsExpr); ok {
			for _, it := range o.Items {
				if k, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String {
					out = append(out, k.AsString())
				}
			}
		}
		return nil
	})
	sort.Strings(out)
	return out
}

// containerDefinition is the object constructor of the container named name inside
// container_definitions = jsonencode([{...}]).
func containerDefinition(t *testing.T, defs hclsyntax.Expression, name string) *hclsyntax.ObjectConsExpr {
	t.Helper()
	call, ok := defs.(*hclsyntax.FunctionCallExpr)
	require.True(t, ok && call.Name == "jsonencode" && len(call.Args) == 1, "container_definitions = jsonencode([...])")
	list, ok := call.Args[0].(*hclsyntax.TupleConsExpr)
	require.True(t, ok, "container_definitions = jsonencode([...])")
	for _, e := range list.Exprs {
		obj, ok := e.(*hclsyntax.ObjectConsExpr)
		require.True(t, ok, "a container definition is an object")
		if v := directItem(obj, "name"); v != nil {
			if n, diags := v.Value(nil); !diags.HasErrors() && n.Type() == cty.String && n.AsString() == name {
				return obj
			}
		}
	}
	require.FailNow(t, "no container definition", name)
	return nil
}

// directItem is obj's own item keyed key (not a nested object's), or nil.
func directItem(obj *hclsyntax.ObjectConsExpr, key string) hclsyntax.Expression {
	for _, it := range obj.Items {
		if k, diags := it.KeyExpr.Value(nil); !diags.HasErrors() && k.Type() == cty.String && k.AsString() == key {
			return it.ValueExpr
		}
	}
	return nil
}

// oneItem is the single value keyed key inside expr.
func oneItem(t *testing.T, expr hclsyntax.Expression, key string) hclsyntax.Expression {
	t.Helper()
	items := objectItems(expr, key)
	require.Len(t, items, 1, "items %q in %s", key, expr.Range())
	return items[0]
}

func TestTerraformFilesParse(t *testing.T) {
	files := deployFiles(t, ".tf")
	require.NotEmpty(t, files)
	p := hclparse.NewParser()
	for _, path := range files {
		parseTF(t, p, path)
	}
}

func TestTerraformFormatted(t *testing.T) {
	root := repoRoot(t)
	tf := os.Getenv("TRUEUP_TERRAFORM")
	if tf == "" {
		tf = filepath.Join(root, ".tools", "bin", "terraform")
	}
	if _, err := os.Stat(tf); err != nil {
		t.Skipf("no Terraform at %s (make tools builds it)", tf)
	}
	cmd := exec.Command(tf, "fmt", "-check", "-recursive", "-list=true", "deploy")
	cmd.Dir = root
	// fmt reads no providers, but any CLI config keeps Terraform from warning about a missing one.
	cmd.Env = append(os.Environ(), "TF_CLI_CONFIG_FILE="+filepath.Join(root, ".tools", "terraformrc"), "CHECKPOINT_DISABLE=1")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "unformatted (run %s fmt -recursive deploy/):\n%s", tf, out)
}

// ecsDirs are the ECS Fargate root modules: one task on EFS, two tasks on Aurora PostgreSQL.
var ecsDirs = []string{"aws-ecs", "aws-ecs-ha"}

// checkECSTaskDefinition checks what both ECS modules' task definitions agree on, with the secrets each
// injects, and returns the module, the task definition and its trueup container.
func checkECSTaskDefinition(t *testing.T, dir string, secrets []string) (*tfModule, *hclsyntax.Block, *hclsyntax.ObjectConsExpr) {
	t.Helper()
	m := loadModule(t, deployPath(t, dir))
	td := m.one(t, "resource", "aws_ecs_task_definition", "trueup")

	// Literal sizes: a variable would let 1 vCPU / 2 GB drift from what the docs promise.
	for name, want := range map[string]int{"cpu": 1024, "memory": 2048} {
		v, diags := m.attr(t, td, name).Value(nil)
		require.False(t, diags.HasErrors(), "%s must be a literal", name)
		assert.Equal(t, want, toInt(t, v), name)
	}
	assert.Equal(t, []string{"FARGATE"}, m.strings(t, td, "requires_compatibilities"))
	assert.Equal(t, "awsvpc", m.str(t, td, "network_mode"))

	defs := containerDefinition(t, m.attr(t, td, "container_definitions"), "trueup")
	stop := toInt(t, m.eval(t, oneItem(t, defs, "stopTimeout")))
	assert.Greater(t, stop, 0, "stopTimeout")
	assert.LessOrEqual(t, stop, fargateMaxStopTimeout, "stopTimeout above Fargate's maximum")

	// The example config must stop before ECS kills the container, and keep its data where the volume is.
	grace := configGrace(t, deployPath(t, dir, "trueup.example.yaml"))
	var cfg struct {
		DataDir string `yaml:"data_dir"`
	}
	require.NoError(t, yaml.Unmarshal(readFile(t, deployPath(t, dir, "trueup.example.yaml")), &cfg))
	assert.Contains(t, []string{"", dataDir}, cfg.DataDir, "data_dir (validated in variables.tf)")
	assert.Less(t, grace, time.Duration(stop)*time.Second, "shutdown_grace of trueup.example.yaml")

	assert.Equal(t, httpPort, toInt(t, m.eval(t, oneItem(t, defs, "containerPort"))))
	assert.Equal(t, dataDir, m.eval(t, oneItem(t, defs, "containerPath")).AsString())
	assert.Equal(t, "awslogs", m.eval(t, oneItem(t, defs, "logDriver")).AsString())
	assert.Equal(t, "10001:10001", m.eval(t, oneItem(t, defs, "user")).AsString())

	// sh -c must exec trueup so SIGTERM reaches it, not a shell that ignores it.
	require.NotNil(t, directItem(defs, "command"))
	cmd := m.eval(t, directItem(defs, "command")).AsValueSlice()
	require.Len(t, cmd, 1)
	assert.Contains(t, cmd[0].AsString(), "exec /usr/local/bin/trueup run --config ")

	// Secrets: the names trueup's config uses, nothing in plain environment.
	assert.Equal(t, secrets, objectKeys(m.local(t, "secrets")))
	envNames := objectItems(oneItem(t, defs, "environment"), "name")
	require.Len(t, envNames, 1)
	assert.Equal(t, "TRUEUP_CONFIG", m.eval(t, envNames[0]).AsString())

	lg := m.one(t, "resource", "aws_cloudwatch_log_group", "trueup")
	assert.Contains(t, lg.Body.Attributes, "retention_in_days")
	return m, td, defs
}

func TestECSTaskDefinition(t *testing.T) {
	m, td, _ := checkECSTaskDefinition(t, "aws-ecs", secretEnv)

	// The EFS volume through the access point, encrypted in transit.
	vols := children(td, "volume")
	require.Len(t, vols, 1)
	efs := children(vols[0], "efs_volume_configuration")
	require.Len(t, efs, 1)
	assert.Equal(t, "ENABLED", m.str(t, efs[0], "transit_encryption"))
	ap := m.one(t, "resource", "aws_efs_access_point", "data")
	posix := children(ap, "posix_user")
	require.Len(t, posix, 1)
	assert.Equal(t, trueupUID, m.number(t, posix[0], "uid"))

	// bbolt on EFS: one replica.
	assert.Nil(t, parseStoreConfig(t, readFile(t, deployPath(t, "aws-ecs", "trueup.example.yaml")), "aws-ecs").Postgres)
}

// TestECSHATaskDefinition: the data dir on the task's own storage, the DSN injected by ECS, and a grace that
// leaves time to release the lease.
func TestECSHATaskDefinition(t *testing.T) {
	secrets := append([]string{dsnEnv}, secretEnv...)
	sort.Strings(secrets)
	m, td, defs := checkECSTaskDefinition(t, "aws-ecs-ha", secrets)

	// A bind mount (no EFS, no host path) at the image's VOLUME (TestDockerfile: VOLUME is dataDir), on
	// ephemeral storage of a stated size.
	vols := children(td, "volume")
	require.Len(t, vols, 1)
	assert.Empty(t, vols[0].Body.Blocks, "a bind mount on the task's ephemeral storage")
	assert.NotContains(t, vols[0].Body.Attributes, "host_path")
	mount := oneItem(t, defs, "sourceVolume")
	assert.Equal(t, m.str(t, vols[0], "name"), m.eval(t, mount).AsString())
	require.Len(t, children(td, "ephemeral_storage"), 1)
	for _, kind := range []string{"aws_efs_file_system", "aws_efs_mount_target", "aws_efs_access_point"} {
		assert.Empty(t, m.all("resource", kind), "no shared volume: %s", kind)
	}

	// The DSN comes from this module's secret, through the secrets list only.
	dsn := objectItems(m.local(t, "secrets"), dsnEnv)
	require.Len(t, dsn, 1)
	require.Len(t, dsn[0].Variables(), 1)
	assert.Equal(t, "aws_secretsmanager_secret.database.arn", traversalString(dsn[0].Variables()[0]))

	conf := readFile(t, deployPath(t, "aws-ecs-ha", "trueup.example.yaml"))
	p := parseStoreConfig(t, conf, "aws-ecs-ha/trueup.example.yaml").Postgres
	require.NotNil(t, p, "two tasks need store.postgres")
	assert.Equal(t, dsnEnv, p.DSNEnv)
	assert.LessOrEqual(t, parseConfigGrace(t, conf, "aws-ecs-ha/trueup.example.yaml"), 100*time.Second,
		"shutdown_grace leaves 20 s of stopTimeout to interrupt Terraform and release the lease")
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

func TestECSServiceRunsOnePrivateTask(t *testing.T) {
	m := loadModule(t, deployPath(t, "aws-ecs"))
	svc := m.one(t, "resource", "aws_ecs_service", "trueup")

	assert.Equal(t, 1, m.number(t, svc, "desired_count"))
	assert.Equal(t, 0, m.number(t, svc, "deployment_minimum_healthy_percent"), "the old task must stop before the new starts")
	assert.Equal(t, 100, m.number(t, svc, "deployment_maximum_percent"), "two tasks must never run at once")

	nc := children(svc, "network_configuration")
	require.Len(t, nc, 1)
	assert.Equal(t, cty.False, m.eval(t, m.attr(t, nc[0], "assign_public_ip")))
	subnets := m.attr(t, nc[0], "subnets")
	require.Len(t, subnets.Variables(), 1)
	assert.Equal(t, "var.private_subnet_ids", traversalString(subnets.Variables()[0]))
}

func traversalString(tr hcl.Traversal) string {
	var b strings.Builder
	b.WriteString(tr.RootName())
	for _, s := range tr[1:] {
		if a, ok := s.(hcl.TraverseAttr); ok {
			b.WriteString("." + a.Name)
		}
	}
	return b.String()
}

func TestECSOnlyWebhooksArePublic(t *testing.T) {
	for _, dir := range ecsDirs {
		t.Run(dir, func(t *testing.T) { checkOnlyWebhooksArePublic(t, dir) })
	}
}

func checkOnlyWebhooksArePublic(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))

	listeners := m.all("resource", "aws_lb_listener")
	require.Len(t, listeners, 1, "one listener: HTTPS")
	l := listeners[0]
	assert.Equal(t, "HTTPS", m.str(t, l, "protocol"))
	def := children(l, "default_action")
	require.Len(t, def, 1)
	assert.Equal(t, "fixed-response", m.str(t, def[0], "type"))
	fixed := children(def[0], "fixed_response")
	require.Len(t, fixed, 1)
	assert.Equal(t, "404", m.str(t, fixed[0], "status_code"))

	rules := m.all("resource", "aws_lb_listener_rule")
	require.Len(t, rules, 1, "one forwarding rule")
	var paths [][]string
	for _, c := range children(rules[0], "condition") {
		for _, pp := range children(c, "path_pattern") {
			paths = append(paths, m.strings(t, pp, "values"))
		}
	}
	assert.Equal(t, [][]string{{"/webhooks/github"}}, paths)
	actions := children(rules[0], "action")
	require.Len(t, actions, 1)
	assert.Equal(t, "forward", m.str(t, actions[0], "type"))

	tg := m.one(t, "resource", "aws_lb_target_group", "trueup")
	assert.Equal(t, httpPort, m.number(t, tg, "port"))
	hc := children(tg, "health_check")
	require.Len(t, hc, 1)
	assert.Equal(t, "/healthz", m.str(t, hc[0], "path"))
}

func TestECSTaskRoleOnlyAssumesStackRoles(t *testing.T) {
	// With enable_runners trueup also runs runner tasks: that policy is TestECSTrueupMayOnlyRunRunners's.
	for _, dir := range ecsDirs {
		t.Run(dir, func(t *testing.T) { checkTaskRoleOnlyAssumesStackRoles(t, dir, []string{"task", "task_runners"}) })
	}
}

func checkTaskRoleOnlyAssumesStackRoles(t *testing.T, dir string, policies []string) {
	m := loadModule(t, deployPath(t, dir))

	// Every identity policy attached to the task role.
	var docs []string
	for _, rp := range m.all("resource", "aws_iam_role_policy") {
		if traversalString(m.attr(t, rp, "role").Variables()[0]) == "aws_iam_role.task.id" {
			policy := m.attr(t, rp, "policy").Variables()
			require.Len(t, policy, 1)
			docs = append(docs, strings.Split(traversalString(policy[0]), ".")[2])
		}
	}
	sort.Strings(docs)
	require.Equal(t, policies, docs, "the task role's inline policies")
	// No managed policies on trueup's roles: least privilege is written out. Only the runner task roles take
	// managed policies, from variables (TestECSRunnerRoles).
	assert.Empty(t, m.all("resource", "aws_iam_policy_attachment"), "aws_iam_policy_attachment owns a policy's every attachment")
	for _, a := range m.all("resource", "aws_iam_role_policy_attachment") {
		assert.Subset(t, []string{"aws_iam_role.runner_plan.name", "aws_iam_role.runner_apply.name"}, refs(m.attr(t, a, "role")),
			"%v: a managed policy on one of trueup's own roles", a.Labels)
	}

	doc := m.one(t, "data", "aws_iam_policy_document", "task")
	statements := children(doc, "statement")
	require.NotEmpty(t, statements)
	for _, s := range statements {
		assert.NotContains(t, s.Body.Attributes, "effect", "allow statements only")
		for _, a := range m.strings(t, s, "actions") {
			assert.Contains(t, []string{"sts:AssumeRole", "sts:TagSession"}, a)
		}
		res := m.attr(t, s, "resources").Variables()
		require.Len(t, res, 1)
		assert.Equal(t, "var.stack_role_arns", traversalString(res[0]))
	}
}

func TestECSNetwork(t *testing.T) {
	// The task sends HTTPS, and NFS to EFS (one task) or PostgreSQL to the database (two tasks).
	// With enable_runners, runner tasks reach trueup too, and two tasks reach each other (TestECSHARunnersRelay).
	alb, runners, task := "aws_security_group.alb.id", "aws_security_group.runner.id", "aws_security_group.task.id"
	t.Run("aws-ecs", func(t *testing.T) { checkNetwork(t, "aws-ecs", []int{443, 2049}, []string{alb, runners}) })
	t.Run("aws-ecs-ha", func(t *testing.T) {
		checkNetwork(t, "aws-ecs-ha", []int{443, 5432, httpPort}, []string{alb, runners, task})
	})
}

func checkNetwork(t *testing.T, dir string, egress []int, ingressFrom []string) {
	m := loadModule(t, deployPath(t, dir))

	ep := m.one(t, "resource", "aws_vpc_endpoint", "interface")
	forEach := m.attr(t, ep, "for_each")
	var services []string
	hclsyntax.VisitAll(forEach, func(n hclsyntax.Node) hcl.Diagnostics {
		if tc, ok := n.(*hclsyntax.TupleConsExpr); ok {
			for _, e := range tc.Exprs {
				services = append(services, m.eval(t, e).AsString())
			}
		}
		return nil
	})
	assert.ElementsMatch(t, []string{"ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts"}, services)
	assert.Equal(t, "Gateway", m.str(t, m.one(t, "resource", "aws_vpc_endpoint", "s3"), "vpc_endpoint_type"))

	// The task accepts only the load balancer and (aws-ecs, with enable_runners) the runner tasks, on
	// trueup's port.
	var from []string
	for _, r := range m.all("resource", "aws_vpc_security_group_ingress_rule") {
		if traversalString(m.attr(t, r, "security_group_id").Variables()[0]) == "aws_security_group.task.id" {
			assert.Equal(t, httpPort, m.number(t, r, "from_port"))
			assert.Equal(t, httpPort, m.number(t, r, "to_port"))
			assert.NotContains(t, r.Body.Attributes, "cidr_ipv4", "%v: from a security group, not an address range", r.Labels)
			from = append(from, refs(m.attr(t, r, "referenced_security_group_id"))...)
		}
	}
	sort.Strings(from)
	assert.Equal(t, ingressFrom, from, "who reaches trueup's task")

	// The task sends only what egress lists.
	var ports []int
	for _, r := range m.all("resource", "aws_vpc_security_group_egress_rule") {
		if traversalString(m.attr(t, r, "security_group_id").Variables()[0]) == "aws_security_group.task.id" {
			assert.Equal(t, m.number(t, r, "from_port"), m.number(t, r, "to_port"))
			ports = append(ports, m.number(t, r, "from_port"))
		}
	}
	assert.ElementsMatch(t, egress, ports)
}

// configGrace is shutdown_grace of a trueup.yaml file, or the assumed default when it is unset.
func configGrace(t *testing.T, path string) time.Duration {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return parseConfigGrace(t, data, rel(t, path))
}

func parseConfigGrace(t *testing.T, data []byte, name string) time.Duration {
	t.Helper()
	var cfg struct {
		DataDir       string `yaml:"data_dir"`
		ShutdownGrace string `yaml:"shutdown_grace"`
	}
	require.NoError(t, yaml.Unmarshal(data, &cfg), name)
	if cfg.DataDir != "" && cfg.DataDir != dataDir {
		assert.True(t, strings.HasPrefix(cfg.DataDir, dataDir+"/"), "%s: data_dir %s is not in the volume at %s", name, cfg.DataDir, dataDir)
	}
	if cfg.ShutdownGrace == "" {
		return defaultShutdownGrace
	}
	d, err := time.ParseDuration(cfg.ShutdownGrace)
	require.NoError(t, err, "%s: shutdown_grace", name)
	return d
}
