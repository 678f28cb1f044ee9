provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "acme-startup"
      Stack     = "network"
      ManagedBy = "trueup"
    }
  }
}
