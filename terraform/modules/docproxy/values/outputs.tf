output "upstream_release" {
  description = "Release name for the dummy-pdf-or-png chart (docproxy's upstream URL is derived from it)."
  value       = local.upstream_release
}

output "upstream" {
  description = "Values documents (YAML) for the dummy-pdf-or-png chart, in the order Helm applies them."
  value       = concat([yamlencode(local.upstream_values)], var.dummy_values)
}

output "docproxy" {
  description = "Values documents (YAML) for the docproxy chart, in the order Helm applies them."
  value       = concat([yamlencode(local.docproxy_values)], var.docproxy_values)
}
