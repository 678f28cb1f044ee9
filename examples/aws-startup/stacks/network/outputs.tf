# Read by the data and app stacks through terraform_remote_state.

output "vpc_id" {
  description = "The VPC."
  value       = module.network.vpc_id
}

output "public_subnet_ids" {
  description = "Public subnets: the load balancer's only."
  value       = module.network.public_subnet_ids
}

output "private_subnet_ids" {
  description = "Private subnets: the service, Aurora and ElastiCache."
  value       = module.network.private_subnet_ids
}

output "service_security_group_id" {
  description = "The ECS service's security group."
  value       = module.network.service_security_group_id
}
