variable "name" {
  description = "The replication group's identifier."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the cache's security group."
  type        = string
}

variable "private_subnet_ids" {
  description = "The private subnets the cache nodes live in."
  type        = list(string)
}

variable "service_security_group_id" {
  description = "The only security group admitted to the Redis port."
  type        = string
}

variable "node_type" {
  description = "The cache nodes' instance type."
  type        = string
  default     = "cache.t4g.small"
}
