"""observability/alloy/config.alloy comes out of Helm's `tpl` byte for byte.

The grafana/alloy chart passes alloy.configMap.content through `tpl`, so any Go-template
delimiters in the file are executed by Helm (issue 13: `{{ ToLower .Value }}` stopped
`terraform apply`). tpl-passthrough/ is a chart of our own that applies `tpl` exactly as the
Alloy chart does; it is rendered by the real helm binary with the values Terraform generates.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from render_charts import REPO, helm, terraform_outputs

CHART = Path(__file__).resolve().parent / "tpl-passthrough"
CONFIG = REPO / "observability" / "alloy" / "config.alloy"


@pytest.fixture(scope="module")
def alloy_values() -> dict[str, str]:
    return {env: charts["alloy"][0] for env, charts in terraform_outputs()["values"].items()}


def rendered_config(values_yaml: str, tmp_path: Path) -> str:
    values = tmp_path / "values.yaml"
    values.write_text(values_yaml)
    result = subprocess.run([helm(), "template", "alloy", str(CHART), "--values", str(values)],
                            capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(result.stderr)
    return yaml.safe_load(result.stdout)["data"]["config.alloy"]


def with_content(values_yaml: str, content: str) -> str:
    values = yaml.safe_load(values_yaml)
    values["alloy"]["configMap"]["content"] = content
    return yaml.safe_dump(values)


def test_terraform_passes_the_file_itself(alloy_values):
    for values_yaml in alloy_values.values():
        assert yaml.safe_load(values_yaml)["alloy"]["configMap"]["content"] == CONFIG.read_text()


def test_config_alloy_is_byte_identical_after_tpl(alloy_values, tmp_path):
    # The chart's `|-` block scalar drops the file's final newline, and only that.
    expected = CONFIG.read_text().removesuffix("\n")
    for env, values_yaml in alloy_values.items():
        assert rendered_config(values_yaml, tmp_path) == expected, env


def test_the_stand_in_really_applies_tpl(alloy_values, tmp_path):
    values_yaml = next(iter(alloy_values.values()))
    # The line issue 13 found: Helm has no ToLower, so the render fails...
    with pytest.raises(RuntimeError, match='function "ToLower" not defined'):
        rendered_config(with_content(values_yaml, 'template = "{{ ToLower .Value }}"\n'), tmp_path)
    # ... and whatever does parse is executed against the chart's context, not Alloy's.
    assert rendered_config(with_content(values_yaml, 'x = "{{ .Chart.Name }}"\n'), tmp_path) == 'x = "tpl-passthrough"'
