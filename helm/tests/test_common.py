"""Properties both charts must keep under every CI value set: hardening, probes, labels, selectors."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import by_kind, case_id, ci_values_files, notes, one, render, workload

CASES = ci_values_files()
HEALTH_PATHS = {
    "docproxy": {"startupProbe": "/healthz", "livenessProbe": "/healthz", "readinessProbe": "/readyz"},
    "dummy-pdf-or-png": {
        "startupProbe": "/_dummy/healthz",
        "livenessProbe": "/_dummy/healthz",
        "readinessProbe": "/_dummy/healthz",
    },
}
CONTAINER_PORT = {"docproxy": 8080, "dummy-pdf-or-png": 3000}


def rendered(case: tuple[str, Path | None]) -> list[dict]:
    chart, values = case
    return render(chart, *([values] if values else []))


def assert_hardened_container(container: dict) -> None:
    sc = container["securityContext"]
    assert sc["runAsNonRoot"] is True
    assert sc["runAsUser"] == 65532
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert "limits" in container["resources"] and "requests" in container["resources"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_probes_hit_the_health_endpoints(case):
    chart, _ = case
    container = workload(rendered(case))["spec"]["template"]["spec"]["containers"][0]
    for probe, path in HEALTH_PATHS[chart].items():
        assert container[probe]["httpGet"] == {"path": path, "port": "http"}, probe
    assert container["ports"] == [{"name": "http", "containerPort": CONTAINER_PORT[chart], "protocol": "TCP"}]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pods_are_hardened(case):
    objects = rendered(case)
    pods = [workload(objects)["spec"]["template"]["spec"]] + [p["spec"] for p in by_kind(objects, "Pod")]
    for pod in pods:
        assert pod["automountServiceAccountToken"] is False
        assert pod["securityContext"]["runAsNonRoot"] is True
        assert pod["securityContext"]["runAsUser"] == 65532
        assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
        for container in pod["containers"]:
            assert_hardened_container(container)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_selectors_match_pod_labels(case):
    objects = rendered(case)
    deployment = workload(objects)
    pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = [deployment["spec"]["selector"]["matchLabels"], one(objects, "Service")["spec"]["selector"]]
    selectors += [o["spec"]["selector"]["matchLabels"] for o in by_kind(objects, "PodDisruptionBudget")]
    selectors += [o["spec"]["podSelector"]["matchLabels"] for o in by_kind(objects, "NetworkPolicy")]
    selectors += [o["spec"]["selector"]["matchLabels"] for o in by_kind(objects, "ServiceMonitor")]
    for constraint in deployment["spec"]["template"]["spec"].get("topologySpreadConstraints", []):
        selectors.append(constraint["labelSelector"]["matchLabels"])
    for selector in selectors:
        assert selector and selector.items() <= pod_labels.items(), selector
    # The test pod must not be picked up by the Service.
    for pod in by_kind(objects, "Pod"):
        assert not one(objects, "Service")["spec"]["selector"].items() <= pod["metadata"]["labels"].items()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_every_object_has_standard_labels_and_namespace(case):
    for obj in rendered(case):
        labels = obj["metadata"]["labels"]
        for key in ("app.kubernetes.io/name", "app.kubernetes.io/instance"):
            assert key in labels, (obj["kind"], key)
        assert obj["metadata"]["namespace"] == "docproxy", obj["kind"]


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_helm_test_pod_checks_the_content_type(case):
    chart, _ = case
    objects = rendered(case)
    pod = one(objects, "Pod")
    assert pod["metadata"]["annotations"]["helm.sh/hook"] == "test"
    container = pod["spec"]["containers"][0]
    assert "@sha256:" in container["image"]
    url = next(e["value"] for e in container["env"] if e["name"] == "URL")
    service = one(objects, "Service")
    assert url == f"http://{service['metadata']['name']}:{service['spec']['ports'][0]['port']}/1"
    script = container["command"][-1]
    assert "application/pdf" in script and "image/png" in script


@pytest.mark.parametrize("chart", ["docproxy", "dummy-pdf-or-png"])
def test_image_digest_wins_over_tag(chart):
    digest = "sha256:" + "ab" * 32
    container = workload(render(chart, sets={"image.tag": "9.9.9", "image.digest": digest}))
    image = container["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image == f"ghcr.io/docproxy/{chart}@{digest}"
    container = workload(render(chart, sets={"image.tag": "9.9.9"}))
    assert container["spec"]["template"]["spec"]["containers"][0]["image"] == f"ghcr.io/docproxy/{chart}:9.9.9"


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_notes_say_how_to_reach_the_service(case):
    chart, values = case
    service = one(rendered(case), "Service")
    text = notes(chart, *([values] if values else []))
    assert f"port-forward svc/{service['metadata']['name']}" in text
    assert "helm test test -n docproxy" in text
