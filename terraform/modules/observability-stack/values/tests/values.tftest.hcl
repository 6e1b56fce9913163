# The observability stack's Helm values, checked offline (this module uses no
# provider). The assertions tie them to the files they must agree with: the
# observability/ assets and the docproxy chart's values and templates.

variables {
  namespace         = "monitoring"
  observability_dir = "../../../../observability"
}

run "prometheus_selects_our_monitors_and_rules_anywhere" {
  assert {
    condition = alltrue([
      for k in ["ruleSelectorNilUsesHelmValues", "serviceMonitorSelectorNilUsesHelmValues", "podMonitorSelectorNilUsesHelmValues", "probeSelectorNilUsesHelmValues"] :
      yamldecode(output.kube_prometheus_stack).prometheus.prometheusSpec[k] == false
    ])
    error_message = "Prometheus must select ServiceMonitors, PodMonitors, Probes and PrometheusRules regardless of their labels."
  }
}

run "grafana_sidecar_loads_the_docproxy_chart_dashboards" {
  assert {
    condition = (
      yamldecode(output.kube_prometheus_stack).grafana.sidecar.dashboards.label == yamldecode(file("../../../../helm/docproxy/values.yaml")).monitoring.dashboards.label &&
      yamldecode(output.kube_prometheus_stack).grafana.sidecar.dashboards.labelValue == yamldecode(file("../../../../helm/docproxy/values.yaml")).monitoring.dashboards.labelValue
    )
    error_message = "The Grafana sidecar must watch the label and value the docproxy chart puts on its dashboard ConfigMaps."
  }
  assert {
    condition     = yamldecode(output.kube_prometheus_stack).grafana.sidecar.dashboards.searchNamespace == "ALL"
    error_message = "The sidecar must look for dashboards in every namespace (docproxy runs outside monitoring)."
  }
  assert {
    condition     = strcontains(file("../../../../helm/docproxy/templates/dashboards.yaml"), "${yamldecode(output.kube_prometheus_stack).grafana.sidecar.dashboards.folderAnnotation}:")
    error_message = "The sidecar's folder annotation must be the one the docproxy chart sets."
  }
  assert {
    condition     = yamldecode(output.kube_prometheus_stack).grafana.adminPassword == ""
    error_message = "Grafana's password must be generated, never the chart's well-known default."
  }
}

run "grafana_and_alloy_reach_loki_where_observability_expects_it" {
  assert {
    condition = anytrue([
      for ds in yamldecode(output.kube_prometheus_stack).grafana.additionalDataSources :
      ds.type == "loki" && ds.uid == "loki" && ds.url == output.loki_url
    ])
    error_message = "Grafana needs a Loki datasource (uid loki, as the dashboard expects) at the gateway URL."
  }
  assert {
    condition     = strcontains(file("../../../../observability/alloy/config.alloy"), "\"${output.loki_push_url}\"")
    error_message = "With the default namespace, the push URL must be the default written in observability/alloy/config.alloy."
  }
  assert {
    condition     = yamldecode(output.alloy).alloy.extraEnv == [{ name = "LOKI_URL", value = output.loki_push_url }]
    error_message = "Alloy must be told where Loki is through LOKI_URL."
  }
}

run "alloy_and_loki_configuration_come_from_observability_dir" {
  assert {
    condition     = yamldecode(output.alloy).alloy.configMap.content == file("../../../../observability/alloy/config.alloy")
    error_message = "Alloy's configuration must be observability/alloy/config.alloy, unchanged."
  }
  assert {
    condition     = length(output.loki) == 2 && output.loki[0] == file("../../../../observability/loki/values.yaml")
    error_message = "Loki's values must start with observability/loki/values.yaml, unchanged, followed by Terraform's overrides."
  }
  assert {
    condition     = !can(yamldecode(output.loki[1]).loki.storage)
    error_message = "Without loki_s3, Terraform must not touch Loki's storage settings."
  }
}

run "network_policies_let_this_namespace_scrape" {
  assert {
    condition = (
      var.namespace == yamldecode(file("../../../../helm/docproxy/values.yaml")).networkPolicy.monitoringNamespace &&
      var.namespace == yamldecode(file("../../../../helm/dummy-pdf-or-png/values.yaml")).networkPolicy.monitoringNamespace
    )
    error_message = "The charts' default monitoringNamespace must be the stack's default namespace, or Prometheus cannot scrape."
  }
}

run "control_plane_scrapes_off_by_default" {
  assert {
    condition = alltrue([
      for k in ["kubeScheduler", "kubeControllerManager", "kubeEtcd", "kubeProxy"] :
      yamldecode(output.kube_prometheus_stack)[k].enabled == false
    ])
    error_message = "On kind and EKS the control-plane scrapes would only show as down targets."
  }
  assert {
    condition     = alltrue([for k, v in yamldecode(output.kube_prometheus_stack).defaultRules.rules : v == false])
    error_message = "Alert and recording rules for unscraped components must be off too."
  }
}

run "control_plane_scrapes_on_request" {
  variables {
    scrape_control_plane = true
  }

  assert {
    condition     = yamldecode(output.kube_prometheus_stack).kubeEtcd.enabled && yamldecode(output.kube_prometheus_stack).defaultRules.rules.etcd
    error_message = "scrape_control_plane must turn the scrapes and their rules back on."
  }
}

run "loki_on_s3" {
  variables {
    loki_s3            = { bucket = "docproxy-dev-loki-123456789012-eu-west-1", region = "eu-west-1" }
    storage_class_name = "gp3"
  }

  assert {
    condition     = length(output.loki) == 3 && output.loki[1] == file("../../../../observability/loki/values-s3.yaml")
    error_message = "With loki_s3, observability/loki/values-s3.yaml must be layered on the base values."
  }
  assert {
    condition = (
      yamldecode(output.loki[2]).loki.storage.bucketNames == {
        chunks = "docproxy-dev-loki-123456789012-eu-west-1"
        ruler  = "docproxy-dev-loki-123456789012-eu-west-1"
        admin  = "docproxy-dev-loki-123456789012-eu-west-1"
      } &&
      yamldecode(output.loki[2]).loki.storage.s3.region == "eu-west-1"
    )
    error_message = "The bucket and region from the cluster layer must override the placeholders in values-s3.yaml."
  }
  assert {
    condition = (
      yamldecode(output.loki[2]).singleBinary.persistence.storageClass == "gp3" &&
      yamldecode(output.kube_prometheus_stack).prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName == "gp3"
    )
    error_message = "storage_class_name must reach both Loki's and Prometheus' volumes."
  }
}

run "prometheus_without_volume" {
  variables {
    prometheus_storage_size = null
  }

  assert {
    condition     = !can(yamldecode(output.kube_prometheus_stack).prometheus.prometheusSpec.storageSpec)
    error_message = "A null prometheus_storage_size must leave Prometheus on an emptyDir."
  }
}
