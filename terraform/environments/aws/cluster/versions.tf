terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.100"
    }
  }

  # Remote state lives in S3 with native locking; the bucket is created once by
  # hand (see README.md) and its coordinates are passed with
  # `terraform init -backend-config=backend.hcl`.
  backend "s3" {}
}

provider "aws" {
  region = var.region

  default_tags {
    tags = merge(var.tags, {
      "app.kubernetes.io/part-of" = "docproxy"
      "managed-by"                = "terraform"
      "environment"               = var.environment
    })
  }
}
