output "charts" {
  description = "The third-party charts: repository, chart name and pinned version, keyed kube_prometheus_stack, loki, alloy."
  value       = local.charts
}

output "kube_prometheus_stack" {
  description = "Values (YAML) for the kube-prometheus-stack chart."
  value       = yamlencode(local.kube_prometheus_stack_values)
}

output "loki" {
  description = "Values documents (YAML) for the loki chart, in the order Helm applies them: observability/loki files, then Terraform's overrides."
  value       = concat(local.loki_values_files, [yamlencode(local.loki_overrides)])
}

output "alloy" {
  description = "Values (YAML) for the alloy chart, with observability/alloy/config.alloy as its configuration."
  value       = yamlencode(local.alloy_values)
}

output "loki_url" {
  description = "In-cluster base URL of Loki's gateway (Grafana's datasource)."
  value       = local.loki_url
}

output "loki_push_url" {
  description = "In-cluster push URL of Loki (Alloy's LOKI_URL)."
  value       = local.loki_push_url
}
