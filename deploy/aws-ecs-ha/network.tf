# Traffic allowed, and nothing else:
#   internet (webhook_ingress_cidrs) -> ALB :443 -> task :8080
#   task -> :443 anywhere (GitHub, Slack, Terraform registry through NAT; AWS APIs through the endpoints)
#   task -> the database :5432; the database accepts nothing else
#   with enable_runners (runners.tf): runner tasks -> task :8080; task -> the other task :8080 (a standby
#   relays runners' calls to the leader's advertised address)
# Amazon's VPC DNS resolver is not subject to security groups.

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "trueup webhook load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  for_each = toset(var.webhook_ingress_cidrs)

  security_group_id = aws_security_group.alb.id
  description       = "GitHub webhooks"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "alb_to_task" {
  security_group_id            = aws_security_group.alb.id
  description                  = "to trueup"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_security_group" "task" {
  name        = "${var.name}-task"
  description = "trueup task"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "task_from_alb" {
  security_group_id            = aws_security_group.task.id
  description                  = "webhooks and health checks from the load balancer"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_egress_rule" "task_https" {
  security_group_id = aws_security_group.task.id
  description       = "HTTPS: git, GitHub and Slack APIs, Terraform registry, AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "task_db" {
  security_group_id            = aws_security_group.task.id
  description                  = "PostgreSQL: the store, the lease, the state of stacks without a backend"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.db.id
}

resource "aws_security_group" "db" {
  name        = "${var.name}-db"
  description = "trueup database"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "db_from_task" {
  security_group_id            = aws_security_group.db.id
  description                  = "PostgreSQL from trueup"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.task.id
}

# --- VPC endpoints: image pulls, logs, secrets and role assumption stay inside the VPC ---

resource "aws_security_group" "endpoints" {
  count = var.create_vpc_endpoints ? 1 : 0

  name        = "${var.name}-endpoints"
  description = "VPC interface endpoints used by trueup"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_task" {
  count = var.create_vpc_endpoints ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from trueup"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.task.id
}

# With create_vpc_endpoints = false, the VPC's existing endpoints must let the tasks in (for example those of
# deploy/aws-ecs while moving up from it).
resource "aws_vpc_security_group_ingress_rule" "existing_endpoints_from_task" {
  count = var.vpc_endpoint_security_group_id == null ? 0 : 1

  security_group_id            = var.vpc_endpoint_security_group_id
  description                  = "HTTPS from trueup"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_vpc_endpoint" "interface" {
  for_each = var.create_vpc_endpoints ? toset(["ecr.api", "ecr.dkr", "logs", "secretsmanager", "sts"]) : toset([])

  vpc_id              = var.vpc_id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.key}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = var.private_subnet_ids
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true

  tags = { Name = "${var.name}-${each.key}" }
}

# Default (full) policy on purpose: the stacks' S3 state backends in this region use this endpoint too,
# not only ECR's layer bucket.
resource "aws_vpc_endpoint" "s3" {
  count = var.create_vpc_endpoints ? 1 : 0

  vpc_id            = var.vpc_id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = var.private_route_table_ids

  tags = { Name = "${var.name}-s3" }
}

# --- runners (enable_runners): a standby forwards runners' calls to the leader (runner.advertise_url, by
# default the task's own address and port) ---

resource "aws_vpc_security_group_ingress_rule" "task_from_task" {
  count = var.enable_runners ? 1 : 0

  security_group_id            = aws_security_group.task.id
  description                  = "runners' calls relayed by the standby trueup"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_vpc_security_group_egress_rule" "task_to_task" {
  count = var.enable_runners ? 1 : 0

  security_group_id            = aws_security_group.task.id
  description                  = "runners' calls relayed to the leading trueup"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_vpc_security_group_ingress_rule" "existing_endpoints_from_runners" {
  count = var.enable_runners && var.vpc_endpoint_security_group_id != null ? 1 : 0

  security_group_id            = var.vpc_endpoint_security_group_id
  description                  = "HTTPS from trueup runners"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.runner[0].id
}
