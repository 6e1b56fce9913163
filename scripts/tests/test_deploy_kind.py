"""scripts/deploy-kind.sh against fake terraform, kubectl and docker (no cluster runs here).

Proves the deploy pulls only the Docker host's platform, passes the right variables, waits
for every workload, refuses a cluster that runs another image than asked, and that the
variables and outputs it relies on are the ones terraform/environments/local declares.
"""

import os
import re
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "deploy-kind.sh"
LOCAL_ENV = REPO / "terraform" / "environments" / "local"

# Each fake logs its argv to $FAKE_LOG and answers the few queries the script makes.
FAKES = {
    "terraform": """
case "$*" in
  *"output -raw kubectl_flags"*) echo "--kubeconfig /tmp/fake.kubeconfig" ;;
esac
""",
    "kubectl": """
case "$*" in
  *"get deployments,statefulsets,daemonsets -o name"*)
    echo deployment.apps/docproxy; echo statefulset.apps/loki ;;
  *"rollout status"*) [ -z "${FAKE_ROLLOUT_FAIL:-}" ] ;;
  *"get deployments -o jsonpath"*)
    echo "ghcr.io/acme/docproxy:$FAKE_RUNNING_TAG ghcr.io/acme/dummy-pdf-or-png:$FAKE_RUNNING_TAG" ;;
esac
""",
    # An arm64 host, so a hard-coded linux/amd64 would show.
    "docker": """
case "$*" in
  "version --format {{.Server.Os}}/{{.Server.Arch}}") echo linux/arm64 ;;
esac
""",
}


@pytest.fixture
def fakes(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, body in FAKES.items():
        path = bin_dir / name
        path.write_text(f'#!/usr/bin/env bash\necho "{name} $*" >>"$FAKE_LOG"\n{body}')
        path.chmod(0o755)
    return bin_dir, tmp_path / "calls.log"


def run(fakes, *args, **env):
    bin_dir, log = fakes
    full_env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "FAKE_LOG": str(log),
                "IMAGE_REGISTRY": "ghcr.io/acme", "FAKE_RUNNING_TAG": "sha-1234567", **env}
    result = subprocess.run(["bash", str(SCRIPT), *args], env=full_env, capture_output=True,
                            text=True, timeout=60)
    calls = log.read_text().splitlines() if log.exists() else []
    return result, calls


def test_deploy_applies_the_tag_and_waits_for_every_workload(fakes):
    result, calls = run(fakes, "deploy", "sha-1234567")
    assert result.returncode == 0, result.stdout + result.stderr
    # Only the Docker host's platform (kind#3795: multi-platform images break `kind load`).
    assert "docker pull -q --platform linux/arm64 ghcr.io/acme/docproxy:sha-1234567" in calls
    assert "docker pull -q --platform linux/arm64 ghcr.io/acme/dummy-pdf-or-png:sha-1234567" in calls
    [apply] = [c for c in calls if c.startswith("terraform") and " apply " in c]
    assert "-var image_registry=ghcr.io/acme" in apply
    assert "-var docproxy_image_tag=sha-1234567" in apply
    assert "-var cluster_name=docproxy" in apply
    rollouts = [c for c in calls if "rollout status" in c]
    assert len(rollouts) == 4  # two workloads in each of monitoring and docproxy
    assert all("--kubeconfig /tmp/fake.kubeconfig" in c for c in rollouts)


def test_local_images_are_not_pulled(fakes):
    result, calls = run(fakes, "deploy", "dev", IMAGE_REGISTRY="", FAKE_RUNNING_TAG="dev")
    assert result.returncode == 0, result.stderr
    assert not [c for c in calls if c.startswith("docker")]


def test_deploy_fails_when_another_image_runs(fakes):
    result, _ = run(fakes, "deploy", "sha-1234567", FAKE_RUNNING_TAG="sha-7654321")
    assert result.returncode != 0
    assert "expected docproxy:sha-1234567" in result.stderr


def test_deploy_fails_when_a_rollout_does_not_finish(fakes):
    result, calls = run(fakes, "deploy", "sha-1234567", FAKE_ROLLOUT_FAIL="1")
    assert result.returncode != 0
    assert len([c for c in calls if "rollout status" in c]) == 1


def test_usage_without_a_command(fakes):
    result, _ = run(fakes)
    assert result.returncode == 2
    assert "deploy TAG" in result.stdout


def test_uses_only_variables_and_outputs_the_local_environment_declares():
    script = SCRIPT.read_text()
    declared_vars = set(re.findall(r'^variable "(\w+)"', (LOCAL_ENV / "variables.tf").read_text(), re.M))
    declared_outputs = set(re.findall(r'^output "(\w+)"', (LOCAL_ENV / "outputs.tf").read_text(), re.M))
    used_vars = set(re.findall(r'-var "(\w+)=', script))
    used_outputs = set(re.findall(r"output -raw (\w+)", script)) | set(re.findall(r"output -json (\w+)", script))
    used_outputs |= set(re.findall(r"\.(\w+)\.value", script))
    assert used_vars and used_vars <= declared_vars
    assert used_outputs and used_outputs <= declared_outputs
