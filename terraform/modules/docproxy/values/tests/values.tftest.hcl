# The charts' values, checked offline against the charts themselves: every key
# set here exists in the chart's values.yaml (the charts' schemas reject
# unknown keys at install time; this finds them before), and docproxy's
# upstream URL names the release and port the upstream chart really uses.

variables {
  docproxy_image = { repository = "ghcr.io/acme/docproxy", tag = "sha-1234567" }
  dummy_image    = { repository = "ghcr.io/acme/dummy-pdf-or-png", tag = "sha-1234567" }
}

run "every_key_exists_in_the_charts" {
  assert {
    condition = alltrue(flatten([
      for chart, doc in {
        docproxy           = output.docproxy[0]
        "dummy-pdf-or-png" = output.upstream[0]
        } : [
        for k, v in yamldecode(doc) : [
          contains(keys(yamldecode(file("../../../../helm/${chart}/values.yaml"))), k) &&
          (can(keys(v)) ? alltrue([for k2 in keys(v) : contains(keys(yamldecode(file("../../../../helm/${chart}/values.yaml"))[k]), k2)]) : true)
        ]
      ]
    ]))
    error_message = "A key set by Terraform does not exist in the chart's values.yaml."
  }
}

run "docproxy_reaches_the_upstream_release" {
  assert {
    condition     = yamldecode(output.docproxy[0]).config.upstreamUrl == "http://${output.upstream_release}:${yamldecode(file("../../../../helm/dummy-pdf-or-png/values.yaml")).service.port}"
    error_message = "docproxy's upstream URL must name the upstream release's service and its port."
  }
  assert {
    condition     = yamldecode(output.docproxy[0]).config.upstreamUrl == yamldecode(file("../../../../helm/docproxy/values.yaml")).config.upstreamUrl
    error_message = "The chart's default upstream URL and Terraform's should agree (one convention for the release name)."
  }
}

run "images_and_monitoring_are_set" {
  variables {
    monitoring_labels = { release = "kps" }
  }

  assert {
    condition = (
      yamldecode(output.docproxy[0]).image == { repository = "ghcr.io/acme/docproxy", tag = "sha-1234567" } &&
      yamldecode(output.upstream[0]).image == { repository = "ghcr.io/acme/dummy-pdf-or-png", tag = "sha-1234567" }
    )
    error_message = "Each chart must get its own image repository and tag."
  }
  assert {
    condition = alltrue([
      for doc in [output.docproxy[0], output.upstream[0]] :
      yamldecode(doc).monitoring == { enabled = true, labels = { release = "kps" } }
    ])
    error_message = "Both charts must ship their monitoring objects with the stack's selector labels."
  }
}

run "extra_values_come_last" {
  variables {
    docproxy_values = ["replicaCount: 3\n"]
    dummy_values    = ["replicaCount: 2\n"]
  }

  assert {
    condition     = output.docproxy[1] == "replicaCount: 3\n" && output.upstream[1] == "replicaCount: 2\n"
    error_message = "Caller-supplied values documents must be applied after Terraform's, so they win."
  }
}
