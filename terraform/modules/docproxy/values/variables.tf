# Validated by the docproxy module that calls this one.

variable "docproxy_image" {
  description = "Repository and tag of the docproxy image."
  type = object({
    repository = string
    tag        = string
  })
}

variable "dummy_image" {
  description = "Repository and tag of the dummy-pdf-or-png image."
  type = object({
    repository = string
    tag        = string
  })
}

variable "docproxy_env" {
  description = "Extra DOCPROXY_* settings."
  type        = map(string)
  default     = {}
}

variable "dummy_env" {
  description = "DUMMY_* settings for the upstream."
  type        = map(string)
  default     = {}
}

variable "monitoring_enabled" {
  description = "Ship the charts' ServiceMonitors, PrometheusRules and dashboards."
  type        = bool
  default     = true
}

variable "monitoring_labels" {
  description = "Labels for the monitoring objects."
  type        = map(string)
  default     = { release = "kube-prometheus-stack" }
}

variable "monitoring_namespace" {
  description = "Namespace Prometheus scrapes from."
  type        = string
  default     = "monitoring"
}

variable "docproxy_values" {
  description = "Extra values documents for the docproxy chart, applied last."
  type        = list(string)
  default     = []
}

variable "dummy_values" {
  description = "Extra values documents for the dummy-pdf-or-png chart, applied last."
  type        = list(string)
  default     = []
}
