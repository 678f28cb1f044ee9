# Moving up from deploy/aws-ecs (one task, its data dir on EFS): a one-off task definition that runs
# trueup store copy from the old EFS data dir into this module's database. It exists only while
# store_copy_from is set; run it once with desired_count = 0 here and the old service stopped (README.md).

variable "store_copy_from" {
  description = "While moving up from deploy/aws-ecs: its data volume and identity, for a one-off task that runs trueup store copy (README.md). null otherwise."
  type = object({
    efs_file_system_id  = string # deploy/aws-ecs output efs_file_system_id
    efs_access_point_id = string # its access point (aws efs describe-access-points --file-system-id ...)
    task_role_arn       = string # output task_role_arn: the EFS file system policy lets only that role mount
    security_group_id   = string # output task_security_group_id: the EFS mount targets accept only that group
  })
  default = null
}

resource "aws_ecs_task_definition" "store_copy" {
  count = var.store_copy_from == null ? 0 : 1

  family                   = "${var.name}-store-copy"
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = 1024
  memory                   = 2048
  task_role_arn            = var.store_copy_from.task_role_arn
  execution_role_arn       = aws_iam_role.execution.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = var.cpu_architecture
  }

  volume {
    name = "old-data"

    efs_volume_configuration {
      file_system_id     = var.store_copy_from.efs_file_system_id
      transit_encryption = "ENABLED"

      authorization_config {
        access_point_id = var.store_copy_from.efs_access_point_id
        iam             = "ENABLED"
      }
    }
  }

  container_definitions = jsonencode([{
    name      = "store-copy"
    image     = var.image
    essential = true
    user      = "${local.uid}:${local.uid}"

    # trueup store copy reads store.postgres from the same trueup.yaml the service runs with, and refuses to
    # run while a daemon holds the data dir.
    entryPoint = ["/bin/sh", "-c"]
    command = [
      "umask 077 && printf '%s\\n' \"$TRUEUP_CONFIG\" > /tmp/trueup.yaml && exec /usr/local/bin/trueup store copy --from ${local.data_dir} --to postgres --config /tmp/trueup.yaml",
    ]
    readonlyRootFilesystem = false

    environment = [
      { name = "TRUEUP_CONFIG", value = var.trueup_config },
    ]
    secrets = [for name, arn in local.secrets : { name = name, valueFrom = arn }]

    mountPoints = [{ sourceVolume = "old-data", containerPath = local.data_dir, readOnly = false }]

    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = aws_cloudwatch_log_group.trueup.name
        awslogs-region        = data.aws_region.current.name
        awslogs-stream-prefix = "store-copy"
      }
    }
  }])
}

output "store_copy_run_task" {
  description = "The command that runs trueup store copy once (with store_copy_from set); null otherwise."
  value = var.store_copy_from == null ? null : join(" ", [
    "aws ecs run-task --launch-type FARGATE",
    "--cluster ${local.cluster_arn}",
    "--task-definition ${aws_ecs_task_definition.store_copy[0].arn}",
    "--network-configuration 'awsvpcConfiguration={subnets=[${join(",", var.private_subnet_ids)}],securityGroups=[${var.store_copy_from.security_group_id},${aws_security_group.task.id}],assignPublicIp=DISABLED}'",
  ])
}
