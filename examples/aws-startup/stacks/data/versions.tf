terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.40"
    }
  }

  # The state lives in S3, locked in DynamoDB. The bucket and table are made once, by hand or a
  # bootstrap stack, before trueup plans anything. trueup runs Terraform with the stack's role
  # (.trueup.yaml), so the plan role needs read access here and the lock table.
  backend "s3" {
    bucket         = "acme-startup-tfstate"
    key            = "stacks/data/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-startup-tflock"
    encrypt        = true
  }
}
