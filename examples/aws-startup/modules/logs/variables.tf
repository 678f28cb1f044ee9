variable "names" {
  description = "The log groups to create."
  type        = set(string)
}

variable "retention_in_days" {
  description = "How long CloudWatch keeps the events."
  type        = number
  default     = 30
}
