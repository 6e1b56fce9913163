terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.0"
    }
  }

  # Same state bucket as the cluster layer, another key (see README.md).
  backend "s3" {}
}

# The cluster already exists (the cluster layer made it in an earlier apply),
# so these providers are configured from known values. Tokens come from the
# AWS CLI, so the caller's IAM identity needs an EKS access entry.
locals {
  eks_token_exec = {
    api_version = "client.authentication.k8s.io/v1beta1"
    command     = "aws"
    args        = ["eks", "get-token", "--cluster-name", local.cluster.cluster_name, "--region", local.cluster.region]
  }
}

provider "kubernetes" {
  host                   = local.cluster.cluster_endpoint
  cluster_ca_certificate = base64decode(local.cluster.cluster_certificate_authority_data)

  exec {
    api_version = local.eks_token_exec.api_version
    command     = local.eks_token_exec.command
    args        = local.eks_token_exec.args
  }
}

provider "helm" {
  kubernetes = {
    host                   = local.cluster.cluster_endpoint
    cluster_ca_certificate = base64decode(local.cluster.cluster_certificate_authority_data)
    exec                   = local.eks_token_exec
  }
}
