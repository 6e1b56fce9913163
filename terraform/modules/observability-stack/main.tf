# Metrics, logs and dashboards for the cluster: kube-prometheus-stack
# (Prometheus Operator, Prometheus, Alertmanager, Grafana), Loki in monolithic
# mode, and Alloy shipping pod logs to Loki. The Alloy config and Loki values
# are read from observability/, the single source of truth; our alert rules,
# ServiceMonitors and dashboards ship with the docproxy chart, and this stack
# is configured to pick them up from any namespace. The charts' values are
# computed in ./values, a provider-free module with its own offline tests.

locals {
  kps_release  = "kube-prometheus-stack"
  loki_release = "loki"
}

module "values" {
  source = "./values"

  namespace                        = var.namespace
  observability_dir                = coalesce(var.observability_dir, "${path.module}/../../../observability")
  loki_release                     = local.loki_release
  scrape_control_plane             = var.scrape_control_plane
  node_exporter_host_root_mount    = var.node_exporter_host_root_mount
  prometheus_retention             = var.prometheus_retention
  prometheus_storage_size          = var.prometheus_storage_size
  storage_class_name               = var.storage_class_name
  loki_s3                          = var.loki_s3
  loki_service_account_annotations = var.loki_service_account_annotations

  kube_prometheus_stack_chart_version = var.kube_prometheus_stack_chart_version
  loki_chart_version                  = var.loki_chart_version
  alloy_chart_version                 = var.alloy_chart_version
}

resource "kubernetes_namespace_v1" "this" {
  metadata {
    name = var.namespace
    labels = {
      "app.kubernetes.io/part-of" = "docproxy-observability"
      # node-exporter needs host namespaces and hostPath mounts.
      "pod-security.kubernetes.io/enforce" = "privileged"
    }
  }
}

resource "helm_release" "kube_prometheus_stack" {
  name       = local.kps_release
  namespace  = kubernetes_namespace_v1.this.metadata[0].name
  repository = module.values.charts.kube_prometheus_stack.repository
  chart      = module.values.charts.kube_prometheus_stack.chart
  version    = module.values.charts.kube_prometheus_stack.version
  timeout    = var.helm_timeout_seconds
  wait       = true

  values = [module.values.kube_prometheus_stack]

  set_sensitive = var.grafana_admin_password == null ? [] : [{
    name  = "grafana.adminPassword"
    value = var.grafana_admin_password
  }]
}

resource "helm_release" "loki" {
  name       = local.loki_release
  namespace  = kubernetes_namespace_v1.this.metadata[0].name
  repository = module.values.charts.loki.repository
  chart      = module.values.charts.loki.chart
  version    = module.values.charts.loki.version
  timeout    = var.helm_timeout_seconds
  wait       = true

  values = module.values.loki
}

resource "helm_release" "alloy" {
  name       = "alloy"
  namespace  = kubernetes_namespace_v1.this.metadata[0].name
  repository = module.values.charts.alloy.repository
  chart      = module.values.charts.alloy.chart
  version    = module.values.charts.alloy.version
  timeout    = var.helm_timeout_seconds
  wait       = true

  values = [module.values.alloy]

  # Alloy retries on its own, but starting after Loki keeps the first minutes of logs.
  depends_on = [helm_release.loki]
}
