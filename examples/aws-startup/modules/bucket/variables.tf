variable "name" {
  description = "The bucket's globally unique name."
  type        = string
}

variable "archive_after_days" {
  description = "Days after which objects move to S3 Glacier Deep Archive."
  type        = number
  default     = 90
}
