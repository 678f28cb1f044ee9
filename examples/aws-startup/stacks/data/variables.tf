variable "region" {
  description = "The AWS region; trueup runs the stack with the same region (.trueup.yaml aws.region)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of the data stores."
  type        = string
  default     = "acme"
}

variable "uploads_bucket" {
  description = "The uploads bucket's globally unique name."
  type        = string
  default     = "acme-startup-uploads-eu-west-1"
}
