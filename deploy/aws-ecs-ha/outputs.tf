output "webhook_url" {
  description = "Payload URL for the GitHub webhook (content type application/json, secret = GITHUB_WEBHOOK_SECRET)."
  value       = "https://${var.webhook_host != "" ? var.webhook_host : aws_lb.webhooks.dns_name}/webhooks/github"
}

output "alb_dns_name" {
  description = "Point webhook_host's DNS record (alias) here."
  value       = aws_lb.webhooks.dns_name
}

output "alb_zone_id" {
  description = "Hosted zone of the load balancer, for a Route 53 alias record."
  value       = aws_lb.webhooks.zone_id
}

output "task_role_arn" {
  description = "trueup's identity: every stack role in stack_role_arns must trust it (sts:AssumeRole, sts:TagSession)."
  value       = aws_iam_role.task.arn
}

output "task_security_group_id" {
  description = "Security group of the trueup task, e.g. to allow it into a private forge or an internal /api/v1 client."
  value       = aws_security_group.task.id
}

output "cluster_arn" {
  description = "ECS cluster running trueup."
  value       = local.cluster_arn
}

output "service_name" {
  description = "ECS service running the two trueup tasks."
  value       = aws_ecs_service.trueup.name
}

output "database_endpoint" {
  description = "Writer endpoint of the Aurora cluster (trueup's DSN points here)."
  value       = aws_rds_cluster.trueup.endpoint
}

output "database_cluster_id" {
  description = "The Aurora cluster holding trueup's store, lease and the state of stacks without a backend."
  value       = aws_rds_cluster.trueup.id
}

output "database_url_secret_arn" {
  description = "Secrets Manager secret holding the DSN (TRUEUP_DATABASE_URL), e.g. for trueup store copy."
  value       = aws_secretsmanager_secret.database.arn
}

output "log_group_name" {
  description = "CloudWatch log group of trueup's logs."
  value       = aws_cloudwatch_log_group.trueup.name
}

output "runner_config" {
  description = "With enable_runners: the runner: section of trueup.yaml for runner.executor: ecs; add it to trueup_config and apply again."
  value = var.enable_runners ? yamlencode({
    runner = {
      executor     = "ecs"
      callback_url = local.runners_callback_url
      ecs = {
        cluster          = local.cluster_arn
        task_definitions = { for purpose, td in aws_ecs_task_definition.runner : purpose => td.family }
        subnets          = var.private_subnet_ids
        security_groups  = [aws_security_group.runner[0].id]
      }
    }
  }) : null
}

output "runner_task_definition_arns" {
  description = "With enable_runners: the runner task definitions (plan, apply), at their current revision."
  value       = { for purpose, td in aws_ecs_task_definition.runner : purpose => td.arn }
}

output "runner_task_role_arns" {
  description = "With enable_runners: the runner task roles (plan, apply)."
  value       = local.runner_task_roles
}

output "runner_security_group_id" {
  description = "With enable_runners: the runner tasks' security group (runner.ecs.security_groups)."
  value       = var.enable_runners ? aws_security_group.runner[0].id : null
}

output "runner_subnet_ids" {
  description = "With enable_runners: the subnets runner tasks run in (runner.ecs.subnets)."
  value       = var.enable_runners ? var.private_subnet_ids : null
}

output "runner_callback_url" {
  description = "With enable_runners: how runner tasks reach trueup (runner.callback_url)."
  value       = var.enable_runners ? local.runners_callback_url : null
}
