"""Policy for the GitHub Actions setup, checked here because GitHub itself cannot be run here.

actionlint proves the workflows are valid; these tests prove they are safe and complete:
least privilege, full-SHA pins, timeouts, every CI step wired into ci.yml, and Dependabot
watching every manifest directory.
"""

import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))
ACTIONS = sorted((REPO / ".github" / "actions").glob("*/action.yml"))
USES = re.compile(r"^\s*(?:-\s*)?uses:\s*(\S+)(.*)$")
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def uses_lines(path: Path):
    for number, line in enumerate(path.read_text().splitlines(), 1):
        match = USES.match(line)
        if match:
            yield number, match.group(1), match.group(2)


def test_the_three_workflows_exist():
    assert {p.name for p in WORKFLOWS} >= {"ci.yml", "cd.yml", "release.yml"}


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.name)
def test_actions_are_pinned_by_full_sha_with_a_version_comment(path):
    for number, ref, rest in uses_lines(path):
        if ref.startswith("./"):
            assert (REPO / ref / "action.yml").exists(), f"{path.name}:{number}: {ref} missing"
            continue
        assert PINNED.match(ref), f"{path.name}:{number}: {ref} is not pinned to a full commit SHA"
        assert re.match(r"\s+#\s*\S", rest), f"{path.name}:{number}: {ref} has no version comment"


def test_one_sha_per_action_across_workflows():
    seen: dict[str, set[str]] = {}
    for path in WORKFLOWS + ACTIONS:
        for _, ref, _ in uses_lines(path):
            if "@" in ref:
                name, sha = ref.split("@")
                seen.setdefault(name, set()).add(sha)
    assert {name: shas for name, shas in seen.items() if len(shas) > 1} == {}


PIN_ROW = re.compile(r"^\| ([\w.-]+/[\w.-]+) \| (\S+) \| `([0-9a-f]{40})` \|", re.M)


def test_every_pin_is_the_one_verified_in_pipeline_md():
    # docs/PIPELINE.md records, per action, the tag and SHA checked against the action's
    # own repository; a pin that is not in that record has not been checked.
    verified = {(name, tag, sha) for name, tag, sha in
                PIN_ROW.findall((REPO / "docs" / "PIPELINE.md").read_text())}
    used = set()
    for path in WORKFLOWS + ACTIONS:
        for number, ref, rest in uses_lines(path):
            if ref.startswith("./"):
                continue
            name, sha = ref.split("@")
            tag = rest.split("#", 1)[1].split()[0]
            used.add((name, tag, sha))
    assert used - verified == set(), "pins not verified in docs/PIPELINE.md"
    assert verified - used == set(), "docs/PIPELINE.md lists pins no workflow uses"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_least_privilege_timeouts_and_concurrency(path):
    workflow = load(path)
    top = workflow.get("permissions")
    assert top is not None, "top-level permissions missing (GitHub's default token is broad)"
    assert top == {} or set(top.values()) <= {"read", "none"}, f"top-level permissions widen: {top}"
    assert "concurrency" in workflow
    for name, job in workflow["jobs"].items():
        assert "timeout-minutes" in job, f"job {name} has no timeout"
        assert "permissions" in job, f"job {name} does not declare its permissions"


@pytest.mark.parametrize("path", WORKFLOWS + ACTIONS, ids=lambda p: p.name)
def test_no_untrusted_input_expanded_into_scripts(path):
    # ${{ github.event.* }} in a run: block is a script injection; pass it through env: instead.
    def runs(node):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "run" and isinstance(value, str):
                    yield value
                else:
                    yield from runs(value)
        elif isinstance(node, list):
            for item in node:
                yield from runs(item)

    for script in runs(load(path)):
        assert not re.search(r"\$\{\{\s*(github\.(event|head_ref)|inputs\.)", script), script


def test_every_ci_step_runs_in_ci_yml():
    ci = (REPO / ".github" / "workflows" / "ci.yml").read_text()
    called = set(re.findall(r"bash (\.ci/steps/\d\d-[\w-]+\.sh)", ci))
    steps = {str(p.relative_to(REPO)) for p in (REPO / ".ci" / "steps").glob("*.sh")}
    assert steps - called == set(), "steps that GitHub Actions never runs"
    assert called - steps == set(), "ci.yml calls steps that do not exist"


def test_cd_uses_the_dockerfile_targets_and_the_smoke_test():
    cd = (REPO / ".github" / "workflows" / "cd.yml").read_text()
    dockerfile = (REPO / "Dockerfile").read_text()
    for target in ("docproxy", "dummy-pdf-or-png"):
        assert re.search(rf"^FROM .* AS {re.escape(target)}$", dockerfile, re.M)
        assert target in cd
    assert "scripts/smoke-test.sh" in cd


def test_cd_builds_each_architecture_natively_and_merges_them():
    # arm64 under QEMU is slow enough to hit the job timeout (issue 13): one native runner
    # per platform, then one multi-platform index.
    cd = load(REPO / ".github" / "workflows" / "cd.yml")
    text = (REPO / ".github" / "workflows" / "cd.yml").read_text()
    assert "setup-qemu-action" not in text
    runners = {entry["platform"]: entry["runner"] for entry in cd["jobs"]["build"]["strategy"]["matrix"]["include"]}
    assert runners == {"linux/amd64": "ubuntu-24.04", "linux/arm64": "ubuntu-24.04-arm"}
    assert cd["jobs"]["build"]["runs-on"] == "${{ matrix.runner }}"
    assert "docker buildx imagetools create" in text and "linux/amd64,linux/arm64" in text
    # Both jobs derive the version from the same tag rules (build: labels and VERSION arg;
    # images: the tags pushed), so the label and the tag cannot disagree.
    tag_rules = [next(s["with"]["tags"] for s in cd["jobs"][job]["steps"] if s.get("id") == "meta")
                 for job in ("build", "images")]
    assert tag_rules[0] == tag_rules[1]


def manifest_dirs(pattern: str) -> set[str]:
    return {"/" + str(p.parent.relative_to(REPO)) for p in REPO.glob(pattern)
            if ".terraform" not in p.parts}


def test_dependabot_watches_every_manifest():
    config = load(REPO / ".github" / "dependabot.yml")
    covered: dict[str, set[str]] = {}
    for update in config["updates"]:
        dirs = update.get("directories") or [update["directory"]]
        covered.setdefault(update["package-ecosystem"], set()).update(dirs)
    assert {"cargo", "github-actions", "docker", "terraform", "helm"} <= covered.keys()
    assert "/" in covered["cargo"] and "/" in covered["docker"] and "/" in covered["github-actions"]
    assert manifest_dirs("terraform/**/*.tf") <= covered["terraform"]
    assert manifest_dirs("helm/*/Chart.yaml") <= covered["helm"]
    assert {"/" + str(p.parent.relative_to(REPO)) for p in ACTIONS} <= covered["github-actions"]
