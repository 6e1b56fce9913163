variable "namespace" {
  description = "Namespace for Prometheus, Alertmanager, Grafana, Loki and Alloy."
  type        = string
  default     = "monitoring"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a valid Kubernetes namespace name."
  }
}

variable "observability_dir" {
  description = "Path to the repository's observability/ directory (Alloy config, Loki values). Null means the copy beside this module in the repository."
  type        = string
  default     = null
}

variable "kube_prometheus_stack_chart_version" {
  description = "Version of the kube-prometheus-stack chart; null means the version pinned in ./values (its `charts` output)."
  type        = string
  default     = null
}

variable "loki_chart_version" {
  description = "Version of the loki chart (6.x); null means the version pinned in ./values."
  type        = string
  default     = null
}

variable "alloy_chart_version" {
  description = "Version of the alloy chart; null means the version pinned in ./values."
  type        = string
  default     = null
}

variable "scrape_control_plane" {
  description = "Scrape kube-scheduler, kube-controller-manager, etcd and kube-proxy. Leave false on kind and EKS, where those endpoints are not reachable and would only show as down."
  type        = bool
  default     = false
}

variable "node_exporter_host_root_mount" {
  description = "Mount the host's root filesystem into node-exporter (accurate filesystem metrics). Turn off on kind under Docker Desktop, where the mount is refused."
  type        = bool
  default     = true
}

variable "grafana_admin_password" {
  description = "Grafana admin password. Null lets the Grafana chart generate one into its secret (see the grafana_admin_password_command output)."
  type        = string
  default     = null
  sensitive   = true

  validation {
    condition     = var.grafana_admin_password == null || length(coalesce(var.grafana_admin_password, "x")) >= 12
    error_message = "grafana_admin_password must be at least 12 characters (or null to generate one)."
  }
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples (Prometheus duration, e.g. 7d)."
  type        = string
  default     = "7d"

  validation {
    condition     = can(regex("^[0-9]+(h|d|w|y)$", var.prometheus_retention))
    error_message = "prometheus_retention must be a duration such as 12h, 7d or 2w."
  }
}

variable "prometheus_storage_size" {
  description = "Size of Prometheus' persistent volume; null keeps the TSDB on an emptyDir (lost on restart)."
  type        = string
  default     = "10Gi"

  validation {
    condition     = var.prometheus_storage_size == null || can(regex("^[0-9]+(Mi|Gi|Ti)$", coalesce(var.prometheus_storage_size, "1Gi")))
    error_message = "prometheus_storage_size must be a quantity such as 10Gi, or null."
  }
}

variable "storage_class_name" {
  description = "StorageClass for Prometheus and Loki volumes; null uses the cluster default (standard on kind, gp2 on EKS)."
  type        = string
  default     = null
}

variable "loki_s3" {
  description = "Keep Loki chunks and index in this S3 bucket (credentials from the loki service account's Pod Identity or IRSA role) instead of the pod's volume. Null means filesystem storage."
  type = object({
    bucket = string
    region = string
  })
  default = null

  validation {
    condition     = var.loki_s3 == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", try(var.loki_s3.bucket, "")))
    error_message = "loki_s3.bucket must be a valid S3 bucket name."
  }
}

variable "loki_service_account_annotations" {
  description = "Annotations on Loki's service account, e.g. eks.amazonaws.com/role-arn when IRSA is used instead of Pod Identity."
  type        = map(string)
  default     = {}
}

variable "helm_timeout_seconds" {
  description = "How long each Helm release may take to become ready."
  type        = number
  default     = 900

  validation {
    condition     = var.helm_timeout_seconds >= 60 && var.helm_timeout_seconds <= 3600
    error_message = "helm_timeout_seconds must be between 60 and 3600."
  }
}
