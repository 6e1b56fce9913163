"""Static checks of the observability assets: alert hygiene, dashboard
conventions, runbooks, the Alloy pipeline, Loki values and the compose stack."""

import re
from pathlib import Path

import pytest
import yaml

import alloy_syntax
from assets import (
    DASHBOARDS_DIR,
    OBSERVABILITY,
    RUNBOOK_BASE_URL,
    RUNBOOKS_DIR,
    alerting_rules,
    dashboards,
    kebab,
    panels,
    queries,
    recording_rules,
    rule_tests,
)

ALERTS = alerting_rules()
ALERT_NAMES = sorted({rule["alert"] for rule in ALERTS})
DASHBOARDS = dashboards()
SLO_WINDOWS = ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]


# --- alerts -------------------------------------------------------------------


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: r["alert"])
def test_alert_has_severity_summary_description_and_links(rule):
    assert rule["labels"]["severity"] in ("page", "ticket")
    annotations = rule["annotations"]
    assert annotations["summary"].strip()
    assert "$value" in annotations["description"], "descriptions show the value that fired"
    assert annotations["runbook_url"] == f"{RUNBOOK_BASE_URL}{kebab(rule['alert'])}.md"
    assert annotations["dashboard_url"].startswith("/d/")


@pytest.mark.parametrize("rule", ALERTS, ids=lambda r: r["alert"])
def test_alert_dashboard_link_points_at_an_existing_panel(rule):
    url = rule["annotations"]["dashboard_url"]
    uid = url.split("/")[2]
    by_uid = {d["uid"]: d for d in DASHBOARDS.values()}
    assert uid in by_uid, f"no dashboard with uid {uid}"
    view = re.search(r"viewPanel=(\d+)", url)
    if view:
        ids = {p["id"] for p in panels(by_uid[uid])}
        assert int(view.group(1)) in ids


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_every_alert_has_a_runbook_with_the_four_sections(name):
    runbook = RUNBOOKS_DIR / f"{kebab(name)}.md"
    assert runbook.is_file(), f"missing {runbook}"
    text = runbook.read_text()
    assert name in text
    for section in ("## Meaning", "## Impact", "## Diagnosis", "## Mitigation"):
        assert section in text, f"{runbook.name} lacks {section}"


def test_no_runbook_without_an_alert():
    expected = {f"{kebab(name)}.md" for name in ALERT_NAMES}
    assert {p.name for p in RUNBOOKS_DIR.glob("*.md")} - {"README.md"} == expected


@pytest.mark.parametrize("name", ALERT_NAMES)
def test_every_alert_is_unit_tested_firing_at_baseline_and_at_low_traffic(name):
    """promtool tests must make each alert fire, and keep it silent on the
    original upstream's corrupt mix (a test named "baseline ...") and at low
    traffic (a test named "... low traffic ...")."""
    fires, baseline, low = False, False, False
    for test in rule_tests():
        for case in test.get("alert_rule_test", []):
            if case["alertname"] != name:
                continue
            if case.get("exp_alerts"):
                fires = True
            elif test["name"].startswith("baseline"):
                baseline = True
            elif "low traffic" in test["name"]:
                low = True
    assert fires, f"no promtool test makes {name} fire"
    assert baseline, f"no baseline promtool test keeps {name} silent"
    assert low, f"no low-traffic promtool test keeps {name} silent"


def test_every_slo_window_is_recorded_for_both_slis():
    recorded = {rule["record"] for rule in recording_rules()}
    for window in SLO_WINDOWS:
        for name in (
            f"docproxy:sli_requests:rate{window}",
            f"docproxy:sli_availability_errors:rate{window}",
            f"docproxy:sli_availability_errors:ratio_rate{window}",
            f"docproxy:sli_latency_requests:rate{window}",
            f"docproxy:sli_latency_slow:rate{window}",
            f"docproxy:sli_latency_slow:ratio_rate{window}",
        ):
            assert name in recorded, f"missing recording rule {name}"


def test_recording_rule_windows_match_their_names():
    for rule in recording_rules():
        name_window = re.search(r"rate(\d+[mhd])$", rule["record"])
        for window in re.findall(r"\[(\d+[mhd])\]", rule["expr"]):
            assert name_window and window == name_window.group(1), rule["record"]
        for used in re.findall(r"docproxy:\w+:\w*rate(\d+[mhd])", rule["expr"]):
            assert name_window and used == name_window.group(1), rule["record"]


# --- dashboards ---------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_dashboard_identity_and_variables(name):
    dashboard = DASHBOARDS[name]
    assert dashboard["uid"] == Path(name).stem, "uid is stable and equal to the file name"
    assert dashboard["schemaVersion"] >= 39
    assert dashboard.get("id") is None, "exported dashboards carry no instance-specific id"
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["loki"]["type"] == "datasource"
    assert variables["loki"]["query"] == "loki"
    for name_ in ("namespace", "pod"):
        assert variables[name_]["type"] == "query"
        assert variables[name_]["datasource"]["uid"] == "${datasource}"
        assert variables[name_]["allValue"] == ".*"
    assert variables["request_id"]["type"] == "textbox"


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_every_panel_has_title_description_unit_and_a_variable_datasource(name):
    seen_ids = set()
    for panel in panels(DASHBOARDS[name]):
        label = f"panel {panel.get('id')} {panel.get('title')!r}"
        assert panel["id"] not in seen_ids, f"{label}: duplicate id"
        seen_ids.add(panel["id"])
        assert panel.get("title", "").strip(), label
        assert panel.get("description", "").strip(), f"{label}: no description"
        if panel["type"] == "row":
            continue
        assert panel["fieldConfig"]["defaults"].get("unit"), f"{label}: no unit"
        assert panel["datasource"]["uid"] in ("${datasource}", "${loki}"), label
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == panel["datasource"]["uid"], label


RANGE = re.compile(r"\[([^\]]+)\]")


@pytest.mark.parametrize("query", queries("prometheus"), ids=lambda q: f"{q.panel_id}{q.ref_id}")
def test_every_range_in_a_dashboard_query_is_the_rate_interval(query):
    """Ranges follow Grafana's $__rate_interval (never shorter than 4 scrapes);
    SLO windows come from recording rules, whose names carry the window."""
    for window in RANGE.findall(query.expr):
        assert window == "$__rate_interval", f"{query.panel_title}: [{window}]"


def test_log_queries_use_the_labels_alloy_sets():
    config = (OBSERVABILITY / "alloy" / "config.alloy").read_text()
    for query in queries("loki"):
        selector = re.match(r"\{([^}]*)\}", query.expr).group(1)
        for label in re.findall(r"(\w+)\s*=~?", selector):
            assert f'target_label  = "{label}"' in config, f"{label} is not a stream label Alloy sets"
        for field in re.findall(r"\|\s*(\w+)\s*=~", query.expr):
            assert re.search(rf"\b{field} = \"\"", config), f"{field} is not structured metadata from Alloy"


# --- logs pipeline -------------------------------------------------------------

ALLOY_FILES = [OBSERVABILITY / "alloy" / "config.alloy", OBSERVABILITY / "compose" / "alloy.alloy"]


@pytest.mark.parametrize("path", ALLOY_FILES, ids=lambda p: p.name)
def test_alloy_config_parses_and_references_declared_components(path):
    blocks = alloy_syntax.parse(path.read_text())
    assert alloy_syntax.undefined_references(blocks) == []
    names = {b.name for b in blocks}
    assert {"loki.process", "loki.write"} <= names
    assert "loki.source.kubernetes" in names or "loki.source.docker" in names


def test_alloy_syntax_checker_rejects_broken_configs():
    with pytest.raises(alloy_syntax.AlloySyntaxError):
        alloy_syntax.parse('loki.write "x" {\n  endpoint {\n    url = "http://a"\n')
    with pytest.raises(alloy_syntax.AlloySyntaxError):
        alloy_syntax.parse('loki.write "x" {\n  url =\n}\n')
    broken = alloy_syntax.parse('loki.source.file "x" {\n  forward_to = [loki.write.nope.receiver]\n}\n')
    assert alloy_syntax.undefined_references(broken)


def _process_block(path: Path) -> str:
    text = path.read_text()
    start = text.index('loki.process "docproxy_json" {')
    return text[start : text.index("\n}\n", start)]


def test_compose_and_kubernetes_share_the_same_log_pipeline():
    kubernetes, compose = (_process_block(p) for p in ALLOY_FILES)
    assert kubernetes == compose


def test_alloy_keeps_request_ids_out_of_labels():
    block = _process_block(ALLOY_FILES[0])
    labels = re.search(r"stage\.labels \{.*?\n    \}", block, re.S).group(0)
    assert "request_id" not in labels
    metadata = " ".join(re.findall(r"stage\.structured_metadata \{.*?\n  ?  \}", block, re.S))
    assert "request_id" in metadata and "pod" in metadata
    assert 'values = ["pod"]' in block, "pod is dropped from the stream labels"


def test_loki_values_are_monolithic_with_filesystem_storage():
    values = yaml.safe_load((OBSERVABILITY / "loki" / "values.yaml").read_text())
    assert values["deploymentMode"] == "SingleBinary"
    assert values["loki"]["storage"]["type"] == "filesystem"
    assert values["loki"]["limits_config"]["allow_structured_metadata"] is True
    assert values["singleBinary"]["replicas"] == 1
    assert all(values[target]["replicas"] == 0 for target in ("read", "write", "backend"))
    s3 = yaml.safe_load((OBSERVABILITY / "loki" / "values-s3.yaml").read_text())
    assert s3["loki"]["storage"]["type"] == "s3"
    assert s3["loki"]["schemaConfig"]["configs"][0]["object_store"] == "s3"


def test_nothing_uses_promtail_or_loki_stack():
    for path in OBSERVABILITY.rglob("*"):
        if path.is_file() and path.suffix in (".yml", ".yaml", ".alloy", ".json"):
            lines = path.read_text().lower().splitlines()
            code = [line for line in lines if not line.lstrip().startswith(("#", "//"))]
            assert not [line for line in code if "promtail" in line or "loki-stack" in line], path


# --- docker compose -------------------------------------------------------------

COMPOSE_DIR = OBSERVABILITY / "compose"
COMPOSE = yaml.safe_load((COMPOSE_DIR / "docker-compose.yml").read_text())


def test_compose_runs_the_whole_stack():
    assert set(COMPOSE["services"]) == {"docproxy", "dummy-pdf-or-png", "prometheus", "loki", "alloy", "grafana"}
    for target in ("docproxy", "dummy-pdf-or-png"):
        build = COMPOSE["services"][target]["build"]
        assert build["target"] == target
        assert (COMPOSE_DIR / build["context"] / "Dockerfile").is_file()


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_compose_images_are_pinned(service):
    spec = COMPOSE["services"][service]
    if "build" in spec:
        return
    image = spec["image"]
    assert re.search(r":v?\d+\.\d+\.\d+$", image), f"{service}: {image} is not pinned to a version"


@pytest.mark.parametrize("service", sorted(COMPOSE["services"]))
def test_compose_mounts_point_at_files_in_this_repo(service):
    for volume in COMPOSE["services"][service].get("volumes", []):
        source = volume.split(":")[0]
        if source.startswith("/var/run/docker.sock"):
            continue
        assert (COMPOSE_DIR / source).exists(), f"{service}: {source} does not exist"


def test_compose_mounts_the_source_of_truth():
    mounts = {v.split(":")[0]: v.split(":")[1] for s in COMPOSE["services"].values() for v in s.get("volumes", [])}
    assert mounts["../prometheus/rules"] == "/etc/prometheus/rules"
    assert mounts["../grafana/dashboards"] == "/var/lib/grafana/dashboards"
    prometheus = yaml.safe_load((COMPOSE_DIR / "prometheus.yml").read_text())
    assert prometheus["rule_files"] == ["/etc/prometheus/rules/*.yml"]
    home = COMPOSE["services"]["grafana"]["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert (DASHBOARDS_DIR / Path(home).name).is_file()
    provider = yaml.safe_load((COMPOSE_DIR / "grafana" / "dashboards.yaml").read_text())
    assert provider["providers"][0]["options"]["path"] == "/var/lib/grafana/dashboards"
    datasources = yaml.safe_load((COMPOSE_DIR / "grafana" / "datasources.yaml").read_text())
    assert {d["type"] for d in datasources["datasources"]} == {"prometheus", "loki"}


@pytest.mark.parametrize("name", sorted(DASHBOARDS))
def test_panels_do_not_overlap(name):
    cells = {}
    for panel in panels(DASHBOARDS[name]):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for x in range(grid["x"], grid["x"] + grid["w"]):
            for y in range(grid["y"], grid["y"] + grid["h"]):
                assert (x, y) not in cells, f"{panel['title']} overlaps {cells[(x, y)]}"
                cells[(x, y)] = panel["title"]
