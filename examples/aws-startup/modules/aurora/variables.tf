variable "name" {
  description = "The cluster's identifier."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the cluster's security group."
  type        = string
}

variable "private_subnet_ids" {
  description = "The private subnets the cluster lives in (at least two zones)."
  type        = list(string)
}

variable "service_security_group_id" {
  description = "The only security group admitted to the database port."
  type        = string
}

variable "engine_version" {
  description = "Aurora PostgreSQL version."
  type        = string
  default     = "16.4"
}

variable "database_name" {
  description = "The database created with the cluster."
  type        = string
  default     = "app"
}

variable "min_acu" {
  description = "Fewest Aurora capacity units the cluster scales down to."
  type        = number
  default     = 0.5
}

variable "max_acu" {
  description = "Most Aurora capacity units the cluster scales up to."
  type        = number
  default     = 8
}

variable "instances" {
  description = "Serverless v2 instances: a writer and readers, spread over the subnets' zones."
  type        = number
  default     = 2
}
