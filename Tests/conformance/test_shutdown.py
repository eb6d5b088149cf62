"""Graceful shutdown: SIGTERM lets in-flight streams finish, turns readiness off, and the process exits 0.

Each test starts its own processes (a slow echo model makes a stream last long enough to signal during it).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import sluice_binary
from helpers import free_port, wait_http

WORDS = [f"w{i}" for i in range(20)]  # 20 words at 50 ms each: a stream of about one second


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen([str(sluice_binary()), *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT)




@pytest.fixture
def setup(tmp_path: Path):
    config = {
        "data_dir": str(tmp_path / "data"),
        "providers": [{"name": "echo", "kind": "echo", "echo": {"first_token_delay_ms": 50, "per_token_delay_ms": 50}}],
    }
    (tmp_path / "sluice.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env["SLUICE_CONFIG"] = str(tmp_path / "sluice.json")
    env["SLUICE_INFERENCE_ADDRESS"] = f"127.0.0.1:{free_port()}"
    env["SLUICE_GOVERNANCE_ADDRESS"] = f"127.0.0.1:{free_port()}"
    env["SLUICE_VECTOR_ADDRESS"] = f"127.0.0.1:{free_port()}"
    created = subprocess.run([str(sluice_binary()), "keys", "create", "--tenant", "t", "--json"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert created.returncode == 0, created.stderr
    return tmp_path, env, json.loads(created.stdout)["key"]


@pytest.mark.parametrize("signalled", ["all-in-one", "split-edge", "split-inference"])
def test_sigterm_lets_an_in_flight_stream_finish(setup, signalled):
    tmp_path, env, key = setup
    port = free_port()
    procs: dict[str, subprocess.Popen] = {}
    try:
        if signalled == "all-in-one":
            procs["edge"] = start(["serve"], dict(env, SLUICE_HTTP_PORT=str(port)), tmp_path / "all.log")
        else:
            procs["governance"] = start(["serve", "governance"], dict(env, SLUICE_HTTP_PORT=str(free_port())),
                                        tmp_path / "governance.log")
            inference_port = free_port()
            procs["inference"] = start(["serve", "inference"], dict(env, SLUICE_HTTP_PORT=str(inference_port)),
                                       tmp_path / "inference.log")
            wait_http(f"http://127.0.0.1:{inference_port}/health/ready", list(procs.values()))
            procs["edge"] = start(["serve", "edge"], dict(env, SLUICE_HTTP_PORT=str(port)), tmp_path / "edge.log")
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health/ready", list(procs.values()))
        target = procs["inference" if signalled == "split-inference" else "edge"]

        body = {"model": "echo", "stream": True, "messages": [{"role": "user", "content": " ".join(WORDS)}]}
        text, done, signalled_at = "", False, None
        with httpx.stream("POST", f"{base}/v1/chat/completions", json=body, timeout=30,
                          headers={"Authorization": f"Bearer {key}"}) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[6:]
                if data == "[DONE]":
                    done = True
                    continue
                event = json.loads(data)
                assert "error" not in event, f"the stream must finish, not fail: {event}"
                if event["choices"]:
                    text += event["choices"][0]["delta"].get("content") or ""
                if text and signalled_at is None:
                    target.send_signal(signal.SIGTERM)
                    signalled_at = time.monotonic()
                    if signalled != "split-inference":
                        # New requests are turned away at once (readiness off, then the listener closes) while
                        # the stream is still being served.
                        try:
                            assert httpx.get(f"{base}/health/ready").status_code == 503
                        except httpx.TransportError:
                            pass
        assert signalled_at is not None
        assert done, "the stream ended with [DONE]"
        assert text == " ".join(WORDS)
        assert target.wait(timeout=20) == 0, "graceful shutdown exits 0"
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs.values():
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()


def test_edge_exits_promptly_when_governance_is_gone(setup):
    """Usage records that cannot reach governance must not hold the edge open: it logs them and exits."""
    # (SIGKILL in the cleanup below also ends the frozen governance process.)
    tmp_path, env, key = setup
    port, governance_port = free_port(), free_port()
    governance = start(["serve", "governance"], dict(env, SLUICE_HTTP_PORT=str(governance_port)),
                       tmp_path / "governance.log")
    inference_port = free_port()
    inference = start(["serve", "inference"], dict(env, SLUICE_HTTP_PORT=str(inference_port)),
                      tmp_path / "inference.log")
    procs = [governance, inference]
    try:
        wait_http(f"http://127.0.0.1:{governance_port}/health/ready", procs)
        wait_http(f"http://127.0.0.1:{inference_port}/health/ready", procs)
        edge = start(["serve", "edge"], dict(env, SLUICE_HTTP_PORT=str(port)), tmp_path / "edge.log")
        procs.append(edge)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/health/ready", procs)
        body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {key}"}
        # Given calls answered while governance is frozen (the edge reuses the authorization it got a moment before,
        # for up to 1 s), so their usage records cannot be written
        with httpx.Client(timeout=5) as client:
            assert client.post(f"{base}/v1/chat/completions", json=body, headers=headers).status_code == 200
            governance.send_signal(signal.SIGSTOP)
            answered = 0
            for _ in range(5):
                try:
                    if client.post(f"{base}/v1/chat/completions", json=body, headers=headers).status_code == 200:
                        answered += 1
                except httpx.TimeoutException:
                    break
        assert answered > 0, "the cached authorization should have answered calls while governance was frozen"
        # When the edge is told to stop while governance still hangs (each write would wait out its 10 s deadline,
        # three attempts per batch, without the drain limit)
        started = time.monotonic()
        edge.send_signal(signal.SIGTERM)
        # Then it exits cleanly within the drain limit (15 s) plus margin, and says what it could not write
        assert edge.wait(timeout=40) == 0
        assert time.monotonic() - started < 22
        log = (tmp_path / "edge.log").read_text()
        assert "usage record dropped" in log or "usage records not written" in log
    finally:
        governance.kill()
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
