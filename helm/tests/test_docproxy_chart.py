"""The docproxy chart: drain timing, configuration, autoscaling, network policy, ingress and monitoring."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from conftest import HELM_DIR, HelmError, by_kind, one, render, workload

MONITORING_KINDS = {"ServiceMonitor", "PrometheusRule"}


def pod_spec(objects: list[dict]) -> dict:
    return workload(objects)["spec"]["template"]["spec"]


def env_of(objects: list[dict]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in pod_spec(objects)["containers"][0]["env"]}


@pytest.mark.parametrize("grace,pre_stop", [(20, 5), (45, 0), (1, 15)])
def test_termination_grace_covers_pre_stop_and_drain(grace, pre_stop):
    objects = render(
        "docproxy",
        sets={"config.shutdownGraceSeconds": str(grace), "shutdown.preStopSleepSeconds": str(pre_stop)},
    )
    spec = pod_spec(objects)
    assert env_of(objects)["DOCPROXY_SHUTDOWN_GRACE"] == f"{grace}s"
    if pre_stop:
        assert spec["containers"][0]["lifecycle"]["preStop"] == {"sleep": {"seconds": pre_stop}}
    else:  # sleep 0 is refused by API servers before 1.33: no hook at all
        assert "lifecycle" not in spec["containers"][0]
    # The contract: terminationGracePeriodSeconds >= grace + 10s, with the preStop sleep on top.
    assert spec["terminationGracePeriodSeconds"] >= pre_stop + grace + 10


def test_default_upstream_is_the_dummy_service_and_extra_env_passes_through():
    env = env_of(render("docproxy", sets={"config.env.DOCPROXY_DEADLINE": "7s"}))
    assert env["DOCPROXY_UPSTREAM_URL"] == "http://dummy-pdf-or-png:3000"
    assert env["DOCPROXY_LISTEN"] == "0.0.0.0:8080"
    assert env["DOCPROXY_LOG_FORMAT"] == "json"
    assert env["DOCPROXY_DEADLINE"] == "7s"


def test_no_upstream_ca_is_mounted_by_default():
    objects = render("docproxy")
    assert "DOCPROXY_UPSTREAM_CA_FILE" not in env_of(objects)
    assert "volumes" not in pod_spec(objects)


@pytest.mark.parametrize("source", ["secretName", "configMapName"])
def test_an_upstream_ca_bundle_is_mounted_and_named(source):
    objects = render("docproxy", sets={f"config.upstreamCA.{source}": "upstream-ca", "config.upstreamCA.key": "bundle.pem"})
    spec = pod_spec(objects)
    assert env_of(objects)["DOCPROXY_UPSTREAM_CA_FILE"] == "/etc/docproxy/upstream-ca/bundle.pem"
    (volume,) = spec["volumes"]
    kind, ref = ("secret", "secretName") if source == "secretName" else ("configMap", "name")
    assert volume[kind][ref] == "upstream-ca"
    assert volume[kind]["items"] == [{"key": "bundle.pem", "path": "bundle.pem"}]
    (mount,) = spec["containers"][0]["volumeMounts"]
    assert mount == {"name": volume["name"], "mountPath": "/etc/docproxy/upstream-ca", "readOnly": True}


def test_default_upstream_matches_the_dummy_chart_service_name():
    """`helm install dummy-pdf-or-png helm/dummy-pdf-or-png` yields the Service docproxy calls by default."""
    service = one(render("dummy-pdf-or-png", release="dummy-pdf-or-png"), "Service")
    url = env_of(render("docproxy"))["DOCPROXY_UPSTREAM_URL"]
    assert url == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}"


def test_hpa_owns_replicas_when_autoscaling():
    objects = render("docproxy")
    hpa = one(objects, "HorizontalPodAutoscaler")
    assert hpa["apiVersion"] == "autoscaling/v2"
    assert hpa["spec"]["scaleTargetRef"]["name"] == workload(objects)["metadata"]["name"]
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"
    assert "replicas" not in workload(objects)["spec"]

    fixed = render("docproxy", sets={"autoscaling.enabled": "false", "replicaCount": "3"})
    assert not by_kind(fixed, "HorizontalPodAutoscaler")
    assert workload(fixed)["spec"]["replicas"] == 3


def test_no_pdb_for_a_single_fixed_replica():
    single = render("docproxy", sets={"autoscaling.enabled": "false", "replicaCount": "1"})
    assert not by_kind(single, "PodDisruptionBudget")
    assert one(render("docproxy"), "PodDisruptionBudget")["spec"]["minAvailable"] == 1


def test_network_policy_allows_only_ingress_controller_monitoring_and_test_pod():
    objects = render("docproxy")
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    namespaces = [p["namespaceSelector"]["matchLabels"] for p in rule["from"] if "namespaceSelector" in p]
    assert namespaces == [
        {"kubernetes.io/metadata.name": "traefik"},
        {"kubernetes.io/metadata.name": "monitoring"},
    ]
    test_pod_labels = one(objects, "Pod")["metadata"]["labels"]
    pod_peers = [p["podSelector"]["matchLabels"] for p in rule["from"] if "podSelector" in p]
    assert len(pod_peers) == 1 and pod_peers[0].items() <= test_pod_labels.items()


def test_network_policy_egress_is_upstream_and_dns_only():
    policy = one(render("docproxy"), "NetworkPolicy")["spec"]
    upstream, dns = policy["egress"]
    assert upstream["ports"] == [{"port": 3000, "protocol": "TCP"}]
    assert upstream["to"] == [{"podSelector": {"matchLabels": {"app.kubernetes.io/name": "dummy-pdf-or-png"}}}]
    assert sorted(p["protocol"] for p in dns["ports"]) == ["TCP", "UDP"]
    assert {p["port"] for p in dns["ports"]} == {53}
    assert dns["to"][0]["namespaceSelector"]["matchLabels"] == {"kubernetes.io/metadata.name": "kube-system"}


def test_network_policy_namespaces_are_selectable():
    policy = one(
        render("docproxy", sets={"networkPolicy.ingressControllerNamespace": "ingress-nginx",
                                 "networkPolicy.monitoringNamespace": ""}),
        "NetworkPolicy",
    )["spec"]
    namespaces = [p["namespaceSelector"]["matchLabels"] for p in policy["ingress"][0]["from"] if "namespaceSelector" in p]
    assert namespaces == [{"kubernetes.io/metadata.name": "ingress-nginx"}]
    assert not by_kind(render("docproxy", sets={"networkPolicy.enabled": "false"}), "NetworkPolicy")


def test_ingress_and_ingress_route_point_at_the_service():
    objects = render("docproxy", HELM_DIR / "docproxy/ci/ingress-values.yaml")
    service = one(objects, "Service")["metadata"]["name"]
    ingress = one(objects, "Ingress")
    assert ingress["spec"]["ingressClassName"] == "traefik"
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend == {"name": service, "port": {"name": "http"}}
    route = one(objects, "IngressRoute")
    assert route["apiVersion"] == "traefik.io/v1alpha1"
    assert route["spec"]["routes"][0]["services"] == [{"name": service, "port": "http"}]
    assert route["spec"]["tls"] == {"secretName": "docproxy-tls"}


def test_monitoring_off_renders_no_monitoring_objects():
    objects = render("docproxy", sets={"monitoring.enabled": "false"})
    assert not {o["kind"] for o in objects} & MONITORING_KINDS
    assert not [o for o in by_kind(objects, "ConfigMap") if "grafana_dashboard" in o["metadata"]["labels"]]


def test_service_monitor_scrapes_metrics_with_the_release_label():
    objects = render("docproxy", sets={"monitoring.labels.release": "prom"})
    monitor = one(objects, "ServiceMonitor")
    assert monitor["metadata"]["labels"]["release"] == "prom"
    assert monitor["spec"]["endpoints"][0]["port"] == "http"
    assert monitor["spec"]["endpoints"][0]["path"] == "/metrics"
    # The Service carries app.kubernetes.io/name=docproxy, so the scrape job is "docproxy".
    assert monitor["spec"]["jobLabel"] == "app.kubernetes.io/name"
    assert one(objects, "Service")["metadata"]["labels"]["app.kubernetes.io/name"] == "docproxy"


@pytest.fixture
def chart_with_assets(tmp_path: Path) -> Path:
    """A copy of the chart whose files/ hold one known rule file and one known dashboard."""
    chart = tmp_path / "docproxy"
    shutil.copytree(HELM_DIR / "docproxy", chart)
    for sub, pattern in (("rules", "*.yml"), ("dashboards", "*.json")):
        for f in (chart / "files" / sub).glob(pattern):
            f.unlink()
    (chart / "files/rules/example.yml").write_text(
        "# comment kept out of the object\n"
        "groups:\n  - name: example\n    rules:\n      - record: job:up:sum\n        expr: sum(up)\n"
    )
    (chart / "files/dashboards/example.json").write_text('{\n\t"title": "Example",\n  "panels": []\n}\n')
    return chart


def test_rules_and_dashboards_come_from_the_chart_files(chart_with_assets: Path):
    objects = render(chart_with_assets, sets={"monitoring.labels.release": "prom"})
    rule = one(objects, "PrometheusRule")
    assert rule["metadata"]["name"] == "test-docproxy-example"
    assert rule["metadata"]["labels"]["release"] == "prom"
    assert rule["spec"]["groups"][0]["rules"][0] == {"record": "job:up:sum", "expr": "sum(up)"}

    dashboard = one(objects, "ConfigMap")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert dashboard["metadata"]["annotations"]["grafana_folder"] == "docproxy"
    source = (chart_with_assets / "files/dashboards/example.json").read_text()
    assert dashboard["data"]["example.json"] == source.rstrip("\n")

    off = render(chart_with_assets, sets={"monitoring.enabled": "false"})
    assert not by_kind(off, "PrometheusRule") and not by_kind(off, "ConfigMap")


def test_a_rule_file_without_groups_fails_the_render(chart_with_assets: Path):
    (chart_with_assets / "files/rules/broken.yml").write_text("rules: []\n")
    with pytest.raises(HelmError, match="broken.yml is not a Prometheus rule file"):
        render(chart_with_assets)


def test_every_synced_asset_becomes_an_object():
    """With the real copies: one PrometheusRule per rule file, one ConfigMap per dashboard."""
    files = HELM_DIR / "docproxy/files"
    objects = render("docproxy")
    assert len(by_kind(objects, "PrometheusRule")) == len(list((files / "rules").glob("*.yml")))
    assert len(by_kind(objects, "ConfigMap")) == len(list((files / "dashboards").glob("*.json")))
    for rule in by_kind(objects, "PrometheusRule"):
        source = files / "rules" / (rule["metadata"]["name"].removeprefix("test-docproxy-") + ".yml")
        assert rule["spec"] == yaml.safe_load(source.read_text())
