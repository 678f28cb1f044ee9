output "vpc_id" {
  description = "The VPC."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "The VPC's address range."
  value       = aws_vpc.this.cidr_block
}

output "public_subnet_ids" {
  description = "The public subnets, one per zone: for the load balancer only."
  value       = aws_subnet.public[*].id
}

output "private_subnet_ids" {
  description = "The private subnets, one per zone: for the service, Aurora and ElastiCache."
  value       = aws_subnet.private[*].id
}

output "private_route_table_ids" {
  description = "The private subnets' route tables."
  value       = aws_route_table.private[*].id
}

output "service_security_group_id" {
  description = "The security group of the ECS service's tasks."
  value       = aws_security_group.service.id
}
