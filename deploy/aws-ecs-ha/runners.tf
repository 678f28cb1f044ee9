# Runners (runner.executor: ecs), created only with enable_runners: every plan and apply runs in an ECS task
# of its own, started by trueup with RunTask (the run id as ClientToken, StartedBy "trueup"), one task
# definition and so one task role per purpose. The runner is this image started as `trueup runner`: it fetches
# its job, tree and plan file from trueup over HTTP (runner.callback_url) and reports back.
#
#   trueup task ── ecs:RunTask/StopTask/DescribeTasks (this cluster), iam:PassRole (the runner roles) ──▶ ECS
#   runner task ── :8080 ──▶ trueup task (registered in Cloud Map as <name>.<runner_dns_namespace>)
#   runner task ── :443 ──▶ Terraform registry, providers, AWS APIs (NAT, VPC endpoints)

locals {
  runners_dns_namespace = var.runner_dns_namespace != "" ? var.runner_dns_namespace : "${var.name}.internal"
  runners_callback_url  = "http://${var.name}.${local.runners_dns_namespace}:${local.port}"

  # The task role of each purpose: a plan task never holds the apply role.
  runner_task_roles = var.enable_runners ? {
    plan  = aws_iam_role.runner_plan[0].arn
    apply = aws_iam_role.runner_apply[0].arn
  } : {}

  # arn:aws:ecs:<region>:<account>:cluster/<name> -> the ARNs of that cluster's tasks.
  cluster_tasks_arn = "${replace(local.cluster_arn, ":cluster/", ":task/")}/*"
}

data "aws_caller_identity" "current" {}

resource "aws_cloudwatch_log_group" "runner" {
  count = var.enable_runners ? 1 : 0

  name              = "/ecs/${var.name}-runners"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
}

# --- identities ---

# Only ECS tasks of this account and region may assume the runner roles.
data "aws_iam_policy_document" "runner_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }

    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = ["arn:${data.aws_partition.current.partition}:ecs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:*"]
    }
  }
}

# Runs get their AWS credentials from trueup (the stacks' roles, assumed per stack and purpose); Terraform
# in a runner does not see its task role. So both roles hold nothing unless given policies, and keep a plan
# task from ever running as the apply identity. Branch and pull request plans run as runner_plan.
resource "aws_iam_role" "runner_plan" {
  count = var.enable_runners ? 1 : 0

  name               = "${var.name}-runner-plan"
  description        = "trueup plan runners (branch code too): read-only at most"
  assume_role_policy = data.aws_iam_policy_document.runner_assume.json
}

resource "aws_iam_role_policy_attachment" "runner_plan" {
  for_each = var.enable_runners ? toset(var.runner_plan_policy_arns) : toset([])

  role       = aws_iam_role.runner_plan[0].name
  policy_arn = each.value
}

resource "aws_iam_role" "runner_apply" {
  count = var.enable_runners ? 1 : 0

  name               = "${var.name}-runner-apply"
  description        = "trueup apply runners"
  assume_role_policy = data.aws_iam_policy_document.runner_assume.json
}

resource "aws_iam_role_policy_attachment" "runner_apply" {
  for_each = var.enable_runners ? toset(var.runner_apply_policy_arns) : toset([])

  role       = aws_iam_role.runner_apply[0].name
  policy_arn = each.value
}

# What ECS does to start a runner: pull the image and write the log stream. No secrets: a runner has none
# (its run token is a container override, its credentials come from trueup).
resource "aws_iam_role" "runner_execution" {
  count = var.enable_runners ? 1 : 0

  name               = "${var.name}-runner-execution"
  description        = "ECS agent for trueup runners: image, logs"
  assume_role_policy = data.aws_iam_policy_document.runner_assume.json
}

data "aws_iam_policy_document" "runner_execution" {
  count = var.enable_runners ? 1 : 0

  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # the action supports no resource scoping
  }

  dynamic "statement" {
    for_each = local.ecr_repository_arn == null ? [] : [local.ecr_repository_arn]

    content {
      sid       = "PullTrueupImage"
      actions   = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
      resources = [statement.value]
    }
  }

  statement {
    sid       = "WriteLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.runner[0].arn}:*"]
  }
}

resource "aws_iam_role_policy" "runner_execution" {
  count = var.enable_runners ? 1 : 0

  name   = "start-trueup-runners"
  role   = aws_iam_role.runner_execution[0].id
  policy = data.aws_iam_policy_document.runner_execution[0].json
}

# --- trueup's own permissions: start, watch and stop runner tasks, on this cluster only ---

data "aws_iam_policy_document" "task_runners" {
  count = var.enable_runners ? 1 : 0

  statement {
    sid     = "RunRunnerTasks"
    actions = ["ecs:RunTask"]
    # Any revision of the two runner families (runner.ecs.task_definitions may name a family alone).
    resources = [for td in aws_ecs_task_definition.runner : "${td.arn_without_revision}:*"]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid = "TagRunnerTasksAtLaunch"
    # RunTask with tags (the run's description, for adoption after a restart) needs it, only at launch.
    actions   = ["ecs:TagResource"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RunTask"]
    }
  }

  statement {
    sid = "WatchAndStopRunnerTasks"
    # DescribeTasks shows a running task's overrides, and so its run token: keep it to trueup's role.
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = [local.cluster_tasks_arn]

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "ListRunnerTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"] # ListTasks names no task; the condition keeps it to this cluster

    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }

  statement {
    sid       = "PassRunnerRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.runner_plan[0].arn, aws_iam_role.runner_apply[0].arn, aws_iam_role.runner_execution[0].arn]

    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "task_runners" {
  count = var.enable_runners ? 1 : 0

  name   = "run-trueup-runners"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_runners[0].json
}

# --- the task definitions ---

resource "aws_ecs_task_definition" "runner" {
  for_each = local.runner_task_roles

  family                   = "${var.name}-${each.key}"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.runner_cpu
  memory                   = var.runner_memory
  task_role_arn            = each.value
  execution_role_arn       = aws_iam_role.runner_execution[0].arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # No volume: a runner keeps nothing (stacks need a state backend of their own). No environment and no
  # secrets: trueup adds the run's id, its URL and its token as overrides when it starts the task.
  container_definitions = jsonencode([{
    name      = "trueup" # runner.ecs.container's default
    image     = var.image
    essential = true
    user      = "${local.uid}:${local.uid}"

    # The image's entrypoint is `trueup run`: a runner is `trueup runner` (trueup overrides the command
    # with ["runner"] too).
    entryPoint = ["/usr/local/bin/trueup"]
    command    = ["runner"]

    # The runner unpacks the tree and runs Terraform under /tmp; Fargate's scratch space is root-owned, so
    # the root filesystem stays writable, as for trueup.
    readonlyRootFilesystem = false

    # StopTask (a canceled or superseded run) sends SIGTERM: the runner interrupts Terraform, which writes
    # state and releases its lock before SIGKILL.
    stopTimeout = local.stop_timeout_seconds

    # tini as PID 1 reaps Terraform's provider processes.
    linuxParameters = { initProcessEnabled = true }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.runner[0].name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = each.key
      }
    }
  }])
}

# --- network ---

resource "aws_security_group" "runner" {
  count = var.enable_runners ? 1 : 0

  name        = "${var.name}-runner"
  description = "trueup runner tasks"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "runner_https" {
  count = var.enable_runners ? 1 : 0

  security_group_id = aws_security_group.runner[0].id
  description       = "HTTPS: Terraform registry, providers, AWS APIs"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_vpc_security_group_egress_rule" "runner_to_trueup" {
  count = var.enable_runners ? 1 : 0

  security_group_id            = aws_security_group.runner[0].id
  description                  = "the runner protocol, to trueup"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.task.id
}

resource "aws_vpc_security_group_ingress_rule" "task_from_runners" {
  count = var.enable_runners ? 1 : 0

  security_group_id            = aws_security_group.task.id
  description                  = "the runner protocol, from runner tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.port
  to_port                      = local.port
  referenced_security_group_id = aws_security_group.runner[0].id
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_runners" {
  count = var.enable_runners && var.create_vpc_endpoints ? 1 : 0

  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from trueup runners"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.runner[0].id
}

# A stable name for trueup's task, whose address changes with every deploy: runner.callback_url.
resource "aws_service_discovery_private_dns_namespace" "runners" {
  count = var.enable_runners ? 1 : 0

  name        = local.runners_dns_namespace
  description = "trueup, as its runners reach it"
  vpc         = var.vpc_id
}

resource "aws_service_discovery_service" "trueup" {
  count = var.enable_runners ? 1 : 0

  name = var.name

  dns_config {
    namespace_id   = aws_service_discovery_private_dns_namespace.runners[0].id
    routing_policy = "MULTIVALUE"

    dns_records {
      type = "A"
      ttl  = 10
    }
  }
}
