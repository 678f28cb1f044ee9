data "terraform_remote_state" "network" {
  backend = "s3"

  config = {
    bucket = "acme-startup-tfstate"
    key    = "stacks/network/terraform.tfstate"
    region = "eu-west-1"
  }
}

# Aurora and Redis live in the network's private subnets and admit only the service's security
# group. This stack's drift is never corrected automatically (.trueup.yaml): a database is not
# something to replace without a person looking.

module "aurora" {
  source = "../../modules/aurora"

  name                      = var.name
  vpc_id                    = data.terraform_remote_state.network.outputs.vpc_id
  private_subnet_ids        = data.terraform_remote_state.network.outputs.private_subnet_ids
  service_security_group_id = data.terraform_remote_state.network.outputs.service_security_group_id
  min_acu                   = 0.5
  max_acu                   = 8
}

module "redis" {
  source = "../../modules/redis"

  name                      = var.name
  vpc_id                    = data.terraform_remote_state.network.outputs.vpc_id
  private_subnet_ids        = data.terraform_remote_state.network.outputs.private_subnet_ids
  service_security_group_id = data.terraform_remote_state.network.outputs.service_security_group_id
}

module "uploads" {
  source = "../../modules/bucket"

  name               = var.uploads_bucket
  archive_after_days = 90
}
