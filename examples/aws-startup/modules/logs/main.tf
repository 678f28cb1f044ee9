# CloudWatch log groups made ahead of their writers, so their retention is set (a group that a
# writer creates by itself keeps events forever) and Terraform owns them.

resource "aws_cloudwatch_log_group" "this" {
  for_each = var.names

  name              = each.key
  retention_in_days = var.retention_in_days
}
