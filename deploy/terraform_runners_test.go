package deploy_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
	"go.yaml.in/yaml/v3"
)

// The runners of deploy/aws-ecs (runners.tf, enable_runners): read as someone who wants a plan task to
// write, trueup to start anything else, or a secret in a task definition would.

// runnersFile is the file holding everything enable_runners creates, the same in both ECS modules.
const runnersFile = "runners.tf"

// forEachECS runs check on each ECS module.
func forEachECS(t *testing.T, check func(t *testing.T, dir string)) {
	for _, dir := range ecsDirs {
		t.Run(dir, func(t *testing.T) { check(t, dir) })
	}
}

// fileBlocks are the top-level blocks of one .tf file.
func fileBlocks(t *testing.T, path string) []*hclsyntax.Block {
	t.Helper()
	return parseTF(t, hclparse.NewParser(), path).Blocks
}

// tfFuncs are the Terraform functions the tests evaluate expressions with (those of cty's standard library
// Terraform also uses, with Terraform's names).
var tfFuncs = map[string]function.Function{
	"can":     tryfunc.CanFunc,
	"try":     tryfunc.TryFunc,
	"length":  stdlib.LengthFunc,
	"regex":   stdlib.RegexFunc,
	"replace": stdlib.ReplaceFunc,
}

// evalWith evaluates expr with the given var, local and each values and tfFuncs.
func evalWith(t *testing.T, expr hcl.Expression, vars, locals, each map[string]cty.Value) cty.Value {
	t.Helper()
	ctx := &hcl.EvalContext{Variables: map[string]cty.Value{}, Functions: tfFuncs}
	for name, m := range map[string]map[string]cty.Value{"var": vars, "local": locals, "each": each} {
		if m != nil {
			ctx.Variables[name] = cty.ObjectVal(m)
		}
	}
	v, diags := expr.Value(ctx)
	require.False(t, diags.HasErrors(), "evaluate %s: %s", expr.Range(), diags.Error())
	return v
}

// statement is one statement of an aws_iam_policy_document, dynamic ones included.
type statement struct {
	block      *hclsyntax.Block
	actions    []string
	conditions map[string][]string // "test variable" -> the values' references or literals
}

// statements are doc's statements: its statement blocks and the content of its dynamic "statement" blocks.
func statements(t *testing.T, m *tfModule, doc *hclsyntax.Block) []statement {
	t.Helper()
	blocks := children(doc, "statement")
	for _, d := range children(doc, "dynamic") {
		if d.Labels[0] == "statement" {
			c := children(d, "content")
			require.Len(t, c, 1)
			blocks = append(blocks, c[0])
		}
	}
	var out []statement
	for _, b := range blocks {
		assert.NotContains(t, b.Body.Attributes, "effect", "%v: allow statements only", doc.Labels)
		assert.NotContains(t, b.Body.Attributes, "not_actions", "%v", doc.Labels)
		assert.NotContains(t, b.Body.Attributes, "not_resources", "%v", doc.Labels)
		s := statement{block: b, actions: m.strings(t, b, "actions"), conditions: map[string][]string{}}
		for _, c := range children(b, "condition") {
			key := m.str(t, c, "test") + " " + m.str(t, c, "variable")
			values := m.attr(t, c, "values")
			if r := refs(values); len(r) > 0 {
				s.conditions[key] = r
			} else {
				s.conditions[key] = m.strings(t, c, "values")
			}
		}
		out = append(out, s)
	}
	return out
}

// gatedOnRunners says whether a block's count or for_each depends on var.enable_runners, directly or
// through local.runner_task_roles.
func gatedOnRunners(t *testing.T, m *tfModule, b *hclsyntax.Block) bool {
	t.Helper()
	for _, name := range []string{"count", "for_each"} {
		a, ok := b.Body.Attributes[name]
		if !ok {
			continue
		}
		for _, r := range refs(a.Expr) {
			switch {
			case r == "var.enable_runners":
				return true
			case r == "local.runner_task_roles":
				return assert.Contains(t, refs(m.local(t, "runner_task_roles")), "var.enable_runners")
			case strings.HasPrefix(r, "aws_"):
				// for_each over a resource that is itself gated (the service's registration)
				return true
			}
		}
	}
	return false
}

// TestECSRunnersAreOptIn: nothing of runners.tf exists unless enable_runners is set (default false), and
// trueup.yaml cannot ask for the ecs executor without it.
func TestECSRunnersAreOptIn(t *testing.T) { forEachECS(t, checkRunnersAreOptIn) }

func checkRunnersAreOptIn(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))
	assert.Equal(t, cty.False, m.variableDefault(t, "enable_runners"))

	for _, b := range fileBlocks(t, deployPath(t, dir, runnersFile)) {
		switch {
		case b.Type == "locals":
		case b.Type == "data" && (b.Labels[0] == "aws_caller_identity" || b.Labels[1] == "runner_assume"):
			// reads only, and only for the trust policy
		default:
			assert.True(t, gatedOnRunners(t, m, b), "%s %v exists without enable_runners", b.Type, b.Labels)
		}
	}

	// Outside runners.tf, whatever uses a runner resource exists only with it too (the service aside, below).
	defined := map[string]bool{}
	for _, b := range fileBlocks(t, deployPath(t, dir, runnersFile)) {
		if b.Type == "resource" {
			defined[b.Labels[0]+"."+b.Labels[1]] = true
		}
	}
	others, err := filepath.Glob(deployPath(t, dir, "*.tf"))
	require.NoError(t, err)
	for _, path := range others {
		if filepath.Base(path) == runnersFile {
			continue
		}
		for _, b := range fileBlocks(t, path) {
			if b.Type != "resource" || b.Labels[0] == "aws_ecs_service" {
				continue
			}
			uses := false
			hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
				if st, ok := n.(*hclsyntax.ScopeTraversalExpr); ok {
					parts := strings.Split(traversalString(st.Traversal), ".")
					uses = uses || (len(parts) > 1 && defined[parts[0]+"."+parts[1]])
				}
				return nil
			})
			if uses {
				assert.True(t, gatedOnRunners(t, m, b), "%s: %v uses a runner resource without enable_runners", filepath.Base(path), b.Labels)
			}
		}
	}

	svc := m.one(t, "resource", "aws_ecs_service", "trueup")
	var regs []*hclsyntax.Block
	for _, d := range children(svc, "dynamic") {
		if d.Labels[0] == "service_registries" {
			regs = append(regs, d)
		}
	}
	require.Len(t, regs, 1, "trueup's task registers its address for runner.callback_url")
	assert.Equal(t, []string{"aws_service_discovery_service.trueup"}, refs(m.attr(t, regs[0], "for_each")))
	// The service's security groups stay trueup's own: the runner group is for runner tasks.
	nc := children(svc, "network_configuration")
	require.Len(t, nc, 1)
	assert.Equal(t, []string{"aws_security_group.task.id"}, refs(m.attr(t, nc[0], "security_groups")))

	lc := children(svc, "lifecycle")
	require.Len(t, lc, 1)
	var guarded bool
	for _, p := range children(lc[0], "precondition") {
		r := refs(m.attr(t, p, "condition"))
		if assert.ObjectsAreEqual([]string{"var.enable_runners", "var.trueup_config"}, sortedCopy(r)) {
			guarded = true
		}
	}
	assert.True(t, guarded, "a precondition refuses runner.executor: ecs without enable_runners")
}

func sortedCopy(s []string) []string {
	out := append([]string(nil), s...)
	sort.Strings(out)
	return out
}

// TestECSRunnerTaskDefinitions: one task definition per purpose, each with its own task role, running
// `trueup runner` from trueup's image, with nothing secret in it.
func TestECSRunnerTaskDefinitions(t *testing.T) { forEachECS(t, checkRunnerTaskDefinitions) }

func checkRunnerTaskDefinitions(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))
	td := m.one(t, "resource", "aws_ecs_task_definition", "runner")
	assert.Equal(t, []string{"local.runner_task_roles"}, refs(m.attr(t, td, "for_each")))

	// The purposes and their roles: plan's is never apply's.
	roles := m.local(t, "runner_task_roles")
	for purpose, role := range map[string]string{"plan": "aws_iam_role.runner_plan.arn", "apply": "aws_iam_role.runner_apply.arn"} {
		assert.Equal(t, []string{role}, refs(oneItem(t, roles, purpose)), "the %s runners' task role", purpose)
	}
	assert.Equal(t, []string{"apply", "plan"}, objectKeys(roles), "one task definition per purpose, no other")
	assert.Equal(t, []string{"each.value"}, refs(m.attr(t, td, "task_role_arn")))
	assert.Equal(t, []string{"aws_iam_role.runner_execution.arn"}, refs(m.attr(t, td, "execution_role_arn")),
		"runners start with their own execution role: trueup's reads trueup's secrets")

	// Families trueup.yaml names: <name>-plan and <name>-apply.
	name := m.variableDefault(t, "name")
	for _, purpose := range []string{"plan", "apply"} {
		family := evalWith(t, m.attr(t, td, "family"), map[string]cty.Value{"name": name}, nil,
			map[string]cty.Value{"key": cty.StringVal(purpose)})
		assert.Equal(t, name.AsString()+"-"+purpose, family.AsString())
	}
	assert.Equal(t, []string{"FARGATE"}, m.strings(t, td, "requires_compatibilities"))
	assert.Equal(t, "awsvpc", m.str(t, td, "network_mode"))
	assert.Empty(t, children(td, "volume"), "a runner keeps nothing: no volume")

	// The container trueup's executor names and overrides.
	executor := readFile(t, filepath.Join(repoRoot(t), "reconciler", "remote", "ecs", "ecs.go"))
	container := regexp.MustCompile(`opts\.Container = "([^"]+)"`).FindSubmatch(executor)
	require.NotNil(t, container, "the ecs executor's default container name")
	defs := containerDefinition(t, m.attr(t, td, "container_definitions"), string(container[1]))

	// What the container runs: its entrypoint, then the command trueup overrides it with, must be `trueup
	// runner` (the image's own entrypoint is `trueup run`).
	override := ecsCommandOverride(t)
	entry := evalStrings(t, m, directItem(defs, "entryPoint"))
	assert.Equal(t, override, evalStrings(t, m, directItem(defs, "command")), "the command trueup's executor sets anyway")
	assert.Equal(t, []string{dockerEntrypoint(t)[0], "runner"}, append(entry, override...), "what a runner task executes")

	assert.Equal(t, []string{"var.image"}, refs(directItem(defs, "image")), "the image trueup runs: one protocol")
	assert.Equal(t, "10001:10001", m.eval(t, directItem(defs, "user")).AsString())
	assert.Equal(t, cty.True, m.eval(t, oneItem(t, defs, "initProcessEnabled")), "tini reaps provider processes")
	stop := toInt(t, m.eval(t, oneItem(t, defs, "stopTimeout")))
	assert.Greater(t, stop, 60, "StopTask leaves Terraform time to stop after its interrupt")
	assert.LessOrEqual(t, stop, fargateMaxStopTimeout)
	assert.Equal(t, "awslogs", m.eval(t, oneItem(t, defs, "logDriver")).AsString())
	assert.Equal(t, []string{"aws_cloudwatch_log_group.runner.name"}, refs(oneItem(t, defs, "awslogs-group")))

	// No secret and no environment in the definition: the run's variables are overrides of that run only.
	for _, key := range []string{"secrets", "environment", "environmentFiles", "repositoryCredentials", "portMappings", "mountPoints"} {
		assert.NotContains(t, objectKeys(defs), key, "a runner task definition has no %s", key)
	}
}

// evalStrings is a literal list of strings.
func evalStrings(t *testing.T, m *tfModule, expr hclsyntax.Expression) []string {
	t.Helper()
	require.NotNil(t, expr)
	var out []string
	for _, v := range m.eval(t, expr).AsValueSlice() {
		out = append(out, v.AsString())
	}
	return out
}

// ecsCommandOverride is the Command the ecs executor sets on the trueup container (RunTask's overrides).
func ecsCommandOverride(t *testing.T) []string {
	t.Helper()
	path := filepath.Join(repoRoot(t), "reconciler", "remote", "ecs", "ecs.go")
	f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
	require.NoError(t, err)
	var argv []string
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if id, ok := kv.Key.(*ast.Ident); !ok || id.Name != "Command" {
			return true
		}
		lit, ok := kv.Value.(*ast.CompositeLit)
		require.True(t, ok, "Command: a literal []string")
		for _, e := range lit.Elts {
			b, ok := e.(*ast.BasicLit)
			require.True(t, ok && b.Kind == token.STRING, "Command: literal strings")
			s, err := strconv.Unquote(b.Value)
			require.NoError(t, err)
			argv = append(argv, s)
		}
		return false
	})
	require.NotEmpty(t, argv, "the ecs executor's command override")
	return argv
}

// dockerEntrypoint is the image's ENTRYPOINT.
func dockerEntrypoint(t *testing.T) []string {
	t.Helper()
	instrs, err := parseDockerfile(string(readFile(t, filepath.Join(repoRoot(t), "Dockerfile"))))
	require.NoError(t, err)
	st := stages(instrs)
	return execForm(t, st[len(st)-1].last(t, "ENTRYPOINT"))
}

// TestECSRunnerRoles: the plan runners' role can be given no write policy, never the apply list, and no
// inline policy; both roles are trusted by this account's ECS tasks only; the runners' execution role reads
// no secret.
func TestECSRunnerRoles(t *testing.T) { forEachECS(t, checkRunnerRoles) }

func checkRunnerRoles(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))

	for _, purpose := range []string{"plan", "apply"} {
		role := m.one(t, "resource", "aws_iam_role", "runner_"+purpose)
		assert.Equal(t, []string{"data.aws_iam_policy_document.runner_assume.json"}, refs(m.attr(t, role, "assume_role_policy")))
		for _, kind := range []string{"aws_iam_role_policy_attachment", "aws_iam_role_policy"} {
			for _, b := range m.all("resource", kind) {
				if len(b.Labels) == 2 && b.Labels[1] == "runner_"+purpose {
					continue
				}
				for _, r := range refs(m.attr(t, b, "role")) {
					assert.False(t, strings.HasPrefix(r, "aws_iam_role.runner_"+purpose+"."), "%s %v on the %s runners' role", kind, b.Labels, purpose)
				}
			}
		}
		a := m.one(t, "resource", "aws_iam_role_policy_attachment", "runner_"+purpose)
		assert.Equal(t, []string{"aws_iam_role.runner_" + purpose + ".name"}, refs(m.attr(t, a, "role")))
		assert.ElementsMatch(t, []string{"var.enable_runners", "var.runner_" + purpose + "_policy_arns"}, refs(m.attr(t, a, "for_each")),
			"the %s runners' policies come from their own list only", purpose)
		assert.Equal(t, 0, m.variableDefault(t, "runner_"+purpose+"_policy_arns").LengthInt(), "no policy unless given")
	}
	for _, b := range m.all("resource", "aws_iam_role_policy") {
		assert.NotEqual(t, []string{"aws_iam_role.runner_plan.id"}, refs(m.attr(t, b, "role")), "an inline policy on the plan runners' role")
	}

	// The plan list refuses what writes.
	validations := children(m.variable(t, "runner_plan_policy_arns"), "validation")
	require.Len(t, validations, 1)
	cond := m.attr(t, validations[0], "condition")
	for _, tc := range []struct {
		arns []string
		ok   bool
	}{
		{nil, true},
		{[]string{"arn:aws:iam::aws:policy/ReadOnlyAccess"}, true},
		{[]string{"arn:aws:iam::123456789012:policy/terraform-plan-state"}, true},
		{[]string{"arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"}, true},
		{[]string{"arn:aws:iam::aws:policy/AdministratorAccess"}, false},
		{[]string{"arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/PowerUserAccess"}, false},
		{[]string{"arn:aws:iam::aws:policy/AmazonS3FullAccess"}, false},
		{[]string{"arn:aws:iam::aws:policy/IAMFullAccess"}, false},
		{[]string{"arn:aws:iam::aws:policy/AmazonEC2FullAccess_v2"}, false},
		{[]string{"arn:aws-us-gov:iam::aws:policy/administratoraccess"}, false},
		{[]string{"arn:aws:iam::aws:policy/job-function/SystemAdministrator/AdministratorAccess"}, false},
	} {
		list := cty.ListValEmpty(cty.String)
		if len(tc.arns) > 0 {
			var vals []cty.Value
			for _, a := range tc.arns {
				vals = append(vals, cty.StringVal(a))
			}
			list = cty.ListVal(vals)
		}
		got := evalWith(t, cond, map[string]cty.Value{"runner_plan_policy_arns": list}, nil, nil)
		assert.Equal(t, cty.BoolVal(tc.ok), got, "runner_plan_policy_arns = %v", tc.arns)
	}

	// Trusted by ECS tasks of this account only (not any account's tasks through the service principal).
	assume := m.one(t, "data", "aws_iam_policy_document", "runner_assume")
	st := statements(t, m, assume)
	require.Len(t, st, 1)
	assert.Equal(t, []string{"sts:AssumeRole"}, st[0].actions)
	p := children(st[0].block, "principals")
	require.Len(t, p, 1)
	assert.Equal(t, []string{"ecs-tasks.amazonaws.com"}, m.strings(t, p[0], "identifiers"))
	assert.Equal(t, []string{"data.aws_caller_identity.current.account_id"}, st[0].conditions["StringEquals aws:SourceAccount"])
	assert.Contains(t, st[0].conditions, "ArnLike aws:SourceArn")

	// The runners' execution role pulls and logs; no secret, no key.
	exec := m.one(t, "data", "aws_iam_policy_document", "runner_execution")
	var actions []string
	for _, s := range statements(t, m, exec) {
		actions = append(actions, s.actions...)
	}
	for _, a := range actions {
		assert.Regexp(t, `^(ecr|logs):`, a, "the runners' execution role")
	}
	assert.Contains(t, actions, "ecr:BatchGetImage")
}

// TestECSTrueupMayOnlyRunRunners: what enable_runners adds to trueup's own role: start the two runner task
// definitions on this cluster, tag them at launch, watch, list and stop this cluster's tasks, and pass
// exactly the runners' roles, to ECS tasks only.
func TestECSTrueupMayOnlyRunRunners(t *testing.T) { forEachECS(t, checkTrueupMayOnlyRunRunners) }

func checkTrueupMayOnlyRunRunners(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))
	rp := m.one(t, "resource", "aws_iam_role_policy", "task_runners")
	assert.Equal(t, []string{"aws_iam_role.task.id"}, refs(m.attr(t, rp, "role")))
	assert.Equal(t, []string{"data.aws_iam_policy_document.task_runners.json"}, refs(m.attr(t, rp, "policy")))

	cluster := []string{"local.cluster_arn"}
	byAction := map[string]statement{}
	for _, s := range statements(t, m, m.one(t, "data", "aws_iam_policy_document", "task_runners")) {
		for _, a := range s.actions {
			require.NotContains(t, byAction, a, "%s granted twice", a)
			byAction[a] = s
		}
	}
	assert.ElementsMatch(t, []string{"ecs:RunTask", "ecs:TagResource", "ecs:DescribeTasks", "ecs:StopTask", "ecs:ListTasks", "iam:PassRole"},
		keysOf(byAction), "trueup's runner permissions, and no other")

	run := byAction["ecs:RunTask"]
	assert.Equal(t, []string{"aws_ecs_task_definition.runner"}, refs(m.attr(t, run.block, "resources")), "RunTask on the runner task definitions only")
	assert.Equal(t, cluster, run.conditions["ArnEquals ecs:cluster"], "RunTask on this cluster only")

	tag := byAction["ecs:TagResource"]
	assert.Equal(t, []string{"RunTask"}, tag.conditions["StringEquals ecs:CreateAction"], "tags only as RunTask sets them")
	assert.Equal(t, []string{"local.cluster_tasks_arn"}, refs(m.attr(t, tag.block, "resources")))

	for _, a := range []string{"ecs:DescribeTasks", "ecs:StopTask"} {
		assert.Equal(t, []string{"local.cluster_tasks_arn"}, refs(m.attr(t, byAction[a].block, "resources")), a)
		assert.Equal(t, cluster, byAction[a].conditions["ArnEquals ecs:cluster"], a)
	}
	assert.Equal(t, cluster, byAction["ecs:ListTasks"].conditions["ArnEquals ecs:cluster"])
	tasks := evalWith(t, m.local(t, "cluster_tasks_arn"), nil,
		map[string]cty.Value{"cluster_arn": cty.StringVal("arn:aws:ecs:eu-west-1:123456789012:cluster/infra")}, nil)
	assert.Equal(t, "arn:aws:ecs:eu-west-1:123456789012:task/infra/*", tasks.AsString(), "the cluster's tasks, not all of the account's")

	pass := byAction["iam:PassRole"]
	assert.ElementsMatch(t, []string{"aws_iam_role.runner_plan.arn", "aws_iam_role.runner_apply.arn", "aws_iam_role.runner_execution.arn"},
		refs(m.attr(t, pass.block, "resources")), "PassRole on the runner roles only (never trueup's own, nor its execution role)")
	assert.Equal(t, []string{"ecs-tasks.amazonaws.com"}, pass.conditions["StringEquals iam:PassedToService"])

	// No "*" anywhere but ListTasks (which names no task, and is held to the cluster by its condition).
	for a, s := range byAction {
		if a == "ecs:ListTasks" {
			continue
		}
		v, diags := s.block.Body.Attributes["resources"].Expr.Value(nil)
		if !diags.HasErrors() {
			assert.NotContains(t, v.GoString(), `"*"`, "%s on every resource", a)
		}
	}
}

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestECSRunnerNetwork: runner tasks accept nothing, send HTTPS out and the runner protocol to trueup only.
func TestECSRunnerNetwork(t *testing.T) { forEachECS(t, checkRunnerNetwork) }

func checkRunnerNetwork(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))
	m.one(t, "resource", "aws_security_group", "runner")
	const runnerSG = "aws_security_group.runner.id"

	for _, r := range m.all("resource", "aws_vpc_security_group_ingress_rule") {
		assert.NotEqual(t, []string{runnerSG}, refs(m.attr(t, r, "security_group_id")), "%v: runners accept no connection", r.Labels)
	}
	egress := map[int]string{}
	for _, r := range m.all("resource", "aws_vpc_security_group_egress_rule") {
		if refs(m.attr(t, r, "security_group_id"))[0] != runnerSG {
			continue
		}
		port := m.number(t, r, "from_port")
		assert.Equal(t, port, m.number(t, r, "to_port"))
		assert.Equal(t, "tcp", m.str(t, r, "ip_protocol"))
		if a, ok := r.Body.Attributes["referenced_security_group_id"]; ok {
			egress[port] = strings.Join(refs(a.Expr), ",")
		} else {
			egress[port] = m.str(t, r, "cidr_ipv4")
		}
	}
	assert.Equal(t, map[int]string{443: "0.0.0.0/0", httpPort: "aws_security_group.task.id"}, egress)

	// The VPC endpoints let runners in (image pulls and logs go through them) when the module makes them.
	ep := m.one(t, "resource", "aws_vpc_security_group_ingress_rule", "endpoints_from_runners")
	assert.ElementsMatch(t, []string{"var.enable_runners", "var.create_vpc_endpoints"}, refs(m.attr(t, ep, "count")))
	assert.Equal(t, 443, m.number(t, ep, "from_port"))
	assert.Equal(t, []string{runnerSG}, refs(m.attr(t, ep, "referenced_security_group_id")))

	// runner.callback_url: trueup's name in the VPC, on its port.
	name := m.variableDefault(t, "name")
	vars := map[string]cty.Value{"name": name, "runner_dns_namespace": m.variableDefault(t, "runner_dns_namespace")}
	ns := evalWith(t, m.local(t, "runners_dns_namespace"), vars, nil, nil)
	url := evalWith(t, m.local(t, "runners_callback_url"), vars,
		map[string]cty.Value{"runners_dns_namespace": ns, "port": cty.NumberIntVal(httpPort)}, nil)
	assert.Equal(t, "http://trueup.trueup.internal:8080", url.AsString())
	assert.Equal(t, []string{"var.name"}, refs(m.attr(t, m.one(t, "resource", "aws_service_discovery_service", "trueup"), "name")))
	assert.Equal(t, []string{"local.runners_dns_namespace"},
		refs(m.attr(t, m.one(t, "resource", "aws_service_discovery_private_dns_namespace", "runners"), "name")))
}

// TestECSRunnerConfig: the runner: section trueup.example.yaml shows (commented) is one trueup reads, and
// names what the module creates; the output runner_config writes the same keys.
func TestECSRunnerConfig(t *testing.T) { forEachECS(t, checkRunnerConfig) }

func checkRunnerConfig(t *testing.T, dir string) {
	data := string(readFile(t, deployPath(t, dir, "trueup.example.yaml")))
	m := regexp.MustCompile(`(?s)# runner-example-begin\n(.*)# runner-example-end\n`).FindStringSubmatch(data)
	require.NotNil(t, m, "trueup.example.yaml: a commented runner: section between the markers")
	var lines []string
	for _, l := range strings.Split(strings.TrimSuffix(m[1], "\n"), "\n") {
		require.True(t, strings.HasPrefix(l, "# "), "commented: %q", l)
		lines = append(lines, strings.TrimPrefix(l, "# "))
	}
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(strings.Join(lines, "\n")), &raw))
	checkConfigKeys(t, "runner", raw["runner"], "RunnerConfig")

	var cfg struct {
		Runner struct {
			Executor    string `yaml:"executor"`
			CallbackURL string `yaml:"callback_url"`
			ECS         struct {
				Cluster         string            `yaml:"cluster"`
				TaskDefinitions map[string]string `yaml:"task_definitions"`
				Subnets         []string          `yaml:"subnets"`
				SecurityGroups  []string          `yaml:"security_groups"`
			} `yaml:"ecs"`
		} `yaml:"runner"`
	}
	require.NoError(t, yaml.Unmarshal([]byte(strings.Join(lines, "\n")), &cfg))
	assert.Equal(t, "ecs", cfg.Runner.Executor)
	assert.Equal(t, "http://trueup.trueup.internal:8080", cfg.Runner.CallbackURL, "the module's runner_callback_url")
	assert.Equal(t, map[string]string{"plan": "trueup-plan", "apply": "trueup-apply"}, cfg.Runner.ECS.TaskDefinitions)
	assert.NotEmpty(t, cfg.Runner.ECS.Subnets)
	assert.Len(t, cfg.Runner.ECS.SecurityGroups, 1, "the runner security group, never the default one")

	// The output writes the keys trueup reads.
	mod := loadModule(t, deployPath(t, dir))
	outs := mod.all("output", "runner_config")
	require.Len(t, outs, 1)
	var encoded *hclsyntax.ObjectConsExpr
	hclsyntax.VisitAll(mod.attr(t, outs[0], "value"), func(n hclsyntax.Node) hcl.Diagnostics {
		if call, ok := n.(*hclsyntax.FunctionCallExpr); ok && call.Name == "yamlencode" && len(call.Args) == 1 {
			encoded, _ = call.Args[0].(*hclsyntax.ObjectConsExpr)
		}
		return nil
	})
	require.NotNil(t, encoded, "runner_config = yamlencode({runner = {...}})")
	tree := hclKeyTree(encoded)
	assert.Equal(t, []string{"runner"}, keys(tree))
	checkConfigKeys(t, "runner", tree["runner"], "RunnerConfig")
	ecs, _ := tree["runner"].(map[string]any)["ecs"].(map[string]any)
	assert.Equal(t, []string{"cluster", "security_groups", "subnets", "task_definitions"}, keys(ecs))
}

// hclKeyTree is an object constructor's literal keys, nested objects as maps, other values as nil.
func hclKeyTree(o *hclsyntax.ObjectConsExpr) map[string]any {
	out := map[string]any{}
	for _, it := range o.Items {
		k, diags := it.KeyExpr.Value(nil)
		if diags.HasErrors() || k.Type() != cty.String {
			continue
		}
		if inner, ok := it.ValueExpr.(*hclsyntax.ObjectConsExpr); ok {
			out[k.AsString()] = hclKeyTree(inner)
		} else {
			out[k.AsString()] = nil
		}
	}
	return out
}

// configFields are the yaml keys of cmd/trueup's struct typeName, each with its field's type name when that
// is a named type of the package (so nested sections can be checked too); found is false when there is no
// such type.
func configFields(t *testing.T, typeName string) (fields map[string]string, found bool) {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(repoRoot(t), "cmd", "trueup", "*.go"))
	require.NoError(t, err)
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		require.NoError(t, err)
		ast.Inspect(f, func(n ast.Node) bool {
			ts, ok := n.(*ast.TypeSpec)
			if !ok || ts.Name.Name != typeName {
				return !found
			}
			st, ok := ts.Type.(*ast.StructType)
			require.True(t, ok, "%s is a struct", typeName)
			found, fields = true, map[string]string{}
			for _, field := range st.Fields.List {
				if field.Tag == nil {
					continue
				}
				tag, err := strconv.Unquote(field.Tag.Value)
				require.NoError(t, err)
				name, _, _ := strings.Cut(reflect.StructTag(tag).Get("yaml"), ",")
				if name == "" || name == "-" {
					continue
				}
				fields[name] = ""
				if id, ok := field.Type.(*ast.Ident); ok {
					fields[name] = id.Name
				}
			}
			return false
		})
		if found {
			return fields, true
		}
	}
	return nil, false
}

// checkConfigKeys fails for every key of v (a decoded YAML section at path) that cmd/trueup's typeName does
// not decode: trueup decodes its config strictly, and an unknown key stops it at start.
func checkConfigKeys(t *testing.T, path string, v any, typeName string) {
	t.Helper()
	section, ok := v.(map[string]any)
	require.True(t, ok, "%s is a section", path)
	fields, found := configFields(t, typeName)
	require.True(t, found, "cmd/trueup has no type %s", typeName)
	for k, sub := range section {
		ft, ok := fields[k]
		if !assert.True(t, ok, "%s.%s: cmd/trueup's %s has no such key (it has %v)", path, k, typeName, keysOf(fields)) {
			continue
		}
		if _, isMap := sub.(map[string]any); isMap && ft != "" {
			if _, known := configFields(t, ft); known {
				checkConfigKeys(t, path+"."+k, sub, ft)
			}
		}
	}
}

// TestECSRunnersSameInBothModules: aws-ecs-ha's runners are aws-ecs's: the same runners.tf, runner
// variables and runner outputs, word for word; and runners.tf names only what each module has.
func TestECSRunnersSameInBothModules(t *testing.T) {
	one, two := readFile(t, deployPath(t, "aws-ecs", runnersFile)), readFile(t, deployPath(t, "aws-ecs-ha", runnersFile))
	assert.Equal(t, string(one), string(two), "runners.tf differs between aws-ecs and aws-ecs-ha")
	for _, file := range []string{"variables.tf", "outputs.tf"} {
		a, b := runnerBlocksText(t, "aws-ecs", file), runnerBlocksText(t, "aws-ecs-ha", file)
		assert.NotEmpty(t, a, file)
		assert.Equal(t, a, b, "the runner blocks of %s differ", file)
	}
	forEachECS(t, checkRunnersResolve)
}

// runnerBlocksText is the source of file's variable and output blocks named enable_runners or runner_*.
func runnerBlocksText(t *testing.T, dir, file string) map[string]string {
	t.Helper()
	path := deployPath(t, dir, file)
	src := readFile(t, path)
	out := map[string]string{}
	for _, b := range fileBlocks(t, path) {
		if len(b.Labels) == 1 && (b.Labels[0] == "enable_runners" || strings.HasPrefix(b.Labels[0], "runner_")) {
			r := b.Range()
			out[b.Type+"."+b.Labels[0]] = string(src[r.Start.Byte:r.End.Byte])
		}
	}
	return out
}

// checkRunnersResolve: every var, local, data source and resource runners.tf names exists in dir's module,
// and none of them is one of trueup's secrets.
func checkRunnersResolve(t *testing.T, dir string) {
	m := loadModule(t, deployPath(t, dir))
	has := func(typ string, labels ...string) bool {
		for _, b := range m.blocks {
			if b.Type == typ && len(b.Labels) >= len(labels) && strings.Join(b.Labels[:len(labels)], ".") == strings.Join(labels, ".") {
				return true
			}
		}
		return false
	}
	hasLocal := func(name string) bool {
		for _, b := range m.blocks {
			if b.Type == "locals" {
				if _, ok := b.Body.Attributes[name]; ok {
					return true
				}
			}
		}
		return false
	}
	seen := map[string]bool{}
	for _, b := range fileBlocks(t, deployPath(t, dir, runnersFile)) {
		hclsyntax.VisitAll(b.Body, func(n hclsyntax.Node) hcl.Diagnostics {
			st, ok := n.(*hclsyntax.ScopeTraversalExpr)
			if !ok {
				return nil
			}
			parts := strings.Split(traversalString(st.Traversal), ".")
			if len(parts) < 2 || (parts[0] == "data" && len(parts) < 3) {
				return nil
			}
			ref := strings.Join(parts[:2], ".")
			if parts[0] == "data" {
				ref = strings.Join(parts[:3], ".")
			}
			if seen[ref] {
				return nil
			}
			seen[ref] = true
			switch {
			case parts[0] == "var":
				assert.True(t, has("variable", parts[1]), "%s: no such variable", ref)
				assert.NotContains(t, parts[1], "secret", "%s: a runner gets no secret", ref)
			case parts[0] == "local":
				assert.True(t, hasLocal(parts[1]), "%s: no such local", ref)
				assert.NotEqual(t, "secrets", parts[1], "a runner gets none of trueup's secrets")
			case parts[0] == "data":
				assert.True(t, has("data", parts[1], parts[2]), "%s: no such data source", ref)
			case strings.HasPrefix(parts[0], "aws_"):
				assert.True(t, has("resource", parts[0], parts[1]), "%s: no such resource", ref)
				assert.False(t, strings.HasPrefix(parts[0], "aws_secretsmanager"), "%s: a runner gets no secret", ref)
			}
			return nil
		})
	}
	assert.Contains(t, seen, "aws_security_group.task", "the walk saw runners.tf's references")
}

// TestECSHARunnersRelay: with two tasks, a standby relays runners' calls to the leader: the tasks reach each
// other on trueup's port, only with enable_runners.
func TestECSHARunnersRelay(t *testing.T) {
	m := loadModule(t, deployPath(t, "aws-ecs-ha"))
	for _, r := range []*hclsyntax.Block{
		m.one(t, "resource", "aws_vpc_security_group_ingress_rule", "task_from_task"),
		m.one(t, "resource", "aws_vpc_security_group_egress_rule", "task_to_task"),
	} {
		assert.Equal(t, []string{"var.enable_runners"}, refs(m.attr(t, r, "count")), "%v", r.Labels)
		assert.Equal(t, []string{"aws_security_group.task.id"}, refs(m.attr(t, r, "security_group_id")))
		assert.Equal(t, []string{"aws_security_group.task.id"}, refs(m.attr(t, r, "referenced_security_group_id")), "the other trueup task only")
		assert.Equal(t, httpPort, m.number(t, r, "from_port"))
		assert.Equal(t, httpPort, m.number(t, r, "to_port"))
	}
	ep := m.one(t, "resource", "aws_vpc_security_group_ingress_rule", "existing_endpoints_from_runners")
	assert.ElementsMatch(t, []string{"var.enable_runners", "var.vpc_endpoint_security_group_id"}, refs(m.attr(t, ep, "count")))
	assert.Equal(t, []string{"aws_security_group.runner.id"}, refs(m.attr(t, ep, "referenced_security_group_id")))
}
