# In-cluster layer on EKS: the observability stack (Loki storing in the
# cluster layer's S3 bucket through Pod Identity) and docproxy pulling from
# the cluster layer's ECR repositories.

data "terraform_remote_state" "cluster" {
  backend = "s3"
  config = {
    bucket = var.cluster_state.bucket
    key    = var.cluster_state.key
    region = var.cluster_state.region
  }
}

locals {
  cluster = data.terraform_remote_state.cluster.outputs
}

# EKS clusters since 1.30 come without a default StorageClass; Prometheus and
# Loki need one for their volumes. gp3 through the EBS CSI add-on, encrypted.
resource "kubernetes_storage_class_v1" "gp3" {
  metadata {
    name        = "gp3"
    annotations = { "storageclass.kubernetes.io/is-default-class" = "true" }
  }

  storage_provisioner    = "ebs.csi.aws.com"
  reclaim_policy         = "Delete"
  volume_binding_mode    = "WaitForFirstConsumer"
  allow_volume_expansion = true
  parameters = {
    type      = "gp3"
    encrypted = "true"
  }
}

module "observability" {
  source = "../../../modules/observability-stack"

  # Must match the namespace and service account of the Loki Pod Identity association.
  namespace               = local.cluster.observability_namespace
  grafana_admin_password  = var.grafana_admin_password
  prometheus_retention    = var.prometheus_retention
  prometheus_storage_size = var.prometheus_storage_size
  storage_class_name      = kubernetes_storage_class_v1.gp3.metadata[0].name
  loki_s3 = {
    bucket = local.cluster.loki_bucket_name
    region = local.cluster.region
  }
}

module "docproxy" {
  source = "../../../modules/docproxy"

  namespace                 = "docproxy"
  docproxy_image_repository = local.cluster.ecr_repository_urls["docproxy"]
  docproxy_image_tag        = var.docproxy_image_tag
  dummy_image_repository    = local.cluster.ecr_repository_urls["dummy-pdf-or-png"]
  dummy_image_tag           = coalesce(var.dummy_image_tag, var.docproxy_image_tag)
  monitoring_labels         = module.observability.monitoring_labels
  monitoring_namespace      = module.observability.namespace
  docproxy_values           = var.docproxy_values

  depends_on = [module.observability]
}
