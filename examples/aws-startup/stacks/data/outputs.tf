# Read by the app stack through terraform_remote_state.

output "database_endpoint" {
  description = "Aurora's writer endpoint."
  value       = module.aurora.endpoint
}

output "database_name" {
  description = "The application's database."
  value       = module.aurora.database_name
}

output "database_secret_arn" {
  description = "The Secrets Manager secret with the database credentials."
  value       = module.aurora.master_user_secret_arn
}

output "redis_endpoint" {
  description = "Redis's primary endpoint."
  value       = module.redis.primary_endpoint
}

output "uploads_bucket" {
  description = "The uploads bucket's name."
  value       = module.uploads.name
}

output "uploads_bucket_arn" {
  description = "The uploads bucket's ARN."
  value       = module.uploads.arn
}
