"""Renders the third-party charts Terraform installs and validates what they produce.

kube-prometheus-stack, loki and alloy are rendered at the versions terraform pins, with the
exact values its values module computes for each environment (terraform/tools/chart-values,
applied without providers), and every object is validated strictly against the Kubernetes
1.33 schemas. Kinds defined by a CustomResourceDefinition in the same render are skipped
(their CRDs are validated); any other kind without a schema fails.

    python terraform/tools/render_charts.py                  # charts from their Helm repositories
    python terraform/tools/render_charts.py --charts-dir D   # D/<chart>: sources checked out by hand

Needs terraform and helm on PATH (or helm in .ci/.tools/bin) and kubernetes-validate.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
VALUES_ROOT = REPO / "terraform" / "tools" / "chart-values"
KUBERNETES_VERSION = "1.33.0"
NAMESPACE = "monitoring"


class _Loader(yaml.SafeLoader):
    """PyYAML reads a bare `=` (in the Prometheus operator's CRDs) as the YAML 1.1 value tag."""


_Loader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def helm() -> str:
    return shutil.which("helm") or str(REPO / ".ci" / ".tools" / "bin" / "helm")


def terraform_outputs() -> dict:
    """Applies the provider-free chart-values root into throw-away state; returns its outputs."""
    with tempfile.TemporaryDirectory() as tmp:
        state = str(Path(tmp) / "terraform.tfstate")
        quiet = {"check": True, "capture_output": True, "text": True}
        tf = ["terraform", f"-chdir={VALUES_ROOT}"]
        subprocess.run([*tf, "init", "-backend=false", "-input=false", "-no-color"], **quiet)
        subprocess.run([*tf, "apply", "-auto-approve", "-input=false", "-no-color", f"-state={state}"], **quiet)
        out = subprocess.run([*tf, "output", "-json", f"-state={state}"], **quiet).stdout
    return {name: output["value"] for name, output in json.loads(out).items()}


def render(chart: dict, values: list[str], charts_dir: Path | None, workdir: Path) -> list[dict]:
    """`helm template` of one chart with the given values documents, CRDs included."""
    files = []
    for index, document in enumerate(values):
        path = workdir / f"{chart['chart']}-{index}.yaml"
        path.write_text(document)
        files += ["--values", str(path)]
    source = ([str(charts_dir / chart["chart"])] if charts_dir else
              [chart["chart"], "--repo", chart["repository"], "--version", chart["version"]])
    result = subprocess.run(
        [helm(), "template", chart["chart"], *source, "--namespace", NAMESPACE,
         "--kube-version", KUBERNETES_VERSION, "--include-crds", *files],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"helm template {chart['chart']} failed:\n{result.stderr}")
    return [obj for obj in yaml.load_all(result.stdout, Loader=_Loader) if obj]


def invalid_objects(objects: list[dict]) -> tuple[int, list[str]]:
    """(objects validated, problems): strict Kubernetes 1.33 schemas; own CRD kinds skipped."""
    # Imported here: test_tpl_passthrough.py (60-terraform.sh) uses this module without it.
    import kubernetes_validate

    custom = {(f"{crd['spec']['group']}/{version['name']}", crd["spec"]["names"]["kind"])
              for crd in objects if crd.get("kind") == "CustomResourceDefinition"
              for version in crd["spec"]["versions"]}
    validated, problems = 0, []
    for obj in objects:
        if (obj["apiVersion"], obj["kind"]) in custom:
            continue
        try:
            kubernetes_validate.validate(obj, KUBERNETES_VERSION, strict=True)
            validated += 1
        except kubernetes_validate.ValidationError as err:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: {err.message} at {list(err.path)}")
        except kubernetes_validate.SchemaNotFoundError:
            problems.append(f"{obj['kind']}/{obj['metadata']['name']}: no schema for {obj['apiVersion']}")
    return validated, problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--charts-dir", type=Path, help="render DIR/<chart> instead of the Helm repository's package")
    args = parser.parse_args()

    outputs = terraform_outputs()
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for env, per_chart in outputs["values"].items():
            for key, chart in outputs["charts"].items():
                objects = render(chart, per_chart[key], args.charts_dir, Path(tmp))
                validated, problems = invalid_objects(objects)
                print(f"{env}: {chart['chart']} {chart['version']}: {len(objects)} objects, "
                      f"{validated} validated against Kubernetes {KUBERNETES_VERSION}, {len(problems)} invalid")
                for problem in problems:
                    print(f"  {problem}")
                failed |= bool(problems) or validated == 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
