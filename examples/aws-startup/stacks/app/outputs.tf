output "cluster_name" {
  description = "The ECS cluster."
  value       = module.service.cluster_name
}

output "service_name" {
  description = "The ECS service."
  value       = module.service.service_name
}

output "alb_dns_name" {
  description = "Point the site's DNS record here."
  value       = module.service.alb_dns_name
}
