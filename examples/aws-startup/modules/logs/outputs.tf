output "arns" {
  description = "The log groups' ARNs by name."
  value       = { for name, g in aws_cloudwatch_log_group.this : name => g.arn }
}

output "names" {
  description = "The log groups' names, by name: referencing them makes a writer wait for the group."
  value       = { for name, g in aws_cloudwatch_log_group.this : name => g.name }
}
