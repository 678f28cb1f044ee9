provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project   = "acme-startup"
      Stack     = "security"
      ManagedBy = "trueup"
    }
  }
}
