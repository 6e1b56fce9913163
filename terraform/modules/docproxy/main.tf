# docproxy and its upstream, installed from the repository's own charts
# (helm/docproxy, helm/dummy-pdf-or-png). The values are computed in ./values,
# a provider-free module with its own offline tests.

locals {
  charts_dir = coalesce(var.charts_dir, "${path.module}/../../../helm")
}

module "values" {
  source = "./values"

  docproxy_image       = { repository = var.docproxy_image_repository, tag = var.docproxy_image_tag }
  dummy_image          = { repository = var.dummy_image_repository, tag = var.dummy_image_tag }
  docproxy_env         = var.docproxy_env
  dummy_env            = var.dummy_env
  monitoring_enabled   = var.monitoring_enabled
  monitoring_labels    = var.monitoring_labels
  monitoring_namespace = var.monitoring_namespace
  docproxy_values      = var.docproxy_values
  dummy_values         = var.dummy_values
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of"          = "docproxy"
      "pod-security.kubernetes.io/enforce" = "restricted"
    }
  }
}

resource "helm_release" "upstream" {
  name      = module.values.upstream_release
  namespace = kubernetes_namespace_v1.this.metadata[0].name
  chart     = "${local.charts_dir}/dummy-pdf-or-png"
  timeout   = var.helm_timeout_seconds
  wait      = true

  values = module.values.upstream
}

resource "helm_release" "docproxy" {
  name      = "docproxy"
  namespace = kubernetes_namespace_v1.this.metadata[0].name
  chart     = "${local.charts_dir}/docproxy"
  timeout   = var.helm_timeout_seconds
  wait      = true

  values = module.values.docproxy

  depends_on = [helm_release.upstream]
}
