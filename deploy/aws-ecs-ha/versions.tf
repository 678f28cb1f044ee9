# A root module: copy it next to your other platform stacks (not into the repository trueup watches: an apply that
# replaces trueup's own tasks would interrupt itself) and give it a backend. Its state holds the database
# password (Terraform 1.5 has no write-only attributes): keep the state encrypted and access to it narrow.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.77" # availability_zone_rebalancing
    }
    random = {
      source  = "hashicorp/random"
      version = "~> 3.6"
    }
  }

  # backend "s3" {
  #   bucket         = "acme-terraform-state"
  #   key            = "platform/trueup.tfstate"
  #   region         = "eu-west-1"
  #   dynamodb_table = "terraform-locks"
  #   encrypt        = true
  # }
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge({ "app" = "trueup" }, var.tags)
  }
}
