variable "finding_publishing_frequency" {
  description = "How often GuardDuty publishes updated findings."
  type        = string
  default     = "FIFTEEN_MINUTES"
}
