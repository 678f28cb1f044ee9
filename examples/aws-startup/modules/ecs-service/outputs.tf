output "cluster_name" {
  description = "The ECS cluster (trueup's on_apply.ecs_redeploy names it)."
  value       = aws_ecs_cluster.this.name
}

output "service_name" {
  description = "The ECS service."
  value       = aws_ecs_service.this.name
}

output "alb_dns_name" {
  description = "Point the site's DNS record here."
  value       = aws_lb.this.dns_name
}
