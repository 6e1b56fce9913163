"""values.schema.json rejects bad values before anything reaches a cluster."""

from __future__ import annotations

import pytest

from conftest import CHARTS, HelmError, render

BAD_FOR_BOTH = [
    {"replicaCount": "-1"},
    {"replicaCount": "0"},
    {"unknownKey": "1"},
    {"image.pullPolicy": "Sometimes"},
    {"image.digest": "latest"},
    {"image.unknown": "x"},
    {"service.port": "70000"},
    {"resources.limits.gpu": "1"},
    {"probes.liveness.periodSeconds": "0"},
    {"networkPolicy.enabled": "maybe"},
    {"monitoring.serviceMonitor.interval": "often"},
    {"tests.documentId": "abc"},
]

BAD_FOR_DOCPROXY = [
    {"config.upstreamUrl": "dummy:3000"},
    {"config.shutdownGraceSeconds": "0"},
    {"config.logFormat": "xml"},
    {"config.env.NOT_DOCPROXY": "x"},
    {"config.env.DOCPROXY_UPSTREAM_URL": "http://elsewhere"},  # has its own key
    {"config.env.DOCPROXY_DEADLINE.nested": "5s"},
    {"shutdown.preStopSleepSeconds": "-5"},
    {"autoscaling.maxReplicas": "0"},
    {"topologySpread.whenUnsatisfiable": "Sometimes"},
    {"ingress.hosts[0].paths[0].pathType": "Glob"},
    {"ingressRoute.enabled": "yes"},
    {"networkPolicy.upstream.port": "0"},
]

BAD_FOR_DUMMY = [
    {"env.DOCPROXY_DEADLINE": "1s"},
    {"env.DUMMY_LISTEN": "0.0.0.0:9"},
    {"env.DUMMY_ERROR_RATE[0]": "0.5"},  # a list where a scalar belongs
    {"networkPolicy.clientPodLabels": "null"},
]

CASES = (
    [(chart, bad) for chart in CHARTS for bad in BAD_FOR_BOTH]
    + [("docproxy", bad) for bad in BAD_FOR_DOCPROXY]
    + [("dummy-pdf-or-png", bad) for bad in BAD_FOR_DUMMY]
)


@pytest.mark.parametrize(("chart", "bad"), CASES, ids=lambda c: str(c))
def test_schema_rejects(chart, bad):
    with pytest.raises(HelmError, match="schema"):
        render(chart, sets=bad)


@pytest.mark.parametrize("chart", CHARTS)
def test_defaults_pass_the_schema(chart):
    assert render(chart)
