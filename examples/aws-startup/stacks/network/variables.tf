variable "region" {
  description = "The AWS region; trueup runs the stack with the same region (.trueup.yaml aws.region)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "Prefix of the network's resources."
  type        = string
  default     = "acme"
}

variable "azs" {
  description = "Two availability zones."
  type        = list(string)
  default     = ["eu-west-1a", "eu-west-1b"]
}
