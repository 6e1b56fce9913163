"""Loads the observability assets (rules, dashboards) the way their consumers see them."""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

OBSERVABILITY = Path(__file__).resolve().parent.parent
REPO = OBSERVABILITY.parent
RULES_DIR = OBSERVABILITY / "prometheus" / "rules"
RULE_TESTS_DIR = OBSERVABILITY / "prometheus" / "tests"
DASHBOARDS_DIR = OBSERVABILITY / "grafana" / "dashboards"
RUNBOOKS_DIR = OBSERVABILITY / "runbooks"
RUNBOOK_BASE_URL = "https://github.com/docproxy/docproxy/blob/main/observability/runbooks/"

# What Grafana would put in place of its variables when running a dashboard
# query against the local Prometheus: every namespace and pod (the local
# scrape has neither label, and `=~".*"` matches a missing label), and a rate
# window of four 1-second scrapes, as $__rate_interval is at least 4 scrapes.
LOCAL_VARIABLES = {
    "$__rate_interval": "4s",
    "$namespace": ".*",
    "$pod": ".*",
}


def kebab(name: str) -> str:
    """DocproxyBreakerOpen -> docproxy-breaker-open (runbook file names)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def rule_groups() -> list[dict]:
    groups = []
    for path in sorted(RULES_DIR.glob("*.yml")):
        groups.extend(yaml.safe_load(path.read_text())["groups"])
    return groups


def alerting_rules() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "alert" in rule]


def recording_rules() -> list[dict]:
    return [rule for group in rule_groups() for rule in group["rules"] if "record" in rule]


def rule_tests() -> list[dict]:
    tests = []
    for path in sorted(RULE_TESTS_DIR.glob("*.yml")):
        tests.extend(yaml.safe_load(path.read_text())["tests"])
    return tests


def dashboards() -> dict[str, dict]:
    return {path.name: json.loads(path.read_text()) for path in sorted(DASHBOARDS_DIR.glob("*.json"))}


@dataclass(frozen=True)
class Query:
    dashboard: str
    panel_id: int
    panel_title: str
    ref_id: str
    expr: str
    datasource_type: str

    def local_expr(self) -> str:
        """The query with Grafana's variables replaced as for the local Prometheus."""
        expr = self.expr
        for variable, value in LOCAL_VARIABLES.items():
            expr = expr.replace(variable, value)
        return expr


def panels(dashboard: dict) -> list[dict]:
    """Every panel, including those nested in collapsed rows."""
    out = []
    for panel in dashboard.get("panels", []):
        out.append(panel)
        out.extend(panel.get("panels", []))
    return out


def queries(datasource_type: str | None = None) -> list[Query]:
    out = []
    for name, dashboard in dashboards().items():
        for panel in panels(dashboard):
            for target in panel.get("targets", []):
                ds = target.get("datasource") or panel.get("datasource") or {}
                if datasource_type and ds.get("type") != datasource_type:
                    continue
                out.append(Query(name, panel["id"], panel["title"], target["refId"], target["expr"], ds.get("type", "")))
    return out


METRIC_NAME = re.compile(r"\b(docproxy_[a-z0-9_]+|container_[a-z0-9_]+|up)\b")
HISTOGRAM_SUFFIXES = ("_bucket", "_count", "_sum")


def metric_families(expr: str) -> set[str]:
    """Raw metric families an expression reads (recording rules, with ':', excluded)."""
    names = set()
    for match in METRIC_NAME.finditer(expr):
        start, end = match.span()
        if expr[start - 1 : start] == ":" or expr[end : end + 1] == ":":
            continue
        name = match.group(1)
        for suffix in HISTOGRAM_SUFFIXES:
            if name.endswith(suffix) and name.startswith("docproxy_") and "_seconds" in name:
                name = name[: -len(suffix)]
        names.add(name)
    return names
