variable "cluster_name" {
  description = "Name of the kind cluster to create (ignored when kube_context is set)."
  type        = string
  default     = "docproxy"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]{0,30}[a-z0-9])?$", var.cluster_name))
    error_message = "cluster_name must be a short DNS label (lowercase letters, digits, dashes)."
  }
}

variable "kube_context" {
  description = "Use this existing kubeconfig context instead of creating a kind cluster (e.g. kind-docproxy made by `kind create cluster --name docproxy`). Null creates a cluster."
  type        = string
  default     = null

  validation {
    condition     = var.kube_context == null || length(trimspace(coalesce(var.kube_context, " "))) > 0
    error_message = "kube_context must be a context name, or null to create a kind cluster."
  }
}

variable "kubeconfig_path" {
  description = "Kubeconfig file holding kube_context (only read when kube_context is set)."
  type        = string
  default     = "~/.kube/config"
}

variable "kind_node_image" {
  description = "kindest/node image for the created cluster, pinned by digest: one built for the kind release the tehcyx/kind provider vendors (provider 0.11.0: kind v0.31.0; the image list is in that kind release's notes)."
  type        = string
  default     = "kindest/node:v1.33.7@sha256:d26ef333bdb2cbe9862a0f7c3803ecc7b4303d8cea8e814b481b09949d353040"

  validation {
    condition     = can(regex("^kindest/node:v1\\.[0-9]+\\.[0-9]+@sha256:[0-9a-f]{64}$", var.kind_node_image))
    error_message = "kind_node_image must be a kindest/node:v1.x.y image pinned by digest (@sha256:...)."
  }
}

variable "kind_worker_count" {
  description = "Worker nodes beside the control plane, so pods spread over more than one node."
  type        = number
  default     = 2

  validation {
    condition     = var.kind_worker_count >= 0 && var.kind_worker_count <= 5
    error_message = "kind_worker_count must be between 0 and 5."
  }
}

variable "image_registry" {
  description = "Registry prefix of both images, e.g. ghcr.io/acme. Empty means local images named docproxy and dummy-pdf-or-png (built with `docker build --target ...` and loaded into kind)."
  type        = string
  default     = ""

  validation {
    condition     = var.image_registry == "" || can(regex("^[a-z0-9.-]+(:[0-9]+)?(/[a-z0-9._-]+)*$", var.image_registry))
    error_message = "image_registry must be a registry host with an optional path and no trailing slash, e.g. ghcr.io/acme."
  }
}

variable "docproxy_image_tag" {
  description = "Tag of the docproxy image to deploy."
  type        = string
  default     = "dev"

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.docproxy_image_tag))
    error_message = "docproxy_image_tag must be a valid image tag."
  }
}

variable "dummy_image_tag" {
  description = "Tag of the dummy-pdf-or-png image; null means the same tag as docproxy (both images are built from one commit)."
  type        = string
  default     = null

  validation {
    condition     = var.dummy_image_tag == null || can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", coalesce(var.dummy_image_tag, "x")))
    error_message = "dummy_image_tag must be a valid image tag or null."
  }
}

variable "load_local_images" {
  description = "Load both images into the created cluster (`docker save` of the Docker host's platform, then `kind load image-archive`; needs the kind CLI and the images in the local Docker daemon). Turn off when the images come from a registry."
  type        = bool
  default     = true
}

variable "grafana_admin_password" {
  description = "Grafana admin password; null lets the chart generate one (see the grafana_admin_password_command output)."
  type        = string
  default     = null
  sensitive   = true
}

variable "dummy_env" {
  description = "DUMMY_* fault-injection settings for the upstream, e.g. { DUMMY_ERROR_RATE = \"0.05\" } to watch the breaker and alerts react."
  type        = map(string)
  default     = {}
}

variable "docproxy_values" {
  description = "Extra values documents (YAML strings) for the docproxy chart, e.g. imagePullSecrets for a private registry."
  type        = list(string)
  default     = []
}

variable "dummy_values" {
  description = "Extra values documents (YAML strings) for the dummy-pdf-or-png chart."
  type        = list(string)
  default     = []
}
