"""Every answered request gets its usage record, under sustained full load.

`wrk` drives 64 connections of non-streamed chat completions against a running Sluice (all-in-one, then split into
three processes) for a fixed time; afterwards the ledger must hold exactly one row per request the edge answered
(its own request counter), and no log line may speak of a dropped or lost record. When the ledger falls behind, the
edge must slow its admissions rather than drop records; `usage.admission_limit` is set low here so that the run
reaches that limit on any machine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import sluice_binary
from helpers import free_port, wait_http

pytestmark = pytest.mark.sluice

TOKEN = "internal-load-token"
SECONDS = 12
CONNECTIONS = 64

WRK_SCRIPT = """
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer %s"
wrk.body = '{"model":"echo","messages":[{"role":"user","content":"count this usage record"}],"max_tokens":16}'
"""


def answered(metrics_url: str) -> int:
    """The edge's own count of chat completions it answered with 200."""
    text = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
    total = 0
    for line in text.splitlines():
        if line.startswith("sluice_http_requests_total{") and 'route="/v1/chat/completions"' in line \
                and 'status="200"' in line:
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def ledger_rows(database: Path) -> int:
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10) as db:
        return db.execute("SELECT COUNT(*) FROM usage_ledger WHERE model = 'echo' AND outcome = 'ok'").fetchone()[0]


def run_wrk(url: str, key: str, script: Path) -> tuple[int, int]:
    script.write_text(WRK_SCRIPT % key)
    done = subprocess.run(["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", str(script), url],
                          capture_output=True, text=True, timeout=SECONDS + 60)
    assert done.returncode == 0, done.stderr
    requests = int(re.search(r"(\d+) requests in", done.stdout).group(1))
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", done.stdout)
    return requests, int(non_2xx.group(1)) if non_2xx else 0


@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is installed by scripts/setup.sh --test")
@pytest.mark.parametrize("mode", ["all-in-one", "split"])
def test_every_answered_request_is_in_the_ledger_under_sustained_load(tmp_path, mode):
    # Given Sluice on the echo model, with a low admission limit so that backpressure is reached
    config = {"data_dir": str(tmp_path / "data"), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"},
              "log_level": "info", "usage": {"admission_limit": 8},
              "providers": [{"name": "echo", "kind": "echo"}]}
    (tmp_path / "sluice.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env.update(SLUICE_CONFIG=str(tmp_path / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN,
               SLUICE_INFERENCE_ADDRESS=f"127.0.0.1:{free_port()}",
               SLUICE_GOVERNANCE_ADDRESS=f"127.0.0.1:{free_port()}")
    created = subprocess.run([str(sluice_binary()), "keys", "create", "--tenant", "load", "--json"],
                             env=env, capture_output=True, text=True, timeout=30)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["key"]
    roles = ["governance", "inference", "edge"] if mode == "split" else [""]
    procs: list[subprocess.Popen] = []
    logs: list[Path] = []
    edge_port = None
    try:
        for role in roles:
            port = free_port()
            log = tmp_path / f"{role or 'sluice'}.log"
            logs.append(log)
            procs.append(subprocess.Popen([str(sluice_binary()), "serve", *([role] if role else [])],
                                          env=dict(env, SLUICE_HTTP_PORT=str(port)), stdout=log.open("w"),
                                          stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
            wait_http(f"http://127.0.0.1:{port}/health/ready", procs)
            edge_port = port

        # When wrk keeps 64 connections busy for a while
        requests, non_2xx = run_wrk(f"http://127.0.0.1:{edge_port}/v1/chat/completions", key, tmp_path / "post.lua")
        assert non_2xx == 0 and requests > 1000

        # Then the ledger reaches exactly one row per answered request (requests wrk gave up on at its deadline may
        # still be answered after it: the edge's count is read until the ledger matches it)
        metrics = f"http://127.0.0.1:{edge_port}/metrics"
        database = tmp_path / "data" / "governance.sqlite"
        deadline = time.monotonic() + 120
        while True:
            served, rows = answered(metrics), ledger_rows(database)
            if rows == served or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert served >= requests
        assert rows == served, f"{served} answered, {rows} in the ledger"
        waits = [line for line in urllib.request.urlopen(metrics, timeout=10).read().decode().splitlines()
                 if line.startswith("sluice_usage_admission_waits_total")]
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    text = "\n".join(log.read_text(errors="replace") for log in logs)
    assert "dropped" not in text and "lost" not in text, text[-4000:]
    episodes = text.count("requests wait for the usage ledger to catch up")
    if mode == "all-in-one":
        # Thousands of requests a second against a limit of 8: requests waited for the ledger, nothing was dropped.
        assert episodes > 0
        assert waits and float(waits[0].split()[-1]) > 0, waits
    print(f"\n[{mode}] {requests} requests by wrk, {served} answered, all in the ledger; "
          f"backpressure episodes: {episodes}")
