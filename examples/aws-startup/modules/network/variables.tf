variable "name" {
  description = "Prefix of every resource's Name tag."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; each subnet is a /24 carved from it."
  type        = string
  default     = "10.0.0.0/16"
}

variable "azs" {
  description = "The availability zones to spread the subnets over, one public and one private subnet in each."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2
    error_message = "Use at least two availability zones: the ALB, Aurora and ElastiCache need subnets in two."
  }
}

variable "interface_endpoints" {
  description = "AWS services reached through interface endpoints in the private subnets, so their traffic stays off the NAT gateways."
  type        = set(string)
  default     = ["ecr.api", "ecr.dkr", "logs", "secretsmanager"]
}
