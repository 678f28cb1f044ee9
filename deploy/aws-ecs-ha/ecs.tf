resource "aws_ecs_cluster" "this" {
  count = var.cluster_arn == null ? 1 : 0

  name = var.name

  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "trueup" {
  name              = "/ecs/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
}

resource "aws_ecs_task_definition" "trueup" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024 # 1 vCPU: one plan or apply at a time is mostly Terraform and provider CPU
  memory                   = 2048 # 2 GB: the git mirror, Terraform and a few provider plugins
  task_role_arn            = aws_iam_role.task.arn
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  # The data dir is a cache, so the task's own ephemeral storage will do: no EFS. A bind mount at the path
  # of the image's VOLUME is filled by Fargate from that directory of the image, owner (uid 10001) included,
  # which a bare bind mount (root-owned) would not be.
  ephemeral_storage {
    size_in_gib = var.ephemeral_storage_gib
  }

  volume {
    name = "data"
  }

  container_definitions = jsonencode([{
    name      = "trueup"
    image     = var.image
    essential = true
    user      = "${local.uid}:${local.uid}"

    # ECS has no config-file mount: write trueup.yaml from the environment into /tmp, then exec trueup so it
    # receives SIGTERM itself. The root filesystem stays writable because Fargate's scratch volumes are
    # root-owned (aws/containers-roadmap#938); the image runs as uid 10001, which can write only /tmp and the data dir.
    entryPoint = ["/bin/sh", "-c"]
    command = [
      "umask 077 && printf '%s\\n' \"$TRUEUP_CONFIG\" > /tmp/trueup.yaml && exec /usr/local/bin/trueup run --config /tmp/trueup.yaml",
    ]
    readonlyRootFilesystem = false

    environment = [
      { name = "TRUEUP_CONFIG", value = var.trueup_config },
    ]
    # The DSN too (TRUEUP_DATABASE_URL): injected by ECS, referenced by store.postgres.dsn_env, never written.
    secrets = [for name, arn in local.secrets : { name = name, valueFrom = arn }]

    portMappings = [{ name = "http", containerPort = local.port, protocol = "tcp" }]
    mountPoints  = [{ sourceVolume = "data", containerPath = local.data_dir, readOnly = false }]

    # SIGTERM, then SIGKILL after this many seconds (120 is Fargate's maximum): trueup's shutdown_grace must be
    # shorter (trueup_config is validated to at most 100s), so an apply that runs longer is interrupted by
    # trueup, Terraform releases its lock and writes state, and trueup releases the lease, instead of being
    # killed and leaving the standby to wait for the lease to run out.
    stopTimeout = local.stop_timeout_seconds

    # tini as PID 1 reaps Terraform's orphaned provider processes and forwards SIGTERM to trueup only.
    linuxParameters = { initProcessEnabled = true }

    healthCheck = {
      command     = ["CMD", "curl", "-fsS", "-o", "/dev/null", "http://127.0.0.1:${local.port}/healthz"]
      interval    = 30
      timeout     = 5
      retries     = 3
      startPeriod = 60
    }

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.trueup.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "trueup"
      }
    }
  }])
}

resource "aws_ecs_service" "trueup" {
  name             = var.name
  cluster          = local.cluster_arn
  task_definition  = aws_ecs_task_definition.trueup.arn
  launch_type      = "FARGATE"
  platform_version = "LATEST"

  # Two tasks on one database: one leads, the other stands by. Fargate spreads a service's tasks across the
  # zones of its subnets, and rebalancing moves one back when a zone returns. Leader election makes an
  # overlap safe, so deploys start the new tasks first (100 % / 200 %): a standby is always there when the
  # leader stops and releases its lease. desired_count is 0 only while moving up (README.md).
  desired_count                      = var.desired_count
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  availability_zone_rebalancing      = "ENABLED"

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  health_check_grace_period_seconds = 60
  enable_ecs_managed_tags           = true
  propagate_tags                    = "SERVICE"
  enable_execute_command            = false

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.task.id]
    assign_public_ip = false
  }

  # Both tasks receive webhooks: a standby records the delivery in the database and wakes the leader.
  load_balancer {
    target_group_arn = aws_lb_target_group.trueup.arn
    container_name   = "trueup"
    container_port   = local.port
  }

  # With enable_runners: both tasks' addresses under one name, runner.callback_url (runners.tf). A runner
  # may reach either: a standby relays its calls to the leader.
  dynamic "service_registries" {
    for_each = aws_service_discovery_service.trueup

    content {
      registry_arn = service_registries.value.arn
    }
  }

  lifecycle {
    precondition {
      condition     = length(local.azs) >= 2
      error_message = "The private subnets must span at least two availability zones: one trueup task in each."
    }

    precondition {
      condition     = var.enable_runners || try(yamldecode(var.trueup_config).runner.executor, "local") != "ecs"
      error_message = "The trueup_config sets runner.executor: ecs, but enable_runners is false: trueup could not start its runner tasks."
    }
  }

  # The database must answer and the secrets be readable before the first task starts.
  depends_on = [
    aws_lb_listener_rule.webhooks,
    aws_rds_cluster_instance.trueup,
    aws_secretsmanager_secret_version.database,
    aws_iam_role_policy.execution,
    aws_vpc_endpoint.interface,
    aws_vpc_endpoint.s3,
  ]
}
