output "kubectl_flags" {
  description = "Flags that point kubectl (and helm, with --kube-context/--kubeconfig) at the demo cluster."
  value       = local.kubectl_flags
}

output "grafana" {
  description = "How to open Grafana: run the port-forward, browse http://localhost:3000, log in as admin with the printed password. Dashboards are in the docproxy folder; logs under Explore > Loki."
  value = {
    port_forward = replace(module.observability.grafana_port_forward_command, "kubectl ", "kubectl ${local.kubectl_flags} ")
    password     = replace(module.observability.grafana_admin_password_command, "kubectl ", "kubectl ${local.kubectl_flags} ")
    url          = "http://localhost:3000"
  }
}

output "prometheus_port_forward_command" {
  description = "Prometheus at http://localhost:9090 (alerts, rules, targets)."
  value       = replace(module.observability.prometheus_port_forward_command, "kubectl ", "kubectl ${local.kubectl_flags} ")
}

output "alertmanager_port_forward_command" {
  description = "Alertmanager at http://localhost:9093."
  value       = replace(module.observability.alertmanager_port_forward_command, "kubectl ", "kubectl ${local.kubectl_flags} ")
}

output "docproxy_port_forward_command" {
  description = "docproxy at http://localhost:8080; then `curl -i localhost:8080/1`."
  value       = replace(module.docproxy.docproxy_port_forward_command, "kubectl ", "kubectl ${local.kubectl_flags} ")
}

output "docproxy_namespace" {
  description = "Namespace docproxy runs in."
  value       = module.docproxy.namespace
}

output "images" {
  description = "Images deployed."
  value = {
    docproxy           = "${local.docproxy_image.repository}:${local.docproxy_image.tag}"
    "dummy-pdf-or-png" = "${local.dummy_image.repository}:${local.dummy_image.tag}"
  }
}
