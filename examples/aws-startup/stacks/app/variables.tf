variable "region" {
  description = "The AWS region; trueup runs the stack with the same region (.trueup.yaml aws.region)."
  type        = string
  default     = "eu-west-1"
}

variable "name" {
  description = "The ECS cluster's and service's name (.trueup.yaml on_apply.ecs_redeploy uses it)."
  type        = string
  default     = "acme-app"
}

variable "image" {
  description = "The application's image; the moving tag is redeployed after each apply."
  type        = string
  default     = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/acme-app:main"
}

variable "certificate_arn" {
  description = "ACM certificate of the site's HTTPS listener."
  type        = string
  default     = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
}
