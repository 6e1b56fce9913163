output "kubeconfig_command" {
  description = "Writes a kubeconfig entry for the cluster (run before the commands below)."
  value       = local.cluster.kubeconfig_command
}

output "grafana_port_forward_command" {
  description = "Grafana at http://localhost:3000 (user admin)."
  value       = module.observability.grafana_port_forward_command
}

output "grafana_admin_password_command" {
  description = "Prints Grafana's admin password."
  value       = module.observability.grafana_admin_password_command
}

output "prometheus_port_forward_command" {
  description = "Prometheus at http://localhost:9090."
  value       = module.observability.prometheus_port_forward_command
}

output "docproxy_port_forward_command" {
  description = "docproxy at http://localhost:8080."
  value       = module.docproxy.docproxy_port_forward_command
}
