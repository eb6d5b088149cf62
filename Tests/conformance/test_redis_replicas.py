"""Two Sluice replicas sharing Debian's redis-server and one governance database, driven through HTTP with the
official `openai` client: limits and budgets hold across both, and a Redis outage refuses limited calls rather than
letting them through free.

The module starts its own `redis-server` on a loopback port and two `sluice serve` processes (each with a data
directory of its own, both naming the same `governance.database` and `redis.url`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import openai
import pytest

from conftest import sluice_binary
from helpers import free_port, user, wait_http

pytestmark = pytest.mark.sluice

# Echo, priced: a call costs its prompt tokens plus twice its completion tokens, in micro-dollars.
PRICE_BOOK = {"version": "replicas-1", "prices": [
    {"model": "echo", "effective_from": "2024-01-01", "input": 1_000_000, "output": 2_000_000}]}


class RedisServer:
    """Debian's redis-server on a loopback port, without persistence: a restart loses everything, as a flushed or
    replaced Redis would."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server is not installed (scripts/setup.sh --test installs it)", pytrace=False)
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            assert self.process.poll() is None, "redis-server exited during start-up"
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as connection:
                    connection.sendall(b"PING\r\n")
                    if connection.recv(16).startswith(b"+PONG"):
                        return
            except OSError:
                pass
            assert time.monotonic() < deadline, "redis-server never answered PING"
            time.sleep(0.05)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@dataclass
class Replicas:
    ports: list[int]
    env: dict[str, str]
    logs: list[Path]
    redis: RedisServer

    def url(self, index: int) -> str:
        return f"http://127.0.0.1:{self.ports[index]}"

    def client(self, index: int, key: str, **kw) -> openai.OpenAI:
        kw.setdefault("max_retries", 0)
        return openai.OpenAI(base_url=f"{self.url(index)}/v1", api_key=key, timeout=30, **kw)

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run([str(sluice_binary()), *args], env=self.env, capture_output=True, text=True,
                                timeout=60)
        return result

    def key(self, *policy: str) -> dict:
        tenant = f"r-{uuid.uuid4().hex[:10]}"
        created = self.cli("keys", "create", "--tenant", tenant, "--json")
        assert created.returncode == 0, created.stderr
        info = json.loads(created.stdout[created.stdout.index("{"):])
        info["tenant_name"] = tenant
        if policy:
            result = self.cli("policy", "set", "--tenant", tenant, *policy)
            assert result.returncode == 0, result.stderr
        return info


@pytest.fixture(scope="module")
def replicas(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("replicas")
    redis = RedisServer(root)
    redis.start()
    price_book = root / "price-book.json"
    price_book.write_text(json.dumps(PRICE_BOOK))
    shared = {"governance": {"database": str(root / "shared" / "governance.sqlite"),
                             "price_book_file": str(price_book)},
              "redis": {"url": f"redis://127.0.0.1:{redis.port}", "connect_timeout_ms": 300,
                        "command_timeout_ms": 500}}
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    # The CLI works on the shared database and sees Redis, as the replicas do.
    cli_config = root / "cli.json"
    cli_config.write_text(json.dumps(dict(shared, data_dir=str(root / "cli"))))
    env = dict(base_env, SLUICE_CONFIG=str(cli_config))
    processes, ports, logs = [], [], []
    try:
        for index in range(2):
            port = free_port()
            config = root / f"replica-{index}.json"
            config.write_text(json.dumps(dict(
                shared, data_dir=str(root / f"replica-{index}"),
                http={"host": "127.0.0.1", "port": port},
                services={"vector": {"address": f"127.0.0.1:{free_port()}"}},
                providers=[{"name": "echo", "kind": "echo", "echo": {"first_token_delay_ms": 0,
                                                                     "per_token_delay_ms": 0}}])))
            log = root / f"replica-{index}.log"
            handle = log.open("w")
            processes.append(subprocess.Popen([str(sluice_binary()), "serve", "--config", str(config)],
                                              env=base_env, stdout=handle, stderr=subprocess.STDOUT))
            ports.append(port)
            logs.append(log)
            # One at a time: the first creates the shared database and its admin key.
            wait_http(f"http://127.0.0.1:{port}/health/ready", processes)
        yield Replicas(ports=ports, env=env, logs=logs, redis=redis)
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.kill()


def test_a_tenants_requests_per_minute_hold_across_replicas(replicas):
    # Given a tenant limited to 600 requests a minute: a burst of 600, then 10 a second
    key = replicas.key("--rpm", "600")
    clients = [replicas.client(i, key["key"]) for i in range(2)]
    admitted, refused = 0, 0
    lock = threading.Lock()
    first_sent: list[float] = []
    last_admitted = [0.0]

    def call(n: int) -> None:
        nonlocal admitted, refused
        now = time.monotonic()
        with lock:
            if not first_sent:
                first_sent.append(now)
        try:
            clients[n % 2].chat.completions.create(model="echo", messages=user("hi"), max_tokens=1)
            with lock:
                admitted += 1
                last_admitted[0] = max(last_admitted[0], time.monotonic())
        except openai.RateLimitError as error:
            assert error.code == "rate_limit_exceeded"
            with lock:
                refused += 1

    # When 1,200 requests are sent at once from 16 threads, alternating between the replicas
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(call, range(1200)))

    # Then the two replicas admitted the limit's burst plus its refill over the run, within 1 %, not twice the limit
    elapsed = last_admitted[0] - first_sent[0]
    expected = 600 + 10 * elapsed
    assert admitted + refused == 1200
    assert abs(admitted - expected) <= max(2, 0.01 * expected), (admitted, expected, elapsed)


def test_a_money_budget_under_200_concurrent_requests_over_both_replicas_never_overshoots(replicas):
    # Given a tenant with 2,000 micro-dollars a day; a call reserves its prompt + 2 × max_tokens micro-dollars
    key = replicas.key("--budget-usd-day", "0.002")
    clients = [replicas.client(i, key["key"]) for i in range(2)]
    outcomes: list[str] = []
    reservations: list[int] = []
    lock = threading.Lock()

    def call(n: int) -> None:
        try:
            raw = clients[n % 2].chat.completions.with_raw_response.create(
                model="echo", messages=user(f"spend some budget please {n}"), max_tokens=20)
            usage = raw.parse().usage
            with lock:
                outcomes.append("ok")
                reservations.append(usage.prompt_tokens + 2 * 20)
        except openai.RateLimitError as error:
            assert error.code == "insufficient_quota", error
            with lock:
                outcomes.append("refused")

    # When 200 requests arrive at once, split over both replicas
    with ThreadPoolExecutor(max_workers=200) as pool:
        list(pool.map(call, range(200)))

    # Then some are answered and the rest refused as an exhausted quota
    assert outcomes.count("ok") > 0 and outcomes.count("refused") > 0 and len(outcomes) == 200
    # And what the ledger charged passes the budget by at most one request's reservation
    deadline = time.monotonic() + 10
    while True:
        shown = replicas.cli("usage", "--key", key["id"], "--by", "key", "--json")
        assert shown.returncode == 0, shown.stderr
        totals = json.loads(shown.stdout)["totals"]
        if totals["requests"] >= outcomes.count("ok"):
            break
        assert time.monotonic() < deadline, "the ledger never received every answered call"
        time.sleep(0.1)
    assert totals["cost_micros"] <= 2000 + max(reservations), totals
    # And the budget reports its use and nothing still reserved
    status = json.loads(replicas.cli("policy", "show", "--tenant", key["tenant_name"], "--json").stdout)
    [day] = status["budget_status"]
    assert day["money_used_micros"] == totals["cost_micros"] and day["money_reserved_micros"] == 0


def test_a_policy_change_on_one_replica_applies_on_both_within_5_seconds(replicas):
    key = replicas.key()
    for index in range(2):
        replicas.client(index, key["key"]).chat.completions.create(model="echo", messages=user("before"))
    changed = replicas.cli("policy", "set", "--tenant", key["tenant_name"], "--models", "nothing-*")
    assert changed.returncode == 0, changed.stderr
    started = time.monotonic()
    pending = {0, 1}
    while pending:
        for index in list(pending):
            try:
                replicas.client(index, key["key"]).chat.completions.create(model="echo", messages=user("after"))
            except openai.PermissionDeniedError:
                pending.discard(index)
        assert time.monotonic() - started < 5, f"replicas {pending} still allow the model after 5 s"
        time.sleep(0.05)


def test_redis_killed_gives_503s_not_free_calls_and_service_resumes_when_it_is_back(replicas):
    # Given a limited key and an unlimited one
    limited = replicas.key("--rpm", "100000")
    free = replicas.key()
    for index in range(2):
        replicas.client(index, limited["key"]).chat.completions.create(model="echo", messages=user("up"))

    # When redis-server is killed
    replicas.redis.kill()

    # Then limited calls on both replicas are refused with 503 governance_unavailable, not answered unlimited
    for attempt in range(6):
        with pytest.raises(openai.InternalServerError) as refused:
            replicas.client(attempt % 2, limited["key"]).chat.completions.create(model="echo", messages=user("down"))
        assert refused.value.status_code == 503 and refused.value.code == "governance_unavailable"
    # And calls no limit applies to still work
    replicas.client(0, free["key"]).chat.completions.create(model="echo", messages=user("free"))
    # And each replica says so once in its log, and in its metrics
    for index in range(2):
        assert replicas.logs[index].read_text().count("the limit store is unreachable") == 1
        metrics = httpx.get(f"{replicas.url(index)}/metrics").text
        assert "sluice_governance_limit_store_up 0" in metrics

    # When redis-server is back (empty: it kept nothing)
    replicas.redis.start()

    # Then both replicas serve limited calls again within a few seconds, without a restart
    started = time.monotonic()
    pending = {0, 1}
    while pending:
        for index in list(pending):
            try:
                replicas.client(index, limited["key"]).chat.completions.create(model="echo", messages=user("back"))
                pending.discard(index)
            except openai.InternalServerError:
                pass
        assert time.monotonic() - started < 10, f"replicas {pending} did not resume within 10 s"
        time.sleep(0.1)
    for index in range(2):
        assert "the limit store answers again" in replicas.logs[index].read_text()


def test_with_fail_open_limited_calls_go_through_uncounted_while_redis_is_unreachable(replicas, tmp_path):
    # Given a third process on the same database, configured to fail open, whose Redis never answers
    limited = replicas.key("--rpm", "1")
    dead = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
    shared = json.loads(Path(replicas.env["SLUICE_CONFIG"]).read_text())
    port = free_port()
    config = tmp_path / "fail-open.json"
    config.write_text(json.dumps(dict(
        shared, data_dir=str(tmp_path / "data"), http={"host": "127.0.0.1", "port": port},
        services={"vector": {"address": f"127.0.0.1:{free_port()}"}},
        redis={"url": f"redis://127.0.0.1:{dead.getsockname()[1]}", "connect_timeout_ms": 200},
        governance=dict(shared["governance"], limits={"fail_open": True}))))
    log = tmp_path / "fail-open.log"
    with log.open("w") as handle:
        process = subprocess.Popen([str(sluice_binary()), "serve", "--config", str(config)],
                                   env={k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")},
                                   stdout=handle, stderr=subprocess.STDOUT)
    try:
        wait_http(f"http://127.0.0.1:{port}/health/ready", [process])
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=limited["key"], max_retries=0)
        # When its key, limited to 1 request a minute, calls three times
        answers = [client.chat.completions.with_raw_response.create(model="echo", messages=user("open"))
                   for _ in range(3)]
        # Then all three are answered, uncounted (no rate-limit headers), and the outage is logged once
        assert all(a.http_response.status_code == 200 for a in answers)
        assert all("x-ratelimit-limit-requests" not in a.headers for a in answers)
        assert log.read_text().count("the limit store is unreachable") == 1
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
        dead.close()
