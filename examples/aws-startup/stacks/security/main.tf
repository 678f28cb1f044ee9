# Account-wide threat detection and posture checks, in a stack of its own: it changes rarely and
# its apply role needs rights (GuardDuty, Security Hub) no other stack does.

module "security" {
  source = "../../modules/security"
}

output "guardduty_detector_id" {
  description = "The GuardDuty detector."
  value       = module.security.guardduty_detector_id
}
