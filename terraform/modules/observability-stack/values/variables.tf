# Validated by the observability-stack module that calls this one.

variable "namespace" {
  description = "Namespace the stack runs in (part of Loki's in-cluster URL)."
  type        = string
}

variable "observability_dir" {
  description = "Path to the repository's observability/ directory."
  type        = string
}

variable "loki_release" {
  description = "Helm release name of Loki (names its gateway service)."
  type        = string
  default     = "loki"
}

variable "scrape_control_plane" {
  description = "Scrape kube-scheduler, kube-controller-manager, etcd and kube-proxy, and keep their alert rules."
  type        = bool
  default     = false
}

variable "node_exporter_host_root_mount" {
  description = "Mount the host's root filesystem into node-exporter."
  type        = bool
  default     = true
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples."
  type        = string
  default     = "7d"
}

variable "prometheus_storage_size" {
  description = "Size of Prometheus' persistent volume; null means an emptyDir."
  type        = string
  default     = "10Gi"
}

variable "storage_class_name" {
  description = "StorageClass for Prometheus and Loki volumes; null means the cluster default."
  type        = string
  default     = null
}

variable "loki_s3" {
  description = "S3 bucket and region for Loki's chunks and index; null means filesystem storage."
  type = object({
    bucket = string
    region = string
  })
  default = null
}

variable "loki_service_account_annotations" {
  description = "Annotations on Loki's service account."
  type        = map(string)
  default     = {}
}

# The third-party chart pins: observability-stack installs these versions and
# terraform/tools/chart-values hands them to the chart render check (ci.yml).
variable "kube_prometheus_stack_chart_version" {
  description = "Version of the prometheus-community kube-prometheus-stack chart."
  type        = string
  nullable    = false
  default     = "82.16.2"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.kube_prometheus_stack_chart_version))
    error_message = "Pin an exact chart version (x.y.z)."
  }
}

variable "loki_chart_version" {
  description = "Version of the grafana-community loki chart (6.x: the values in observability/loki are written for it)."
  type        = string
  nullable    = false
  default     = "6.55.0"

  validation {
    condition     = can(regex("^6\\.[0-9]+\\.[0-9]+$", var.loki_chart_version))
    error_message = "Pin an exact 6.x.y Loki chart version; observability/loki/values.yaml targets the 6.x chart."
  }
}

variable "alloy_chart_version" {
  description = "Version of the grafana alloy chart (1.11.1: Alloy v1.18.1)."
  type        = string
  nullable    = false
  default     = "1.11.1"

  validation {
    condition     = can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+$", var.alloy_chart_version))
    error_message = "Pin an exact chart version (x.y.z)."
  }
}
