"""Proves scripts/smoke-test.sh passes on good answers and fails on bad ones.

Prometheus, Loki and Grafana are tiny in-process HTTP stubs with canned JSON. docproxy is
either a stub too (to serve the broken documents the real service never serves) or, in
`test_real_docproxy_passes`, the real binaries: DOCPROXY_BIN / DUMMY_BIN, defaulting to
target/debug (`.ci/steps/70-workflows.sh` builds them and sets SMOKE_REQUIRE_REAL=1).
"""

import base64
import json
import os
import socket
import subprocess
import threading
import time
import urllib.request
from urllib.parse import parse_qs
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "smoke-test.sh"


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return len(data).to_bytes(4, "big") + body + zlib.crc32(body).to_bytes(4, "big")

    ihdr = (1).to_bytes(4, "big") * 2 + bytes([8, 0, 0, 0, 0])
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\x00\x00")) + chunk(b"IEND", b""))


PNG = png_bytes()
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
METRICS = b'docproxy_http_requests_total{route="/{id}",method="GET",status="200"} 1\n'
UP = {"status": "success", "data": {"resultType": "vector", "result": [
    {"metric": {"job": "docproxy", "__name__": "up"}, "value": [0, "1"]}]}}
RULES = {"status": "success", "data": {"groups": [{"name": "docproxy-slo", "rules": []}]}}
LOGS = {"status": "success", "data": {"resultType": "streams", "result": [
    {"stream": {"app": "docproxy"}, "values": [["1", '{"level":"INFO"}']]}]}}
DASHBOARDS = [{"uid": "docproxy", "title": "docproxy", "type": "dash-db"}]
GRAFANA_AUTH = "Basic " + base64.b64encode(b"admin:s3cret").decode()


def good_routes() -> dict:
    """Path -> (status, content type, body): a healthy deployment."""
    return {
        "/1": (200, "image/png", PNG),
        "/healthz": (200, "text/plain", b"ok"),
        "/metrics": (200, "text/plain; version=0.0.4", METRICS),
        "/api/v1/query": (200, "application/json", UP),
        "/api/v1/rules": (200, "application/json", RULES),
        "/loki/api/v1/query_range": (200, "application/json", LOGS),
        "/api/search": (200, "application/json", DASHBOARDS),
    }


class Stub:
    """One HTTP server on 127.0.0.1 answering every endpoint the smoke test asks."""

    def __init__(self, routes: dict):
        self.routes = routes
        self.requests: list[tuple[str, dict]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path = self.path.split("?", 1)[0]
                stub.requests.append((self.path, dict(self.headers)))
                status, ctype, body = stub.routes.get(path, (404, "text/plain", b"not found"))
                if path == "/api/search" and self.headers.get("Authorization") != GRAFANA_AUTH:
                    status, ctype, body = 401, "application/json", {"message": "Unauthorized"}
                if not isinstance(body, bytes):
                    body = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def stub():
    s = Stub(good_routes())
    yield s
    s.close()


def smoke(docproxy: str, observability: str | None, *args: str, **env: str):
    """Runs the smoke test; observability=None leaves the Prometheus/Loki/Grafana URLs unset."""
    full_env = {k: v for k, v in os.environ.items() if not k.endswith("_URL")}
    full_env.update(DOCPROXY_URL=docproxy, GRAFANA_USER="admin", GRAFANA_PASSWORD="s3cret")
    if observability:
        full_env.update(PROMETHEUS_URL=observability, LOKI_URL=observability, GRAFANA_URL=observability)
    full_env.update(env)
    return subprocess.run(["bash", str(SCRIPT), *args], env=full_env, capture_output=True,
                          text=True, timeout=60)


def lines(result, word: str) -> list[str]:
    return [line for line in result.stdout.splitlines() if line.startswith(word + " ")]


def test_passes_on_a_healthy_deployment(stub):
    result = smoke(stub.url, stub.url)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(lines(result, "PASS")) == 7
    assert not lines(result, "FAIL") and not lines(result, "SKIP")
    assert "image/png" in result.stdout


def test_sends_the_queries_the_backends_expect(stub):
    smoke(stub.url, stub.url)
    queries = {path: parse_qs(query) for path, query in
               (p.split("?", 1) for p, _ in stub.requests if "?" in p)}
    assert queries["/api/v1/query"]["query"] == ['up{job=~".*docproxy.*"} == 1']
    assert queries["/loki/api/v1/query_range"]["query"] == ['{app="docproxy"}']
    assert queries["/api/search"]["query"] == ["docproxy"]


def test_passes_on_a_pdf(stub):
    stub.routes["/1"] = (200, "application/pdf", PDF)
    result = smoke(stub.url, stub.url)
    assert result.returncode == 0, result.stdout
    assert "application/pdf" in result.stdout


@pytest.mark.parametrize("status,ctype,body,reason", [
    (200, "text/html", b"<html></html>", "unexpected content type"),
    (200, "application/pdf", PNG, "without %PDF- header"),
    (200, "image/png", PDF, "without PNG signature"),
    (200, "image/png", PNG[:-12], "does not end with IEND"),
    (200, "application/pdf", PDF.replace(b"%%EOF", b""), "without %%EOF"),
    (502, "application/problem+json", b'{"title":"bad gateway"}', "HTTP 502"),
])
def test_fails_on_a_bad_document(stub, status, ctype, body, reason):
    stub.routes["/1"] = (status, ctype, body)
    result = smoke(stub.url, stub.url)
    assert result.returncode == 1
    [failure] = lines(result, "FAIL")
    assert failure.startswith("FAIL document /1") and reason in failure


@pytest.mark.parametrize("path,answer,check", [
    ("/healthz", (503, "text/plain", b"draining"), "/healthz"),
    ("/metrics", (200, "text/plain", b"other_metric 1\n"), "/metrics"),
    ("/api/v1/query", (200, "application/json", {"status": "success", "data": {"result": []}}),
     "Prometheus scrapes docproxy"),
    ("/api/v1/rules", (200, "application/json", {"status": "success", "data": {"groups": [
        {"name": "kubernetes-apps", "rules": []}]}}), "rule groups"),
    ("/loki/api/v1/query_range", (200, "application/json", {"status": "success", "data": {"result": []}}),
     "Loki"),
    ("/api/search", (200, "application/json", []), "Grafana"),
    ("/api/v1/query", (500, "text/plain", b"boom"), "Prometheus scrapes docproxy"),
])
def test_fails_when_one_check_fails(stub, path, answer, check):
    stub.routes[path] = answer
    result = smoke(stub.url, stub.url)
    assert result.returncode == 1
    [failure] = lines(result, "FAIL")
    assert check in failure
    assert len(lines(result, "PASS")) == 6


def test_sends_grafana_credentials(stub):
    result = smoke(stub.url, stub.url, GRAFANA_PASSWORD="wrong")
    assert result.returncode == 1
    assert "HTTP 401" in lines(result, "FAIL")[0]


def test_flags_override_the_environment(stub):
    result = smoke("http://127.0.0.1:9", None, "--docproxy", stub.url, "--prometheus", stub.url,
                   "--loki", stub.url, "--grafana", stub.url)
    assert result.returncode == 0, result.stdout
    assert len(lines(result, "PASS")) == 7


def test_skips_observability_checks_without_urls(stub):
    result = smoke(stub.url, None)
    assert result.returncode == 0
    assert len(lines(result, "PASS")) == 3 and len(lines(result, "SKIP")) == 3


def test_fails_fast_on_an_unreachable_service():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = smoke(f"http://127.0.0.1:{port}", None)
    assert result.returncode == 1
    assert len(lines(result, "FAIL")) == 3


def test_wait_retries_until_the_check_passes(stub):
    stub.routes["/api/v1/query"] = (200, "application/json", {"data": {"result": []}})
    threading.Timer(2, lambda: stub.routes.update({"/api/v1/query": good_routes()["/api/v1/query"]})).start()
    result = smoke(stub.url, stub.url, "--wait", "20")
    assert result.returncode == 0, result.stdout


def test_rejects_unknown_arguments():
    result = smoke("http://127.0.0.1:9", None, "--bogus", "x")
    assert result.returncode == 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{proc.args[0]} exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} not healthy after {timeout}s")


def test_real_docproxy_passes(stub):
    docproxy_bin = Path(os.environ.get("DOCPROXY_BIN", REPO / "target" / "debug" / "docproxy"))
    dummy_bin = Path(os.environ.get("DUMMY_BIN", REPO / "target" / "debug" / "dummy-pdf-or-png"))
    if not (docproxy_bin.exists() and dummy_bin.exists()):
        if os.environ.get("SMOKE_REQUIRE_REAL") == "1":
            pytest.fail(f"binaries missing: {docproxy_bin}, {dummy_bin}")
        pytest.skip("docproxy binaries not built (cargo build --bins)")
    dummy_port, proxy_port = free_port(), free_port()
    procs = [subprocess.Popen([str(dummy_bin), "--listen", f"127.0.0.1:{dummy_port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        wait_healthy(f"http://127.0.0.1:{dummy_port}/_dummy/healthz", procs[0])
        procs.append(subprocess.Popen(
            [str(docproxy_bin), "--listen", f"127.0.0.1:{proxy_port}",
             "--upstream-url", f"http://127.0.0.1:{dummy_port}"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        proxy = f"http://127.0.0.1:{proxy_port}"
        wait_healthy(f"{proxy}/healthz", procs[1])
        # Several ids: the upstream answers PNG, PDF or a corrupt PDF (which docproxy retries).
        for doc_id in ("1", "2", "3", "42", "18446744073709551615"):
            result = smoke(proxy, stub.url, SMOKE_DOC_ID=doc_id)
            assert result.returncode == 0, result.stdout + result.stderr
            assert len(lines(result, "PASS")) == 7
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(timeout=30)
