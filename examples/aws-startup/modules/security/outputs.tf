output "guardduty_detector_id" {
  description = "The GuardDuty detector."
  value       = aws_guardduty_detector.this.id
}
