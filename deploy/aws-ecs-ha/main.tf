data "aws_region" "current" {}
data "aws_partition" "current" {}

data "aws_subnet" "private" {
  for_each = toset(var.private_subnet_ids)

  id = each.value
}

locals {
  # Each task's own data dir (git mirror, workdirs, Terraform data dirs, plugin cache): a cache on the task's
  # ephemeral storage. The store and the state of stacks without a backend are in PostgreSQL.
  data_dir = "/var/lib/trueup"
  uid      = 10001
  port     = 8080
  db_port  = 5432

  # Fargate's maximum: ECS sends SIGTERM, waits this long, then SIGKILL. trueup_config's shutdown_grace must
  # end well before it (validated in variables.tf), leaving time to interrupt Terraform and release the lease.
  stop_timeout_seconds = 120

  # The availability zones of the private subnets: one task in each of two, and the database's instances.
  azs = sort(distinct([for s in data.aws_subnet.private : s.availability_zone]))

  # Environment variable => Secrets Manager ARN. trueup's config names these variables; nothing else in the
  # task definition is secret. TRUEUP_DATABASE_URL is the DSN this module writes (database.tf).
  secrets = { for k, arn in {
    GITHUB_TOKEN          = var.github_token_secret_arn
    GITHUB_WEBHOOK_SECRET = var.github_webhook_secret_arn
    SLACK_WEBHOOK_URL     = var.slack_webhook_url_secret_arn
    TRUEUP_API_TOKEN      = var.api_token_secret_arn
    TRUEUP_DATABASE_URL   = aws_secretsmanager_secret.database.arn
  } : k => arn if arn != null }

  # The ECR repository of var.image, when it is in ECR: the execution role may pull from it and nothing else.
  ecr_image = try(regex("^(?P<account>[0-9]{12})\\.dkr\\.ecr\\.(?P<region>[a-z0-9-]+)\\.amazonaws\\.com(?:\\.cn)?/(?P<repository>[^:@]+)", var.image), null)
  ecr_repository_arn = local.ecr_image == null ? null : format(
    "arn:%s:ecr:%s:%s:repository/%s",
    data.aws_partition.current.partition, local.ecr_image.region, local.ecr_image.account, local.ecr_image.repository,
  )

  cluster_arn = var.cluster_arn != null ? var.cluster_arn : aws_ecs_cluster.this[0].arn
}
