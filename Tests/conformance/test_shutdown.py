"""Graceful shutdown: SIGTERM lets in-flight streams finish, turns readiness off, and the process exits 0.

Each test starts its own processes (a slow echo model makes a stream last long enough to signal during it).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
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


def test_edge_stopped_while_governance_hangs_spools_the_usage_and_a_restart_writes_it(setup):
    """Usage records that cannot reach governance must neither hold the edge open nor be lost: the edge exits within
    its drain limit with the records in its spool, and the next edge writes them once governance answers."""
    tmp_path, env, key = setup
    env = dict(env, SLUICE_CONFIG=str(tmp_path / "fast.json"))
    config = json.loads((tmp_path / "sluice.json").read_text())
    config["grpc"] = {"default_timeout_ms": 2000}
    (tmp_path / "fast.json").write_text(json.dumps(config))
    port, governance_port, inference_port = free_port(), free_port(), free_port()
    governance = start(["serve", "governance"], dict(env, SLUICE_HTTP_PORT=str(governance_port)),
                       tmp_path / "governance.log")
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
        body = {"model": "echo", "messages": [{"role": "user", "content": " ".join(WORDS)}], "stream": True}
        # Given a stream authorized before governance froze, which ends while it is frozen
        with httpx.Client(timeout=10) as client:
            with client.stream("POST", f"{base}/v1/chat/completions", json=body,
                               headers={"Authorization": f"Bearer {key}"}) as response:
                assert response.status_code == 200
                request_id = response.headers["x-request-id"]
                lines = response.iter_lines()
                next(lines)
                governance.send_signal(signal.SIGSTOP)
                rest = list(lines)
        assert rest[-2:] == ["data: [DONE]", ""] or rest[-1] == "data: [DONE]"
        # When the edge is told to stop while governance still hangs
        started = time.monotonic()
        edge.send_signal(signal.SIGTERM)
        # Then it exits cleanly within the drain limit (15 s) plus margin, with the record in its spool, not lost
        assert edge.wait(timeout=40) == 0
        assert time.monotonic() - started < 22
        log = (tmp_path / "edge.log").read_text()
        assert "lost" not in log and "dropped" not in log, log[-3000:]
        spool = tmp_path / "data" / "usage-spool"
        assert any(request_id in path.read_text() for path in spool.glob("*.jsonl")), log[-3000:]

        # And when governance answers again, a new edge writes the spooled record and empties its spool
        governance.send_signal(signal.SIGCONT)
        procs.remove(edge)
        edge = start(["serve", "edge"], dict(env, SLUICE_HTTP_PORT=str(port)), tmp_path / "edge2.log")
        procs.append(edge)
        wait_http(f"{base}/health/ready", procs)
        database = tmp_path / "data" / "governance.sqlite"
        deadline = time.monotonic() + 30
        row = None
        while row is None and time.monotonic() < deadline:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                row = db.execute("SELECT outcome, completion_tokens FROM usage_ledger WHERE request_id = ?",
                                 (request_id,)).fetchone()
            time.sleep(0.1)
        assert row is not None and row[0] == "ok" and row[1] > 0
        deadline = time.monotonic() + 10
        while list(spool.glob("*.jsonl")) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not list(spool.glob("*.jsonl"))
    finally:
        governance.send_signal(signal.SIGCONT)
        for proc in procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
