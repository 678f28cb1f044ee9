variable "region" {
  description = "The AWS region; trueup runs the stack with the same region (.trueup.yaml aws.region)."
  type        = string
  default     = "eu-west-1"
}

