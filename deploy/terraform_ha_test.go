package deploy_test

import (
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/zclconf/go-cty/cty"
)

// variable is the module's variable block name.
func (m *tfModule) variable(t *testing.T, name string) *hclsyntax.Block {
	t.Helper()
	vars := m.all("variable", name)
	require.Len(t, vars, 1, "variable %q", name)
	return vars[0]
}

// variableDefault is the literal default of the module's variable name.
func (m *tfModule) variableDefault(t *testing.T, name string) cty.Value {
	t.Helper()
	return m.eval(t, m.attr(t, m.variable(t, name), "default"))
}

// refs are the references (var.x, aws_y.z.id) in expr, as strings.
func refs(expr hclsyntax.Expression) []string {
	var out []string
	for _, tr := range expr.Variables() {
		out = append(out, traversalString(tr))
	}
	return out
}

func TestECSHAServiceRunsTwoTasksInTwoZones(t *testing.T) {
	m := loadModule(t, deployPath(t, "aws-ecs-ha"))
	svc := m.one(t, "resource", "aws_ecs_service", "trueup")

	// Two tasks, 0 only while moving up.
	assert.Equal(t, []string{"var.desired_count"}, refs(m.attr(t, svc, "desired_count")))
	assert.Equal(t, 2, toInt(t, m.variableDefault(t, "desired_count")))
	require.Len(t, children(m.variable(t, "desired_count"), "validation"), 1)

	// Deploys start the new tasks first: leader election makes the overlap safe, and a standby stays.
	assert.Equal(t, 100, m.number(t, svc, "deployment_minimum_healthy_percent"))
	assert.Equal(t, 200, m.number(t, svc, "deployment_maximum_percent"))
	assert.Equal(t, "ENABLED", m.str(t, svc, "availability_zone_rebalancing"))

	nc := children(svc, "network_configuration")
	require.Len(t, nc, 1)
	assert.Equal(t, cty.False, m.eval(t, m.attr(t, nc[0], "assign_public_ip")))
	assert.Equal(t, []string{"var.private_subnet_ids"}, refs(m.attr(t, nc[0], "subnets")))

	// The subnets span two zones, or the plan fails.
	lc := children(svc, "lifecycle")
	require.Len(t, lc, 1)
	var zones bool
	for _, pre := range children(lc[0], "precondition") { // the other: runner.executor: ecs needs enable_runners
		for _, r := range refs(m.attr(t, pre, "condition")) {
			zones = zones || r == "local.azs"
		}
	}
	assert.True(t, zones, "a precondition on the subnets' zones")
}

func TestECSHADatabase(t *testing.T) {
	m := loadModule(t, deployPath(t, "aws-ecs-ha"))
	c := m.one(t, "resource", "aws_rds_cluster", "trueup")

	assert.Equal(t, "aurora-postgresql", m.str(t, c, "engine"))
	assert.Equal(t, "provisioned", m.str(t, c, "engine_mode"))
	for _, name := range []string{"storage_encrypted", "deletion_protection", "copy_tags_to_snapshot"} {
		assert.Equal(t, cty.True, m.eval(t, m.attr(t, c, name)), name)
	}
	assert.Equal(t, cty.False, m.eval(t, m.attr(t, c, "skip_final_snapshot")))
	assert.Equal(t, []string{"var.db_backup_retention_days"}, refs(m.attr(t, c, "backup_retention_period")))
	assert.GreaterOrEqual(t, toInt(t, m.variableDefault(t, "db_backup_retention_days")), 7)
	sc := children(c, "serverlessv2_scaling_configuration")
	require.Len(t, sc, 1)
	assert.Contains(t, sc[0].Body.Attributes, "min_capacity")
	assert.Contains(t, sc[0].Body.Attributes, "max_capacity")
	assert.Equal(t, []string{"aws_security_group.db.id"}, refs(m.attr(t, c, "vpc_security_group_ids")))
	assert.Equal(t, 5432, m.number(t, c, "port"))

	// TLS only, for pgx and lib/pq alike.
	force := false
	for _, p := range children(m.one(t, "resource", "aws_rds_cluster_parameter_group", "trueup"), "parameter") {
		if m.str(t, p, "name") == "rds.force_ssl" {
			force = m.str(t, p, "value") == "1"
		}
	}
	assert.True(t, force, "rds.force_ssl = 1")

	// Serverless v2 instances, in the private subnets, one per zone.
	inst := m.one(t, "resource", "aws_rds_cluster_instance", "trueup")
	assert.Equal(t, "db.serverless", m.str(t, inst, "instance_class"))
	assert.Equal(t, cty.False, m.eval(t, m.attr(t, inst, "publicly_accessible")))
	assert.Contains(t, refs(m.attr(t, inst, "availability_zone")), "local.azs")
	assert.Equal(t, 2, toInt(t, m.variableDefault(t, "db_instances")))
	sng := m.one(t, "resource", "aws_db_subnet_group", "trueup")
	assert.Equal(t, []string{"var.private_subnet_ids"}, refs(m.attr(t, sng, "subnet_ids")))

	// Only the trueup tasks reach it, on 5432; it sends nothing.
	var in []*hclsyntax.Block
	for _, r := range m.all("resource", "aws_vpc_security_group_ingress_rule") {
		if refs(m.attr(t, r, "security_group_id"))[0] == "aws_security_group.db.id" {
			in = append(in, r)
		}
	}
	require.Len(t, in, 1)
	assert.Equal(t, 5432, m.number(t, in[0], "from_port"))
	assert.Equal(t, 5432, m.number(t, in[0], "to_port"))
	assert.Equal(t, []string{"aws_security_group.task.id"}, refs(m.attr(t, in[0], "referenced_security_group_id")))
	for _, r := range m.all("resource", "aws_vpc_security_group_egress_rule") {
		assert.NotEqual(t, "aws_security_group.db.id", refs(m.attr(t, r, "security_group_id"))[0])
	}
}

// TestECSHADSNSecret: the DSN is written to Secrets Manager, as a URL pgx and lib/pq both take, and only the
// execution role may read it (the task role's permissions are TestECSTaskRoleOnlyAssumesStackRoles's).
func TestECSHADSNSecret(t *testing.T) {
	m := loadModule(t, deployPath(t, "aws-ecs-ha"))
	v := m.one(t, "resource", "aws_secretsmanager_secret_version", "database")
	call, ok := m.attr(t, v, "secret_string").(*hclsyntax.FunctionCallExpr)
	require.True(t, ok && call.Name == "format", "secret_string = format(...)")
	layout := m.eval(t, call.Args[0]).AsString()
	assert.True(t, strings.HasPrefix(layout, "postgres://"), layout)
	assert.Contains(t, layout, "sslmode=require", "lib/pq's default, stated")
	assert.NotContains(t, layout, "pool_", "no pgx-only parameters: lib/pq refuses them")

	// Who may read secrets: the execution role's statement, on exactly the task definition's secrets.
	var readers []string
	for _, doc := range m.all("data", "aws_iam_policy_document") {
		for _, s := range children(doc, "statement") {
			if a, ok := s.Body.Attributes["actions"]; ok && strings.Contains(m.eval(t, a.Expr).GoString(), "secretsmanager") {
				readers = append(readers, doc.Labels[1])
				assert.Equal(t, []string{"local.secrets"}, refs(m.attr(t, s, "resources")))
			}
		}
	}
	assert.Equal(t, []string{"execution"}, readers)
}

// TestECSHAStoreCopyTask: the one-off task that moves a single-replica data dir up reads it from the old
// EFS, over TLS, runs trueup store copy, and exists only while moving up.
func TestECSHAStoreCopyTask(t *testing.T) {
	m := loadModule(t, deployPath(t, "aws-ecs-ha"))
	td := m.one(t, "resource", "aws_ecs_task_definition", "store_copy")
	assert.Equal(t, []string{"var.store_copy_from"}, refs(m.attr(t, td, "count")))
	defs := containerDefinition(t, m.attr(t, td, "container_definitions"), "store-copy")
	cmd := directItem(defs, "command")
	require.NotNil(t, cmd)
	var text []string
	hclsyntax.VisitAll(cmd, func(n hclsyntax.Node) hcl.Diagnostics {
		if l, ok := n.(*hclsyntax.LiteralValueExpr); ok && l.Val.Type() == cty.String {
			text = append(text, l.Val.AsString())
		}
		return nil
	})
	assert.Contains(t, strings.Join(text, ""), "exec /usr/local/bin/trueup store copy --from ")
	assert.Contains(t, strings.Join(text, ""), " --to postgres --config /tmp/trueup.yaml")
	vols := children(td, "volume")
	require.Len(t, vols, 1)
	efs := children(vols[0], "efs_volume_configuration")
	require.Len(t, efs, 1)
	assert.Equal(t, "ENABLED", m.str(t, efs[0], "transit_encryption"))
}
