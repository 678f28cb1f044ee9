data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = "acme-startup-tfstate"
    key    = "stacks/network/terraform.tfstate"
    region = "eu-west-1"
  }
}

data "terraform_remote_state" "data" {
  backend = "s3"

  config = {
    bucket = "acme-startup-tfstate"
    key    = "stacks/data/terraform.tfstate"
    region = "eu-west-1"
  }
}

locals {
  log_group = "/ecs/${var.name}"
}

module "logs" {
  source = "../../modules/logs"

  names = [local.log_group]
}

data "aws_iam_policy_document" "app" {
  statement {
    sid       = "Uploads"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${data.terraform_remote_state.data.outputs.uploads_bucket_arn}/*"]
  }
}

# The service: 1 vCPU and 2 GB per task, two to ten tasks on average CPU, in the private subnets.
module "service" {
  source = "../../modules/ecs-service"

  name                      = var.name
  image                     = var.image
  certificate_arn           = var.certificate_arn
  vpc_id                    = data.terraform_remote_state.network.outputs.vpc_id
  public_subnet_ids         = data.terraform_remote_state.network.outputs.public_subnet_ids
  private_subnet_ids        = data.terraform_remote_state.network.outputs.private_subnet_ids
  service_security_group_id = data.terraform_remote_state.network.outputs.service_security_group_id
  log_group_name            = module.logs.names[local.log_group]

  cpu          = 1024
  memory       = 2048
  min_capacity = 2
  max_capacity = 10
  cpu_target   = 60

  environment = {
    DATABASE_HOST  = data.terraform_remote_state.data.outputs.database_endpoint
    DATABASE_NAME  = data.terraform_remote_state.data.outputs.database_name
    REDIS_HOST     = data.terraform_remote_state.data.outputs.redis_endpoint
    UPLOADS_BUCKET = data.terraform_remote_state.data.outputs.uploads_bucket
  }
  secrets = {
    DATABASE_USER     = "${data.terraform_remote_state.data.outputs.database_secret_arn}:username::"
    DATABASE_PASSWORD = "${data.terraform_remote_state.data.outputs.database_secret_arn}:password::"
  }
  task_role_policy_json = data.aws_iam_policy_document.app.json
}
