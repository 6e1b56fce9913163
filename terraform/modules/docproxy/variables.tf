variable "namespace" {
  description = "Namespace for docproxy and its upstream."
  type        = string
  default     = "docproxy"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a valid Kubernetes namespace name."
  }
}

variable "charts_dir" {
  description = "Path to the repository's helm/ directory holding the docproxy and dummy-pdf-or-png charts. Null means the copy beside this module in the repository."
  type        = string
  default     = null
}

variable "docproxy_image_repository" {
  description = "Image repository of docproxy (the `docproxy` target of the top-level Dockerfile)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._/:-][a-z0-9]+)*$", var.docproxy_image_repository))
    error_message = "docproxy_image_repository must be an image reference without a tag, e.g. ghcr.io/acme/docproxy."
  }
}

variable "docproxy_image_tag" {
  description = "Image tag of docproxy."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.docproxy_image_tag))
    error_message = "docproxy_image_tag must be a valid image tag."
  }
}

variable "dummy_image_repository" {
  description = "Image repository of dummy-pdf-or-png (the upstream docproxy fronts)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]+([._/:-][a-z0-9]+)*$", var.dummy_image_repository))
    error_message = "dummy_image_repository must be an image reference without a tag."
  }
}

variable "dummy_image_tag" {
  description = "Image tag of dummy-pdf-or-png."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.dummy_image_tag))
    error_message = "dummy_image_tag must be a valid image tag."
  }
}

variable "dummy_env" {
  description = "DUMMY_* settings for the upstream (fault injection, seed), as NAME => value."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.dummy_env) : can(regex("^DUMMY_[A-Z_]+$", k))])
    error_message = "dummy_env keys must be DUMMY_* variable names."
  }
}

variable "docproxy_env" {
  description = "Extra DOCPROXY_* settings (timeouts, breaker, limits), as NAME => value; unset ones keep the binary's defaults."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for k in keys(var.docproxy_env) : can(regex("^DOCPROXY_[A-Z_]+$", k))])
    error_message = "docproxy_env keys must be DOCPROXY_* variable names."
  }
}

variable "monitoring_enabled" {
  description = "Ship the ServiceMonitors, PrometheusRules and dashboard ConfigMaps (needs the Prometheus Operator CRDs, i.e. the observability-stack module applied first)."
  type        = bool
  default     = true
}

variable "monitoring_labels" {
  description = "Labels for the monitoring objects, so kube-prometheus-stack selects them (the observability-stack module's monitoring_labels output)."
  type        = map(string)
  default     = { release = "kube-prometheus-stack" }
}

variable "monitoring_namespace" {
  description = "Namespace Prometheus scrapes from; the charts' NetworkPolicies let it in."
  type        = string
  default     = "monitoring"
}

variable "docproxy_values" {
  description = "Extra values documents (YAML strings) for the docproxy chart, applied last (e.g. ingress, autoscaling)."
  type        = list(string)
  default     = []
}

variable "dummy_values" {
  description = "Extra values documents (YAML strings) for the dummy-pdf-or-png chart, applied last."
  type        = list(string)
  default     = []
}

variable "helm_timeout_seconds" {
  description = "How long each Helm release may take to become ready."
  type        = number
  default     = 300

  validation {
    condition     = var.helm_timeout_seconds >= 60 && var.helm_timeout_seconds <= 3600
    error_message = "helm_timeout_seconds must be between 60 and 3600."
  }
}
