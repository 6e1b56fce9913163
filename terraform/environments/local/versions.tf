terraform {
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    kind = {
      source  = "tehcyx/kind"
      version = "~> 0.11"
    }
    helm = {
      source  = "hashicorp/helm"
      version = "~> 3.0"
    }
    kubernetes = {
      source  = "hashicorp/kubernetes"
      version = "~> 3.0"
    }
  }
}

# Both providers talk to the kind cluster created here, or to an existing
# kubeconfig context when kube_context is set (e.g. a cluster made by
# helm/kind-action in CI). Unused attributes are null.
provider "kubernetes" {
  host                   = local.cluster.host
  client_certificate     = local.cluster.client_certificate
  client_key             = local.cluster.client_key
  cluster_ca_certificate = local.cluster.cluster_ca_certificate
  config_path            = local.cluster.config_path
  config_context         = local.cluster.config_context
}

provider "helm" {
  kubernetes = local.cluster
}
