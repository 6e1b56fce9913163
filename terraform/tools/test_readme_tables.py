"""The README tables generator, and the READMEs it owns being up to date."""

from pathlib import Path

import pytest

import readme_tables

TERRAFORM = Path(__file__).resolve().parent.parent
MODULE_DIRS = sorted(
    p.parent for p in TERRAFORM.glob("**/variables.tf") if ".terraform" not in p.parts
)

VARIABLES = '''variable "size" {
  description = "Node counts | per \\"group\\"."
  type = object({
    min = number
    max = number
  })
  default = { min = 1, max = 3 }

  validation {
    condition     = var.size.min <= var.size.max
    error_message = "min <= max."
  }
}

variable "name" {
  description = "Required name."
  type        = string
}

variable "secret" {
  description = "Optional secret."
  type        = string
  default     = null
  sensitive   = true
}
'''

OUTPUTS = '''output "url" {
  description = "Where it listens."
  value       = "http://${var.name}"
}
'''


@pytest.fixture
def module(tmp_path):
    (tmp_path / "variables.tf").write_text(VARIABLES)
    (tmp_path / "outputs.tf").write_text(OUTPUTS)
    (tmp_path / "README.md").write_text("# m\n\nIntro.\n\n## Inputs\n\nstale\n")
    return tmp_path


def test_tables_list_every_variable_with_type_default_and_escaped_description(module):
    text = readme_tables.tables(module)
    assert '| `size` | Node counts \\| per "group". | `object({ min = number, max = number })` | `{ min = 1, max = 3 }` |' in text
    assert "| `name` | Required name. | `string` | required |" in text
    assert "| `secret` | Optional secret. | `string` | `null` |" in text
    assert "| `url` | Where it listens. |" in text


def test_check_fails_on_stale_readme_and_write_fixes_it(module, capsys):
    assert readme_tables.main(["--check", str(module)]) == 1
    assert "out of date" in capsys.readouterr().err
    assert readme_tables.main(["--write", str(module)]) == 0
    readme = (module / "README.md").read_text()
    assert readme.startswith("# m\n\nIntro.\n\n## Inputs\n")
    assert "stale" not in readme
    assert readme_tables.main(["--check", str(module)]) == 0


def test_every_module_has_a_readme():
    assert MODULE_DIRS, "no Terraform modules found"
    for d in MODULE_DIRS:
        assert (d / "README.md").exists(), f"{d} has no README.md"


@pytest.mark.parametrize("module_dir", MODULE_DIRS, ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_committed_readme_tables_are_up_to_date(module_dir):
    assert (module_dir / "README.md").read_text() == readme_tables.expected_readme(module_dir), (
        f"run: python3 terraform/tools/readme_tables.py --write {module_dir}"
    )
