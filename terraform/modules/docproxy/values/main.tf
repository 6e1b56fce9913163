# The two charts' Helm values, computed without any provider so `terraform
# test` can check them offline against the charts' own values.yaml. Only what
# differs per environment is set; every other default stays in the charts.

locals {
  # docproxy's default upstream URL (http://dummy-pdf-or-png:3000) assumes this release name.
  upstream_release = "dummy-pdf-or-png"
  upstream_port    = 3000

  monitoring = {
    enabled = var.monitoring_enabled
    labels  = var.monitoring_labels
  }

  upstream_values = {
    image         = var.dummy_image
    env           = var.dummy_env
    monitoring    = local.monitoring
    networkPolicy = { monitoringNamespace = var.monitoring_namespace }
  }

  docproxy_values = {
    image = var.docproxy_image
    config = {
      upstreamUrl = "http://${local.upstream_release}:${local.upstream_port}"
      env         = var.docproxy_env
    }
    monitoring    = local.monitoring
    networkPolicy = { monitoringNamespace = var.monitoring_namespace }
  }
}
