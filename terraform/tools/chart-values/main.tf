# The Helm values Terraform computes for the third-party charts, for each
# environment, without any provider: terraform/tools/render_charts.py applies
# this root (local state in a temporary directory) and renders the charts with
# exactly these values. The arguments repeat those of the observability module
# calls in terraform/environments/local and aws/platform (the AWS bucket and
# region are placeholders: they only fill in the values-s3.yaml layer; the
# retention and sizes are those environments' defaults). test_chart_values.py keeps
# the kind arguments equal to environments/local's literal ones.

terraform {
  required_version = ">= 1.11.0, < 2.0.0"
}

module "kind" {
  source = "../../modules/observability-stack/values"

  namespace                     = "monitoring"
  observability_dir             = "${path.root}/../../../observability"
  prometheus_retention          = "2d"
  prometheus_storage_size       = "5Gi"
  node_exporter_host_root_mount = false
}

module "eks" {
  source = "../../modules/observability-stack/values"

  namespace          = "monitoring"
  observability_dir  = "${path.root}/../../../observability"
  storage_class_name = "gp3"
  loki_s3 = {
    bucket = "docproxy-loki-example"
    region = "eu-west-1"
  }
}

output "charts" {
  description = "Repository, chart and pinned version of each third-party chart."
  value       = module.kind.charts
}

output "values" {
  description = "Per environment and chart, the values documents in the order Helm applies them."
  value = {
    for env, values in { kind = module.kind, eks = module.eks } : env => {
      kube_prometheus_stack   = [values.kube_prometheus_stack]
      loki                    = values.loki
      alloy                   = [values.alloy]
    }
  }
}
