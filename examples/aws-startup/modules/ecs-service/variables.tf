variable "name" {
  description = "The cluster's and service's name."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the load balancer's target group."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the internet-facing load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the service's tasks; they get no public address."
  type        = list(string)
}

variable "service_security_group_id" {
  description = "The tasks' security group (made by the network stack, admitted by the data stores)."
  type        = string
}

variable "image" {
  description = "The container image. A moving tag (\"main\") is redeployed by trueup's on_apply.ecs_redeploy after each apply."
  type        = string
}

variable "container_port" {
  description = "The port the container listens on."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "The path the load balancer checks."
  type        = string
  default     = "/health"
}

variable "cpu" {
  description = "Task CPU units: 1024 is 1 vCPU."
  type        = number
  default     = 1024
}

variable "memory" {
  description = "Task memory in MiB."
  type        = number
  default     = 2048
}

variable "min_capacity" {
  description = "The fewest tasks autoscaling keeps (two: one per zone)."
  type        = number
  default     = 2
}

variable "max_capacity" {
  description = "The most tasks autoscaling starts."
  type        = number
  default     = 10
}

variable "cpu_target" {
  description = "Average CPU utilization, in percent, that autoscaling aims for."
  type        = number
  default     = 60
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "log_group_name" {
  description = "CloudWatch log group the containers write to."
  type        = string
}

variable "environment" {
  description = "Plain environment variables of the container."
  type        = map(string)
  default     = {}
}

variable "secrets" {
  description = "Environment variables read from Secrets Manager at start (name => secret ARN, optionally with a :json-key::)."
  type        = map(string)
  default     = {}
}

variable "task_role_policy_json" {
  description = "IAM policy of what the application itself may do (S3, ...)."
  type        = string
}
