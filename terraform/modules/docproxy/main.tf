# docproxy and its upstream, installed from the repository's own charts
# (helm/docproxy, helm/dummy-pdf-or-png). Only what differs per environment is
# set here; every other default lives in the charts' values.yaml.

locals {
  charts_dir = coalesce(var.charts_dir, "${path.module}/../../../helm")

  # docproxy's default upstream URL (http://dummy-pdf-or-png:3000) assumes this release name.
  upstream_release = "dummy-pdf-or-png"

  monitoring = {
    enabled = var.monitoring_enabled
    labels  = var.monitoring_labels
  }
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
  name      = local.upstream_release
  namespace = kubernetes_namespace_v1.this.metadata[0].name
  chart     = "${local.charts_dir}/dummy-pdf-or-png"
  timeout   = var.helm_timeout_seconds
  wait      = true

  values = concat([yamlencode({
    image         = { repository = var.dummy_image_repository, tag = var.dummy_image_tag }
    env           = var.dummy_env
    monitoring    = local.monitoring
    networkPolicy = { monitoringNamespace = var.monitoring_namespace }
  })], var.dummy_values)
}

resource "helm_release" "docproxy" {
  name      = "docproxy"
  namespace = kubernetes_namespace_v1.this.metadata[0].name
  chart     = "${local.charts_dir}/docproxy"
  timeout   = var.helm_timeout_seconds
  wait      = true

  values = concat([yamlencode({
    image = { repository = var.docproxy_image_repository, tag = var.docproxy_image_tag }
    config = {
      upstreamUrl = "http://${local.upstream_release}:3000"
      env         = var.docproxy_env
    }
    monitoring    = local.monitoring
    networkPolicy = { monitoringNamespace = var.monitoring_namespace }
  })], var.docproxy_values)

  depends_on = [helm_release.upstream]
}
