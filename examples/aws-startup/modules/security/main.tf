# Account-wide detection: GuardDuty watches CloudTrail, VPC flow and DNS logs for threats;
# Security Hub collects the findings and checks the account against AWS Foundational Security
# Best Practices. AWS services' findings (GuardDuty's among them) reach Security Hub without a
# product subscription.

data "aws_region" "current" {}

resource "aws_guardduty_detector" "this" {
  enable                       = true
  finding_publishing_frequency = var.finding_publishing_frequency
}

resource "aws_securityhub_account" "this" {
  enable_default_standards = false
  auto_enable_controls     = true
}

resource "aws_securityhub_standards_subscription" "foundational" {
  standards_arn = "arn:aws:securityhub:${data.aws_region.current.name}::standards/aws-foundational-security-best-practices/v/1.0.0"

  depends_on = [aws_securityhub_account.this]
}

