output "primary_endpoint" {
  description = "Where the application writes."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "port" {
  description = "The Redis port."
  value       = aws_elasticache_replication_group.this.port
}
