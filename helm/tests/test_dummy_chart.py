"""The dummy-pdf-or-png chart: fault settings, a closed network policy and an optional ServiceMonitor."""

from __future__ import annotations

from conftest import by_kind, one, render, workload


def test_fault_settings_become_env_and_listen_is_fixed():
    objects = render("dummy-pdf-or-png", sets={"env.DUMMY_ERROR_RATE": "0.1", "env.DUMMY_LATENCY": "20ms"})
    env = {e["name"]: e["value"] for e in workload(objects)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env == {"DUMMY_LISTEN": "0.0.0.0:3000", "DUMMY_ERROR_RATE": "0.1", "DUMMY_LATENCY": "20ms"}


def test_network_policy_admits_docproxy_monitoring_and_test_pod_and_denies_egress():
    objects = render("dummy-pdf-or-png")
    policy = one(objects, "NetworkPolicy")["spec"]
    assert policy["policyTypes"] == ["Ingress", "Egress"]
    assert policy["egress"] == []
    [rule] = policy["ingress"]
    assert rule["ports"] == [{"port": "http", "protocol": "TCP"}]
    peers = rule["from"]
    assert peers[0] == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "docproxy"}}}
    assert peers[1] == {"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "monitoring"}}}
    test_labels = one(objects, "Pod")["metadata"]["labels"]
    assert peers[2]["podSelector"]["matchLabels"].items() <= test_labels.items()
    assert len(peers) == 3


def test_docproxy_pods_match_the_dummy_policy_and_docproxy_egress_matches_the_dummy_pods():
    """The two charts' policies agree with each other's pod labels under default values."""
    docproxy = render("docproxy")
    dummy = render("dummy-pdf-or-png", release="dummy-pdf-or-png")
    docproxy_pod = workload(docproxy)["spec"]["template"]["metadata"]["labels"]
    dummy_pod = workload(dummy)["spec"]["template"]["metadata"]["labels"]
    allowed_in = one(dummy, "NetworkPolicy")["spec"]["ingress"][0]["from"][0]["podSelector"]["matchLabels"]
    assert allowed_in.items() <= docproxy_pod.items()
    allowed_out = one(docproxy, "NetworkPolicy")["spec"]["egress"][0]["to"][0]["podSelector"]["matchLabels"]
    assert allowed_out.items() <= dummy_pod.items()


def test_service_monitor_is_off_by_default_and_scrapes_the_reserved_path():
    assert not by_kind(render("dummy-pdf-or-png"), "ServiceMonitor")
    monitor = one(render("dummy-pdf-or-png", sets={"monitoring.enabled": "true"}), "ServiceMonitor")
    assert monitor["spec"]["endpoints"][0]["path"] == "/_dummy/metrics"
    assert monitor["metadata"]["labels"]["release"] == "kube-prometheus-stack"


def test_numeric_settings_are_quoted_into_env(tmp_path):
    values = tmp_path / "values.yaml"
    values.write_text("env:\n  DUMMY_ERROR_RATE: 0.05\n  DUMMY_SEED: 42\n")
    objects = render("dummy-pdf-or-png", values)
    env = {e["name"]: e["value"] for e in workload(objects)["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert env["DUMMY_ERROR_RATE"] == "0.05" and env["DUMMY_SEED"] == "42"
