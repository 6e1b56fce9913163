variable "cluster_state" {
  description = "Where the cluster layer keeps its state (S3 backend settings: bucket, key, region)."
  type = object({
    bucket = string
    key    = string
    region = string
  })

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.cluster_state.bucket)) && endswith(var.cluster_state.key, ".tfstate")
    error_message = "cluster_state needs a valid bucket name and a key ending in .tfstate."
  }
}

variable "docproxy_image_tag" {
  description = "Tag of the docproxy image in the cluster layer's ECR repository (tags are immutable there)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.docproxy_image_tag))
    error_message = "docproxy_image_tag must be a valid image tag."
  }
}

variable "dummy_image_tag" {
  description = "Tag of the dummy-pdf-or-png image; null means the same tag as docproxy."
  type        = string
  default     = null

  validation {
    condition     = var.dummy_image_tag == null || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", coalesce(var.dummy_image_tag, "x")))
    error_message = "dummy_image_tag must be a valid image tag or null."
  }
}

variable "grafana_admin_password" {
  description = "Grafana admin password; null lets the chart generate one."
  type        = string
  default     = null
  sensitive   = true
}

variable "prometheus_retention" {
  description = "How long Prometheus keeps samples."
  type        = string
  default     = "15d"
}

variable "prometheus_storage_size" {
  description = "Size of Prometheus' EBS volume."
  type        = string
  default     = "50Gi"
}

variable "docproxy_values" {
  description = "Extra values documents (YAML) for the docproxy chart, e.g. an ingress for the cluster's ingress controller."
  type        = list(string)
  default     = []
}
