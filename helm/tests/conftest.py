"""Helpers for the chart tests: render a chart with `helm template` and index the objects.

Needs the helm binary: on PATH, or installed by .ci/tools/install-helm.sh into .ci/.tools/bin.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

HELM_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = HELM_DIR.parent
CHARTS = ("docproxy", "dummy-pdf-or-png")
NAMESPACE = "docproxy"


def helm_binary() -> str:
    found = shutil.which("helm") or str(REPO_ROOT / ".ci/.tools/bin/helm")
    if not os.access(found, os.X_OK):
        pytest.fail("helm not found: run .ci/tools/install-helm.sh")
    return found


class HelmError(Exception):
    """`helm template` refused the chart or the values (stderr in the message)."""


def render(
    chart: str | Path,
    *values_files: str | Path,
    sets: dict[str, str] | None = None,
    release: str = "test",
) -> list[dict]:
    """Renders a chart (a name under helm/ or a path) and returns its objects, tests included."""
    chart_dir = chart if isinstance(chart, Path) else HELM_DIR / chart
    cmd = [helm_binary(), "template", release, str(chart_dir), "--namespace", NAMESPACE]
    for f in values_files:
        cmd += ["--values", str(f)]
    for key, value in (sets or {}).items():
        cmd += ["--set", f"{key}={value}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HelmError(proc.stderr)
    return [doc for doc in yaml.safe_load_all(proc.stdout) if doc]


def by_kind(objects: list[dict], kind: str) -> list[dict]:
    return [o for o in objects if o["kind"] == kind]


def one(objects: list[dict], kind: str) -> dict:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"expected one {kind}, got {len(found)}"
    return found[0]


def workload(objects: list[dict]) -> dict:
    """The chart's Deployment (not the helm test pod)."""
    return one(objects, "Deployment")


def ci_values_files() -> list[tuple[str, Path | None]]:
    """(chart, values file) for every chart's defaults and every ci/*.yaml set."""
    cases: list[tuple[str, Path | None]] = []
    for chart in CHARTS:
        cases.append((chart, None))
        cases += [(chart, f) for f in sorted((HELM_DIR / chart / "ci").glob("*.yaml"))]
    return cases


def case_id(case: tuple[str, Path | None]) -> str:
    chart, values = case
    return f"{chart}:{values.name if values else 'defaults'}"


def notes(chart: str, *values_files: str | Path, release: str = "test") -> str:
    """NOTES.txt as `helm install` prints it (a client-side dry run: no cluster needed)."""
    cmd = [helm_binary(), "install", release, str(HELM_DIR / chart), "--namespace", NAMESPACE, "--dry-run=client"]
    for f in values_files:
        cmd += ["--values", str(f)]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HelmError(proc.stderr)
    return proc.stdout.split("NOTES:\n", 1)[1]
