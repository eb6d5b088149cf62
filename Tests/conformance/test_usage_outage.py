"""Usage survives a governance outage in split mode.

A streamed chat is authorized while governance runs; governance is then killed before the answer ends, so the edge
cannot write the call's usage record. The record must wait at the edge and land in the ledger once governance is
back, not be dropped after a few quick retries. Driven with the official `openai` package against three processes.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import openai
import pytest

from conftest import sluice_binary
from helpers import free_port, wait_http

pytestmark = pytest.mark.sluice

TOKEN = "internal-outage-token"


def start(mode: str, env: dict, log: Path, http_port: int) -> subprocess.Popen:
    return subprocess.Popen([str(sluice_binary()), "serve", mode], env=dict(env, SLUICE_HTTP_PORT=str(http_port)),
                            stdout=log.open("a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_for(what: str, check, timeout: float):
    """Polls `check` until it returns something truthy, for at most `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def ledger_row(database: Path, request_id: str):
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
        return db.execute("SELECT model, outcome, completion_tokens FROM usage_ledger WHERE request_id = ?",
                          (request_id,)).fetchone()


def test_usage_recorded_during_a_governance_outage_lands_when_governance_returns(tmp_path):
    # Given a split deployment whose echo model takes 300 ms per word
    config = {"data_dir": str(tmp_path / "data"), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"},
              "providers": [{"name": "echo", "kind": "echo",
                             "echo": {"first_token_delay_ms": 0, "per_token_delay_ms": 300}}]}
    (tmp_path / "sluice.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env.update(SLUICE_CONFIG=str(tmp_path / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN, SLUICE_LOG_LEVEL="info",
               SLUICE_INFERENCE_ADDRESS=f"127.0.0.1:{free_port()}",
               SLUICE_GOVERNANCE_ADDRESS=f"127.0.0.1:{free_port()}")
    created = subprocess.run([str(sluice_binary()), "keys", "create", "--tenant", "t", "--json"],
                             env=env, capture_output=True, text=True, timeout=30)
    assert created.returncode == 0, created.stderr
    ports = {mode: free_port() for mode in ("governance", "inference", "edge")}
    logs = {mode: tmp_path / f"{mode}.log" for mode in ports}
    procs: dict[str, subprocess.Popen] = {}
    try:
        for mode in ("governance", "inference", "edge"):
            procs[mode] = start(mode, env, logs[mode], ports[mode])
            wait_http(f"http://127.0.0.1:{ports[mode]}/health/ready", list(procs.values()))
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{ports['edge']}/v1",
                               api_key=json.loads(created.stdout)["key"], max_retries=0)

        # When governance is killed after the stream started and before it ended
        raw = client.chat.completions.with_raw_response.create(
            model="echo", messages=[{"role": "user", "content": "one two three four five six"}], stream=True,
            stream_options={"include_usage": True}, timeout=30)
        request_id = raw.headers["x-request-id"]
        chunks = iter(raw.parse())
        text = next(chunks).choices[0].delta.content or ""
        procs["governance"].send_signal(signal.SIGKILL)
        procs["governance"].wait(timeout=10)
        usage = None
        for chunk in chunks:
            text += "".join(choice.delta.content or "" for choice in chunk.choices)
            usage = chunk.usage or usage
        assert text.split() == "one two three four five six".split()
        assert usage is not None

        # Then the edge cannot write the record, says so, and keeps it in its spool on disk
        wait_for("the edge's failed usage write",
                 lambda: "governance unreachable; usage records go to the spool" in logs["edge"].read_text(), 15)
        spool = tmp_path / "data" / "usage-spool"
        wait_for("the spooled record", lambda: any(request_id in p.read_text() for p in spool.glob("*.jsonl")), 15)
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{ports['edge']}/metrics", timeout=10).read().decode()
        spooled = [line for line in metrics.splitlines() if line.startswith("sluice_usage_spooled_records_total")]
        assert spooled and float(spooled[0].split()[-1]) >= 1, metrics

        # And once governance is back, the record lands in the ledger, and none was dropped
        procs["governance"] = start("governance", env, logs["governance"], ports["governance"])
        wait_http(f"http://127.0.0.1:{ports['governance']}/health/ready", list(procs.values()))
        row = wait_for("the ledger row", lambda: ledger_row(tmp_path / "data" / "governance.sqlite", request_id), 60)
        assert row == ("echo", "ok", usage.completion_tokens)
        assert "dropped" not in logs["edge"].read_text()
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in procs.items():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                raise AssertionError(f"{name} did not stop:\n{logs[name].read_text()[-4000:]}")
