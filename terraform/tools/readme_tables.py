"""Inputs and outputs tables of a Terraform root module or module, for its README.

The tables are copies of what variables.tf and outputs.tf say, so this script
owns them: `--write` regenerates everything from "## Inputs" to the end of each
README, `--check` fails when a README has drifted. It reads `terraform fmt`
formatted files (top-level blocks closed by a "}" in column 0, two-space
attribute indentation), which `terraform fmt -check` guarantees in CI.

    python3 terraform/tools/readme_tables.py --check terraform/modules/* terraform/environments/...
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

MARKER = "## Inputs"

_BLOCK = r'^{kind} "([^"]+)" \{{\n(.*?)^\}}'
# An attribute's value runs until the next top-level attribute or block of the variable.
_NEXT = r"(?=^  (?:type|default|description|sensitive|nullable|validation|value|ephemeral)\b|\Z)"


def _blocks(kind: str, text: str) -> list[tuple[str, str]]:
    return re.findall(_BLOCK.format(kind=kind), text, re.S | re.M)


def _attr(body: str, name: str) -> str | None:
    m = re.search(rf"^  {name}\s*=\s*(.*?){_NEXT}", body, re.S | re.M)
    return " ".join(m.group(1).split()) if m else None


def _description(body: str) -> str:
    raw = _attr(body, "description") or '""'
    return raw.strip('"').replace('\\"', '"').replace("|", "\\|")


def _type(body: str) -> str:
    raw = _attr(body, "type") or "any"
    # Object members lose their newlines when joined: put commas between them.
    return re.sub(r"(string|number|bool|\)) (\w+ =)", r"\1, \2", raw)


def _cell(code: str) -> str:
    return "`%s`" % code.replace("|", "\\|")


def tables(module_dir: Path) -> str:
    """Markdown for the Inputs and Outputs sections of one module directory."""
    variables = (module_dir / "variables.tf").read_text() if (module_dir / "variables.tf").exists() else ""
    outputs = (module_dir / "outputs.tf").read_text() if (module_dir / "outputs.tf").exists() else ""
    lines = [MARKER, "", "| Name | Description | Type | Default |", "| --- | --- | --- | --- |"]
    for name, body in _blocks("variable", variables):
        default = _attr(body, "default")
        lines.append(
            f"| `{name}` | {_description(body)} | {_cell(_type(body))} | "
            f"{'required' if default is None else _cell(default)} |"
        )
    lines += ["", "## Outputs", "", "| Name | Description |", "| --- | --- |"]
    for name, body in _blocks("output", outputs):
        lines.append(f"| `{name}` | {_description(body)} |")
    return "\n".join(lines) + "\n"


def expected_readme(module_dir: Path) -> str:
    readme = (module_dir / "README.md").read_text()
    head = readme.split(MARKER, 1)[0]
    return head + tables(module_dir)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="fail if a README's tables are out of date")
    mode.add_argument("--write", action="store_true", help="rewrite the tables in place")
    parser.add_argument("dirs", nargs="+", type=Path)
    args = parser.parse_args(argv)

    stale = []
    for d in args.dirs:
        want = expected_readme(d)
        if (d / "README.md").read_text() != want:
            if args.write:
                (d / "README.md").write_text(want)
            else:
                stale.append(d)
    for d in stale:
        print(f"{d}/README.md: inputs/outputs tables are out of date; run "
              f"python3 terraform/tools/readme_tables.py --write {d}", file=sys.stderr)
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
