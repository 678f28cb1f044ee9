variable "region" {
  description = "AWS region to run trueup in."
  type        = string
}

variable "name" {
  description = "Name prefix of every resource (cluster, service, roles, log group, ALB)."
  type        = string
  default     = "trueup"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,20}$", var.name))
    error_message = "The name must be 1-21 lower-case letters, digits or dashes, starting with a letter (ALB and target group names are limited to 32 characters)."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# --- network ---

variable "vpc_id" {
  description = "VPC to run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (in at least two AZs) for the two tasks (one per AZ), the database and the VPC endpoints. They need a NAT route for GitHub, Slack and the Terraform registry; AWS APIs go through the VPC endpoints."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "Give at least two private subnets in different availability zones: one trueup task and one database instance in each."
  }
}

variable "private_route_table_ids" {
  description = "Route tables of the private subnets, for the S3 gateway endpoint (ECR image layers are served from S3)."
  type        = list(string)
  default     = []
}

variable "public_subnet_ids" {
  description = "Public subnets (at least two AZs) for the webhook load balancer."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_ids) >= 2
    error_message = "An application load balancer needs at least two subnets in different availability zones."
  }
}

variable "create_vpc_endpoints" {
  description = "Create the interface endpoints (ecr.api, ecr.dkr, logs, secretsmanager, sts) and the S3 gateway endpoint. Set false when the VPC already has them: two endpoints with private DNS for one service conflict."
  type        = bool
  default     = true
}

variable "vpc_endpoint_security_group_id" {
  description = "With create_vpc_endpoints = false: the security group of the VPC's existing interface endpoints, which then admits the tasks on 443 (e.g. deploy/aws-ecs's endpoints while moving up from it). null to leave it alone."
  type        = string
  default     = null
}

variable "webhook_ingress_cidrs" {
  description = "IPv4 CIDRs allowed to reach the webhook listener. Narrow it to GitHub's hook ranges (the \"hooks\" list of https://api.github.com/meta) when your forge is github.com."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener (the name GitHub's webhook URL uses)."
  type        = string
}

variable "webhook_host" {
  description = "DNS name pointing at the load balancer, used only to print the webhook URL. Empty means the ALB's own name."
  type        = string
  default     = ""
}

variable "alb_deletion_protection" {
  description = "Protect the load balancer from deletion."
  type        = bool
  default     = true
}

# --- the service ---

variable "cluster_arn" {
  description = "Existing ECS cluster to run in; null creates one named var.name."
  type        = string
  default     = null
}

variable "image" {
  description = "trueup image, ideally in ECR in this region (pulled through the VPC endpoints), pinned by tag or digest: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/trueup:v1.2.3."
  type        = string
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64, matching the image."
  type        = string
  default     = "X86_64"

  validation {
    condition     = contains(["X86_64", "ARM64"], var.cpu_architecture)
    error_message = "The cpu_architecture must be X86_64 or ARM64."
  }
}

variable "desired_count" {
  description = "trueup tasks: 2 (one leads, one stands by, in two AZs), or 0 to create the database without starting trueup, while moving up from one replica with trueup store copy (README.md)."
  type        = number
  default     = 2

  validation {
    condition     = contains([0, 2], var.desired_count)
    error_message = "The desired_count must be 2, or 0 while moving up."
  }
}

variable "ephemeral_storage_gib" {
  description = "Each task's ephemeral storage (21-200 GiB): the data dir (git mirror, workdirs, Terraform data dirs, plugin cache) and the image."
  type        = number
  default     = 30

  validation {
    condition     = var.ephemeral_storage_gib >= 21 && var.ephemeral_storage_gib <= 200
    error_message = "Fargate's ephemeral storage is 21 to 200 GiB."
  }
}

variable "trueup_config" {
  description = <<-EOT
    Contents of trueup.yaml (no secrets in it: they come from Secrets Manager as environment variables).
    data_dir must be /var/lib/trueup (unset is the same), store.postgres.dsn_env must be TRUEUP_DATABASE_URL
    (the DSN this module writes; never the DSN itself), and shutdown_grace must be set in seconds, at most
    100s: ECS kills the container 120 s after SIGTERM (Fargate's maximum stopTimeout), and Terraform needs the
    rest to write state after trueup interrupts it, and trueup to release the lease. See trueup.example.yaml.
  EOT
  type        = string

  validation {
    condition     = try(yamldecode(var.trueup_config).data_dir, "/var/lib/trueup") == "/var/lib/trueup"
    error_message = "The trueup_config must be YAML with data_dir unset or /var/lib/trueup, where the task's data volume is mounted."
  }

  validation {
    condition = try(
      yamldecode(var.trueup_config).store.postgres.dsn_env == "TRUEUP_DATABASE_URL" &&
      try(yamldecode(var.trueup_config).store.postgres.dsn_secret_arn, null) == null,
      false,
    )
    error_message = "The trueup_config must set store.postgres.dsn_env: TRUEUP_DATABASE_URL (the DSN ECS injects from this module's secret), and no dsn_secret_arn."
  }

  validation {
    condition = try(
      can(regex("^[0-9]+s$", yamldecode(var.trueup_config).shutdown_grace)) &&
      tonumber(trimsuffix(yamldecode(var.trueup_config).shutdown_grace, "s")) <= 100,
      false,
    )
    error_message = "The trueup_config must set shutdown_grace in seconds, at most 100s (e.g. \"100s\"): Fargate stops the container 120 s after SIGTERM, and the default grace (4m) is longer."
  }
}

variable "log_retention_days" {
  description = "CloudWatch retention of trueup's logs."
  type        = number
  default     = 90
}

variable "log_kms_key_arn" {
  description = "KMS key to encrypt the log group with; null uses CloudWatch's default encryption."
  type        = string
  default     = null
}

# --- secrets and permissions ---

variable "github_token_secret_arn" {
  description = "Secrets Manager secret (plain string) holding the GitHub token, exposed as GITHUB_TOKEN."
  type        = string
}

variable "github_webhook_secret_arn" {
  description = "Secrets Manager secret holding the webhook HMAC secret, exposed as GITHUB_WEBHOOK_SECRET."
  type        = string
}

variable "slack_webhook_url_secret_arn" {
  description = "Secrets Manager secret holding the Slack incoming-webhook URL, exposed as SLACK_WEBHOOK_URL; null for no Slack."
  type        = string
  default     = null
}

variable "api_token_secret_arn" {
  description = "Secrets Manager secret holding the /api/v1 bearer token, exposed as TRUEUP_API_TOKEN; null for no API token."
  type        = string
  default     = null
}

variable "secrets_kms_key_arns" {
  description = "Customer-managed KMS keys the secrets are encrypted with (the execution role gets kms:Decrypt on them). Empty when they use the AWS-managed key."
  type        = list(string)
  default     = []
}

variable "stack_role_arns" {
  description = "IAM roles the stacks' Terraform providers assume (provider \"aws\" { assume_role { role_arn = ... } }). They are the task role's only permission; each must trust the task role (output task_role_arn)."
  type        = list(string)

  validation {
    condition     = length(var.stack_role_arns) > 0
    error_message = "Give at least one stack role: trueup's own role can do nothing else."
  }
}

# --- the database ---

variable "db_engine_version" {
  description = "Aurora PostgreSQL version (one that supports Serverless v2); its major version names the parameter group family."
  type        = string
  default     = "16.6"
}

variable "db_min_capacity" {
  description = "Serverless v2 minimum, in ACUs (0.5 is the smallest that never pauses; the lease keeps the database busy anyway)."
  type        = number
  default     = 0.5

  validation {
    condition     = var.db_min_capacity >= 0.5
    error_message = "The db_min_capacity must be at least 0.5: a paused database would stop the leader renewing its lease."
  }
}

variable "db_max_capacity" {
  description = "Serverless v2 maximum, in ACUs."
  type        = number
  default     = 4
}

variable "db_instances" {
  description = "Aurora instances: 1 (a writer), or 2 (a writer and a reader in another AZ, promoted if the writer's AZ fails)."
  type        = number
  default     = 2

  validation {
    condition     = contains([1, 2], var.db_instances)
    error_message = "The db_instances must be 1 or 2."
  }
}

variable "db_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery) of the database."
  type        = number
  default     = 14

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "Aurora keeps backups for 1 to 35 days."
  }
}

variable "db_kms_key_arn" {
  description = "KMS key to encrypt the database with; null uses the AWS-managed RDS key."
  type        = string
  default     = null
}

# --- runners (runner.executor: ecs) ---

variable "enable_runners" {
  description = "Create what runner.executor: ecs needs: a task definition per purpose (plan, apply) with a task role each, their execution role, log group and security group, a DNS name for trueup in the VPC (runner.callback_url), and trueup's permission to run and stop those tasks. Set runner: in trueup_config from the output runner_config afterwards."
  type        = bool
  default     = false
}

variable "runner_cpu" {
  description = "CPU units of a runner task (one plan or apply each)."
  type        = number
  default     = 1024

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.runner_cpu)
    error_message = "The runner_cpu must be a Fargate CPU size: 256, 512, 1024, 2048, 4096, 8192 or 16384."
  }
}

variable "runner_memory" {
  description = "Memory (MiB) of a runner task; it must suit runner_cpu on Fargate."
  type        = number
  default     = 2048
}

variable "runner_plan_policy_arns" {
  description = <<-EOT
    Managed policies for the plan runners' task role; empty by default. Runs get their AWS credentials from
    trueup (the stacks' roles in trueup.yaml's aws:), not from this role, which Terraform in a runner does not
    see. Branch and pull request plans run with it too, and their code can reach what the task can: if you
    attach anything, make it read-only and narrow (no secrets, no other stack's state).
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = length([for arn in var.runner_plan_policy_arns : arn if can(regex("(?i):policy/(.*/)?(AdministratorAccess|PowerUserAccess|[A-Za-z0-9]*FullAccess[A-Za-z0-9_-]*)$", arn))]) == 0
    error_message = "The plan runners' task role must not write: AdministratorAccess, PowerUserAccess and *FullAccess policies belong to the apply role, if anywhere."
  }
}

variable "runner_apply_policy_arns" {
  description = "Managed policies for the apply runners' task role; empty by default (runs get their AWS credentials from trueup, per stack and purpose). Never given to plan runners."
  type        = list(string)
  default     = []
}

variable "runner_dns_namespace" {
  description = "Private DNS namespace (Cloud Map) in which trueup's task is registered for runners, as <name>.<namespace>; empty means \"<name>.internal\"."
  type        = string
  default     = ""
}
