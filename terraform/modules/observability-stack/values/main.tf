# The Helm values of the observability stack, computed without any provider so
# that `terraform test` can check them offline: what Prometheus selects, what
# the Grafana sidecar loads, where Alloy sends logs, how Loki stores data.
# Files from observability/ are passed through untouched; only facts Terraform
# owns are layered on top.

locals {
  # The Loki chart's gateway gives Grafana and Alloy one stable address.
  loki_url      = "http://${var.loki_release}-gateway.${var.namespace}.svc.cluster.local"
  loki_push_url = "${local.loki_url}/loki/api/v1/push"

  # Where each chart comes from and the version installed (loki: the
  # grafana-community repository serves the same 6.x packages as grafana's).
  charts = {
    kube_prometheus_stack = {
      repository = "https://prometheus-community.github.io/helm-charts"
      chart      = "kube-prometheus-stack"
      version    = var.kube_prometheus_stack_chart_version
    }
    loki = {
      repository = "https://grafana-community.github.io/helm-charts"
      chart      = "loki"
      version    = var.loki_chart_version
    }
    alloy = {
      repository = "https://grafana.github.io/helm-charts"
      chart      = "alloy"
      version    = var.alloy_chart_version
    }
  }

  storage_class = var.storage_class_name == null ? {} : { storageClassName = var.storage_class_name }

  kube_prometheus_stack_values = {
    # Managed or containerised control planes do not expose these to scrapes.
    kubeScheduler         = { enabled = var.scrape_control_plane }
    kubeControllerManager = { enabled = var.scrape_control_plane }
    kubeEtcd              = { enabled = var.scrape_control_plane }
    kubeProxy             = { enabled = var.scrape_control_plane }
    defaultRules = {
      rules = {
        etcd                   = var.scrape_control_plane
        kubeSchedulerAlerting  = var.scrape_control_plane
        kubeSchedulerRecording = var.scrape_control_plane
        kubeControllerManager  = var.scrape_control_plane
        kubeProxy              = var.scrape_control_plane
      }
    }

    prometheus = {
      prometheusSpec = merge(
        {
          # Select ServiceMonitors, PodMonitors and PrometheusRules from every
          # namespace whatever their labels (the docproxy chart also sets
          # release=kube-prometheus-stack, which the default selectors want).
          ruleSelectorNilUsesHelmValues           = false
          serviceMonitorSelectorNilUsesHelmValues = false
          podMonitorSelectorNilUsesHelmValues     = false
          probeSelectorNilUsesHelmValues          = false
          retention                               = var.prometheus_retention
        },
        var.prometheus_storage_size == null ? {} : {
          storageSpec = {
            volumeClaimTemplate = {
              spec = merge(local.storage_class, {
                accessModes = ["ReadWriteOnce"]
                resources   = { requests = { storage = var.prometheus_storage_size } }
              })
            }
          }
        },
      )
    }

    # node-exporter mounts the host's / with rslave propagation, which kind
    # nodes on Docker Desktop refuse; off, it still reports node metrics.
    "prometheus-node-exporter" = { hostRootFsMount = { enabled = var.node_exporter_host_root_mount } }

    grafana = {
      # Empty: the Grafana chart generates a random password (and keeps it
      # across upgrades) instead of the chart's well-known default;
      # grafana_admin_password, when set, overrides it below.
      adminPassword = ""
      sidecar = {
        dashboards = {
          enabled          = true
          label            = "grafana_dashboard"
          labelValue       = "1"
          searchNamespace  = "ALL"
          folderAnnotation = "grafana_folder"
          provider         = { foldersFromFilesStructure = true }
        }
        datasources = { enabled = true }
      }
      additionalDataSources = [{
        name      = "Loki"
        type      = "loki"
        uid       = "loki"
        access    = "proxy"
        url       = local.loki_url
        isDefault = false
        jsonData  = { maxLines = 1000 }
      }]
    }
  }

  loki_values_files = concat(
    [file("${var.observability_dir}/loki/values.yaml")],
    var.loki_s3 == null ? [] : [file("${var.observability_dir}/loki/values-s3.yaml")],
  )

  # Only what Terraform knows goes here; everything else stays in observability/loki.
  loki_overrides = merge(
    {
      serviceAccount = { annotations = var.loki_service_account_annotations }
    },
    var.storage_class_name == null ? {} : {
      singleBinary = { persistence = { storageClass = var.storage_class_name } }
    },
    var.loki_s3 == null ? {} : {
      loki = {
        storage = {
          bucketNames = {
            chunks = var.loki_s3.bucket
            ruler  = var.loki_s3.bucket
            admin  = var.loki_s3.bucket
          }
          s3 = { region = var.loki_s3.region }
        }
      }
    },
  )

  alloy_values = {
    alloy = {
      configMap = {
        create  = true
        content = file("${var.observability_dir}/alloy/config.alloy")
      }
      # config.alloy defaults to the monitoring namespace; say where Loki really is.
      extraEnv = [{ name = "LOKI_URL", value = local.loki_push_url }]
      # Logs are read through the Kubernetes API, so no host log directory is needed.
      mounts = { varlog = false }
    }
    controller = { type = "daemonset" }
  }
}
