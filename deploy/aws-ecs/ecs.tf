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

  volume {
    name = "data"

    efs_volume_configuration {
      file_system_id     = aws_efs_file_system.data.id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = aws_efs_access_point.data.id
        iam             = "ENABLED"
      }
    }
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
    secrets = [for name, arn in local.secrets : { name = name, valueFrom = arn }]

    portMappings = [{ name = "http", containerPort = local.port, protocol = "tcp" }]
    mountPoints  = [{ sourceVolume = "data", containerPath = local.data_dir, readOnly = false }]

    # SIGTERM, then SIGKILL after this many seconds (120 is Fargate's maximum): trueup's shutdown_grace must be
    # shorter (trueup_config is validated to at most 110s), so an apply that runs longer is interrupted by
    # trueup and Terraform releases its lock and writes state, instead of being killed.
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

  # Exactly one trueup per data dir, also during deploys: ECS stops the old task (letting its apply finish)
  # before it starts the new one. trueup's lock on <data dir>/trueup.lock (an NFS lock on EFS) is the second
  # line of defence.
  desired_count                      = 1
  deployment_minimum_healthy_percent = 0
  deployment_maximum_percent         = 100

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

  load_balancer {
    target_group_arn = aws_lb_target_group.trueup.arn
    container_name   = "trueup"
    container_port   = local.port
  }

  # With enable_runners: trueup's address in the VPC, for runner.callback_url (runners.tf).
  dynamic "service_registries" {
    for_each = aws_service_discovery_service.trueup

    content {
      registry_arn = service_registries.value.arn
    }
  }

  lifecycle {
    precondition {
      condition     = var.enable_runners || try(yamldecode(var.trueup_config).runner.executor, "local") != "ecs"
      error_message = "The trueup_config sets runner.executor: ecs, but enable_runners is false: trueup could not start its runner tasks."
    }
  }

  # The volume must be mountable and the secrets readable before the first task starts.
  depends_on = [
    aws_lb_listener_rule.webhooks,
    aws_efs_mount_target.data,
    aws_efs_file_system_policy.data,
    aws_iam_role_policy.execution,
    aws_vpc_endpoint.interface,
    aws_vpc_endpoint.s3,
  ]
}
