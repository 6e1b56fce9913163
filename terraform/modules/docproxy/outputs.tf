output "namespace" {
  description = "Namespace docproxy runs in."
  value       = kubernetes_namespace_v1.this.metadata[0].name
}

output "docproxy_release" {
  description = "Helm release name of docproxy (for `helm test` or `helm rollback`)."
  value       = helm_release.docproxy.name
}

output "docproxy_port_forward_command" {
  description = "Command that makes docproxy reachable at http://localhost:8080 (then: curl -i localhost:8080/1)."
  value       = "kubectl -n ${kubernetes_namespace_v1.this.metadata[0].name} port-forward svc/${helm_release.docproxy.name} 8080:8080"
}

output "helm_test_command" {
  description = "Command that runs the chart's `helm test` (fetches a document through docproxy)."
  value       = "helm test ${helm_release.docproxy.name} -n ${kubernetes_namespace_v1.this.metadata[0].name}"
}
