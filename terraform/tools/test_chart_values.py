"""terraform/tools/chart-values computes the values the environments really pass.

The chart checks (test_tpl_passthrough.py here, render_charts.py in ci.yml) take their
values from chart-values, which repeats the arguments of each environment's observability
module call. This keeps the kind copy literal-for-literal equal to environments/local.
"""

from __future__ import annotations

import re
from pathlib import Path

TERRAFORM = Path(__file__).resolve().parents[1]


def module_arguments(path: Path, name: str) -> dict[str, str]:
    """`key = value` lines of a top-level module block (terraform fmt layout)."""
    block = re.search(rf'^module "{name}" \{{\n(.*?)^\}}', path.read_text(), re.M | re.S)
    assert block, f'module "{name}" not found in {path}'
    return dict(re.findall(r"^  (\w+)\s+= (.+)$", block.group(1), re.M))


def test_kind_values_are_the_local_environments():
    env = module_arguments(TERRAFORM / "environments" / "local" / "main.tf", "observability")
    tool = module_arguments(TERRAFORM / "tools" / "chart-values" / "main.tf", "kind")
    # Literal arguments only: references (var.*, module.*) have no value before apply.
    literals = {k: v for k, v in env.items()
                if k != "source" and not re.match(r"(var|module|local|data)\.|\[", v)}
    assert literals, "no literal arguments found: the parser no longer matches main.tf"
    tool.pop("source"), tool.pop("observability_dir")
    assert tool == literals
