output "namespace" {
  description = "Namespace of the observability stack."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}

output "monitoring_labels" {
  description = "Labels to put on ServiceMonitors, PrometheusRules and dashboard ConfigMaps (the docproxy chart's monitoring.labels). The stack selects all of them anyway; this matches the chart's default selectors too."
  value       = { release = helm_release.kube_prometheus_stack.name }
}

output "loki_url" {
  description = "In-cluster Loki base URL (the gateway), as configured in Grafana."
  value       = module.values.loki_url
}

output "grafana_port_forward_command" {
  description = "Command that makes Grafana reachable at http://localhost:3000 (user admin)."
  value       = "kubectl -n ${var.namespace} port-forward svc/${local.kps_release}-grafana 3000:80"
}

output "grafana_admin_password_command" {
  description = "Command that prints Grafana's admin password."
  value       = "kubectl -n ${var.namespace} get secret ${local.kps_release}-grafana -o jsonpath='{.data.admin-password}' | base64 -d; echo"
}

output "prometheus_port_forward_command" {
  description = "Command that makes Prometheus reachable at http://localhost:9090."
  value       = "kubectl -n ${var.namespace} port-forward svc/${local.kps_release}-prometheus 9090:9090"
}

output "alertmanager_port_forward_command" {
  description = "Command that makes Alertmanager reachable at http://localhost:9093."
  value       = "kubectl -n ${var.namespace} port-forward svc/${local.kps_release}-alertmanager 9093:9093"
}
