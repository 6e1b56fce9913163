# Local demo: a kind cluster (or an existing context), the observability
# stack, and docproxy with its upstream. `terraform apply`, then follow the
# commands in the outputs.

locals {
  create_cluster = var.kube_context == null

  kind_kubeconfig = "${abspath(path.root)}/.terraform/${var.cluster_name}.kubeconfig"

  cluster = {
    host                   = local.create_cluster ? kind_cluster.this[0].endpoint : null
    client_certificate     = local.create_cluster ? kind_cluster.this[0].client_certificate : null
    client_key             = local.create_cluster ? kind_cluster.this[0].client_key : null
    cluster_ca_certificate = local.create_cluster ? kind_cluster.this[0].cluster_ca_certificate : null
    config_path            = local.create_cluster ? null : pathexpand(var.kubeconfig_path)
    config_context         = local.create_cluster ? null : var.kube_context
  }

  kubectl_flags = (local.create_cluster
    ? "--kubeconfig ${local.kind_kubeconfig}"
    : "--kubeconfig ${pathexpand(var.kubeconfig_path)} --context ${var.kube_context}"
  )

  docproxy_image = {
    repository = var.image_registry == "" ? "docproxy" : "${var.image_registry}/docproxy"
    tag        = var.docproxy_image_tag
  }
  dummy_image = {
    repository = var.image_registry == "" ? "dummy-pdf-or-png" : "${var.image_registry}/dummy-pdf-or-png"
    tag        = coalesce(var.dummy_image_tag, var.docproxy_image_tag)
  }
}

resource "kind_cluster" "this" {
  count = local.create_cluster ? 1 : 0

  name            = var.cluster_name
  node_image      = var.kind_node_image
  kubeconfig_path = local.kind_kubeconfig
  wait_for_ready  = true

  kind_config {
    kind        = "Cluster"
    api_version = "kind.x-k8s.io/v1alpha4"

    node {
      role = "control-plane"
    }

    dynamic "node" {
      for_each = range(var.kind_worker_count)
      content {
        role = "worker"
      }
    }
  }
}

# Images built on this machine reach the kind nodes only through `kind load`.
resource "terraform_data" "load_images" {
  for_each = local.create_cluster && var.load_local_images ? {
    docproxy = "${local.docproxy_image.repository}:${local.docproxy_image.tag}"
    dummy    = "${local.dummy_image.repository}:${local.dummy_image.tag}"
  } : {}

  triggers_replace = [each.value, kind_cluster.this[0].id]

  # One platform's image, saved as an archive: `kind load docker-image` of a
  # multi-platform image with attestations fails under Docker 29's containerd image
  # store (kind#3795). The nodes run on the Docker host's platform.
  provisioner "local-exec" {
    interpreter = ["bash", "-c"]
    command     = <<-EOT
      set -euo pipefail
      platform=$(docker version --format '{{.Server.Os}}/{{.Server.Arch}}')
      archive=$(mktemp)
      trap 'rm -f "$archive"' EXIT
      docker save --platform "$platform" --output "$archive" ${each.value}
      kind load image-archive --name ${kind_cluster.this[0].name} "$archive"
    EOT
  }
}

module "observability" {
  source = "../../modules/observability-stack"

  namespace              = "monitoring"
  grafana_admin_password = var.grafana_admin_password
  # A demo cluster: two days of samples on a small volume are plenty.
  prometheus_retention    = "2d"
  prometheus_storage_size = "5Gi"
  # kind nodes are containers: the host-root mount fails under Docker Desktop.
  node_exporter_host_root_mount = false

  depends_on = [kind_cluster.this]
}

module "docproxy" {
  source = "../../modules/docproxy"

  namespace                 = "docproxy"
  docproxy_image_repository = local.docproxy_image.repository
  docproxy_image_tag        = local.docproxy_image.tag
  dummy_image_repository    = local.dummy_image.repository
  dummy_image_tag           = local.dummy_image.tag
  dummy_env                 = var.dummy_env
  docproxy_values           = var.docproxy_values
  dummy_values              = var.dummy_values
  monitoring_labels         = module.observability.monitoring_labels
  monitoring_namespace      = module.observability.namespace

  # The charts' ServiceMonitors and PrometheusRules need the operator's CRDs.
  depends_on = [module.observability, terraform_data.load_images]
}
