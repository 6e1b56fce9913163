"""Every rendered object of every CI value set is valid for Kubernetes 1.33, strictly (no unknown fields).

CRD kinds are not in kubernetes-validate's schemas: they are listed here and skipped on purpose;
any other kind without a schema fails, so nothing slips through unvalidated.
"""

from __future__ import annotations

import kubernetes_validate
import pytest

from conftest import case_id, ci_values_files, render

KUBERNETES_VERSION = "1.33.0"
CRD_KINDS = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"),
    ("monitoring.coreos.com/v1", "PrometheusRule"),
    ("traefik.io/v1alpha1", "IngressRoute"),
}


@pytest.mark.parametrize("case", ci_values_files(), ids=case_id)
def test_rendered_objects_are_valid_kubernetes(case):
    chart, values = case
    validated = 0
    for obj in render(chart, *([values] if values else [])):
        if (obj["apiVersion"], obj["kind"]) in CRD_KINDS:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as err:
            pytest.fail(f"{obj['kind']}/{obj['metadata']['name']}: {err.message} at {list(err.path)}")
        validated += 1
    assert validated >= 4  # Deployment, Service, ServiceAccount, test Pod at least


def test_unknown_fields_are_caught():
    """The validator really is strict: a typo'd field fails."""
    deployment = next(o for o in render("docproxy") if o["kind"] == "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
