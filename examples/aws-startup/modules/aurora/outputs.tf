output "endpoint" {
  description = "The writer endpoint."
  value       = aws_rds_cluster.this.endpoint
}

output "reader_endpoint" {
  description = "The readers' endpoint."
  value       = aws_rds_cluster.this.reader_endpoint
}

output "database_name" {
  description = "The application's database."
  value       = aws_rds_cluster.this.database_name
}

output "master_user_secret_arn" {
  description = "The Secrets Manager secret holding the generated master credentials."
  value       = aws_rds_cluster.this.master_user_secret[0].secret_arn
}
