# The network every other stack builds on: the VPC, its subnets and routes, the VPC endpoints,
# the service's security group, and VPC flow logs.

module "network" {
  source = "../../modules/network"

  name = var.name
  azs  = var.azs
}

module "logs" {
  source = "../../modules/logs"

  names             = ["/vpc/${var.name}/flow-logs"]
  retention_in_days = 90
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs_write" {
  statement {
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${module.logs.arns["/vpc/${var.name}/flow-logs"]}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${var.name}-flow-logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs_write.json
}

resource "aws_flow_log" "vpc" {
  vpc_id          = module.network.vpc_id
  traffic_type    = "REJECT"
  iam_role_arn    = aws_iam_role.flow_logs.arn
  log_destination = module.logs.arns["/vpc/${var.name}/flow-logs"]
}
