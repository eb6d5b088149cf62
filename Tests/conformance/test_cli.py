"""The `sluice` command line, driven as an operator would: config check, keys create/list/revoke, first start.

These tests start their own short-lived processes in a fresh data directory; they do not use the shared server.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import openai
import pytest

from conftest import sluice_binary
from helpers import free_port

REPO_ROOT = Path(__file__).resolve().parents[2]


def wait_ready(port: int, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while True:
        assert server.poll() is None, "sluice serve exited during start-up"
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health/ready").status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "sluice serve never became ready"
        time.sleep(0.05)


def run(args: list[str], env: dict[str, str], timeout: float = 30) -> subprocess.CompletedProcess:
    return subprocess.run([str(sluice_binary()), *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    environment["SLUICE_DATA_DIR"] = str(tmp_path / "data")
    # `sluice serve` also serves vector gRPC; keep it off the default port, which another test's server may hold.
    environment["SLUICE_VECTOR_ADDRESS"] = f"127.0.0.1:{free_port()}"
    return environment


@pytest.mark.parametrize("name", ["all-in-one.json", "split.json"])
def test_shipped_example_configs_are_valid(env, name):
    env = dict(env, SLUICE_INTERNAL_TOKEN="t0ken-for-test", AZURE_OPENAI_API_KEY="azure-secret-value")
    result = run(["config", "check", "--config", str(REPO_ROOT / "deploy" / "config" / name)], env)
    assert result.returncode == 0, result.stderr
    effective = json.loads(result.stdout)
    assert effective["http"]["port"] == 8080
    assert "azure-secret-value" not in result.stdout and "t0ken-for-test" not in result.stdout


def test_config_check_redacts_secrets_and_applies_environment(env, tmp_path):
    config = tmp_path / "sluice.json"
    config.write_text(json.dumps({
        "providers": [{"name": "openai", "kind": "openai", "api_key_env": "MY_OPENAI_KEY"}],
        "models": [{"name": "gpt", "deployments": [{"provider": "openai", "model": "gpt-4o"}]}],
    }))
    env = dict(env, MY_OPENAI_KEY="sk-very-secret-123", SLUICE_HTTP_PORT="9191", SLUICE_CONFIG=str(config))
    result = run(["config", "check"], env)
    assert result.returncode == 0, result.stderr
    assert "sk-very-secret-123" not in result.stdout
    effective = json.loads(result.stdout)
    assert effective["http"]["port"] == 9191
    assert effective["secrets"]["MY_OPENAI_KEY"] == "(set, redacted)"
    assert effective["services"]["vector"]["address"] == env["SLUICE_VECTOR_ADDRESS"]
    assert effective["vector"]["max_points_per_request"] == 1000
    assert effective["vector"]["snapshot_wal_bytes"] == 64 << 20


@pytest.mark.parametrize("document,expected", [
    ("{not json", "not valid JSON"),
    ('{"http": {"port": "eighty"}}', "http.port"),
    ('{"providers": [{"name": "x", "kind": "carrier-pigeon"}]}', "carrier-pigeon"),
    ('{"models": [{"name": "m", "deployments": [{"provider": "nope", "model": "m"}]}]}', "unknown provider 'nope'"),
    ('{"http": {"port": 70000}}', "out of range"),
    ('{"grpc": {"internal_token_env": "UNSET_TOKEN_VARIABLE"}}', "UNSET_TOKEN_VARIABLE"),
    ('{"services": {"vector": {"address": "nowhere"}}}', "services.vector.address 'nowhere' is not host:port"),
    ('{"services": {"inference": {"address": "unix:"}}}', "services.inference.address 'unix:' is not host:port"),
    ('{"vector": {"snapshot_wal_bytes": 10}}', "vector.snapshot_wal_bytes must be at least 4096"),
    ('{"vector": {"max_dimension": 0, "compaction_deleted_ratio": 1.5}}', "vector.compaction_deleted_ratio"),
    ('{"vector": {"max_top_k": "many"}}', "vector.max_top_k"),
])
def test_config_check_rejects_bad_configuration_with_a_clear_message(env, tmp_path, document, expected):
    env = {k: v for k, v in env.items() if k != "SLUICE_VECTOR_ADDRESS"}  # the file's address is under test
    config = tmp_path / "bad.json"
    config.write_text(document)
    result = run(["config", "check", "--config", str(config)], env)
    assert result.returncode == 2
    assert expected in result.stderr, result.stderr
    assert "Fatal error" not in result.stderr


def test_config_check_reports_a_missing_file(env, tmp_path):
    result = run(["config", "check", "--config", str(tmp_path / "absent.json")], env)
    assert result.returncode == 2
    assert "cannot read the configuration file" in result.stderr


def test_keys_create_list_revoke_and_the_revoked_key_is_refused(env):
    created = run(["keys", "create", "--tenant", "acme", "--models", "echo", "--json"], env)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)
    assert key["key"].startswith("sk-sluice-") and key["tenant"] == "acme" and key["models"] == ["echo"]

    listed = run(["keys", "list", "--json"], env)
    rows = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [row["id"] for row in rows] == [key["id"]]
    assert "key" not in rows[0] and key["key"] not in listed.stdout, "secrets are never listed"

    port = free_port()
    server = subprocess.Popen([str(sluice_binary()), "serve"], env=dict(env, SLUICE_HTTP_PORT=str(port)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(port, server)
        body = {"model": "echo", "messages": [{"role": "user", "content": "hi"}]}
        headers = {"Authorization": f"Bearer {key['key']}"}
        assert httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers).status_code == 200

        revoked = run(["keys", "revoke", key["id"]], env)
        assert revoked.returncode == 0, revoked.stderr
        # A key revoked by another process stops working within the server's key-cache TTL (1 s by default).
        revoked_at = time.monotonic()
        while (refused := httpx.post(f"{base}/v1/chat/completions", json=body, headers=headers)).status_code == 200:
            assert time.monotonic() - revoked_at < 2.5, "a revoked key kept working past the key-cache TTL"
            time.sleep(0.05)
        assert refused.status_code == 401
        assert refused.json()["error"]["code"] == "invalid_api_key"

        again = run(["keys", "revoke", key["id"]], env)
        assert again.returncode == 1 and "No active API key" in again.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err
    assert "Admin API key" not in out, "a data directory that already has keys gets no bootstrap key"
    assert key["key"] not in out + err, "keys never reach the logs"


def test_first_start_prints_an_admin_key_once_and_it_works(env):
    port = free_port()
    cmd = [str(sluice_binary()), "serve"]
    server = subprocess.Popen(cmd, env=dict(env, SLUICE_HTTP_PORT=str(port)), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline()
        assert line.startswith("Admin API key (shown once): sk-sluice-"), line
        admin = line.split(": ", 1)[1].strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/v1/models", headers={"Authorization": f"Bearer {admin}"})
                if response.status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline
            time.sleep(0.05)
        assert [m["id"] for m in response.json()["data"]] == ["echo"]
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    assert admin not in err, "the admin key is printed once on stdout and never logged"
    port = free_port()
    restarted = subprocess.Popen(cmd, env=dict(env, SLUICE_HTTP_PORT=str(port)), stdout=subprocess.PIPE,
                                 stderr=subprocess.PIPE, text=True)
    wait_ready(port, restarted)
    restarted.send_signal(signal.SIGTERM)
    out2, _ = restarted.communicate(timeout=20)
    assert restarted.returncode == 0
    assert "Admin API key" not in out2, "the admin key is created only on a fresh data directory"


def test_usage_from_the_api_and_the_cli(env):
    admin = json.loads(run(["keys", "create", "--tenant", "ops", "--admin", "--json"], env).stdout)["key"]
    user = json.loads(run(["keys", "create", "--tenant", "acme", "--json"], env).stdout)["key"]
    port = free_port()
    server = subprocess.Popen([str(sluice_binary()), "serve"], env=dict(env, SLUICE_HTTP_PORT=str(port)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(port, server)
        # Given two calls of the echo model by acme's key
        body = {"model": "echo", "messages": [{"role": "user", "content": "count these words"}]}
        for _ in range(2):
            assert httpx.post(f"{base}/v1/chat/completions", json=body,
                              headers={"Authorization": f"Bearer {user}"}).status_code == 200

        # When an admin asks for acme's usage by model (the ledger is written within moments)
        deadline = time.monotonic() + 10
        while True:
            answer = httpx.get(f"{base}/api/v1/usage", params={"tenant": "acme", "group_by": "model,day"},
                               headers={"Authorization": f"Bearer {admin}"})
            assert answer.status_code == 200, answer.text
            report = answer.json()
            if report["totals"]["requests"] == 2:
                break
            assert time.monotonic() < deadline, report
            time.sleep(0.05)

        # Then the report has the echo row with both calls, their tokens and their (zero, built-in) cost
        assert report["object"] == "usage_report" and report["group_by"] == ["model", "day"]
        [row] = report["rows"]
        assert (row["model"], row["requests"], row["errors"], row["cost_micros"]) == ("echo", 2, 0, 0)
        assert row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"] > 0
        assert row["bucket_start"].endswith("T00:00:00Z")

        # And a call by a key of acme's project "research" is reported by project (keys without one have none)
        in_project = json.loads(run(["keys", "create", "--tenant", "acme", "--project", "research", "--json"],
                                    env).stdout)
        assert in_project["project"] == "research" and in_project["project_id"].startswith("prj_")
        assert httpx.post(f"{base}/v1/chat/completions", json=body,
                          headers={"Authorization": f"Bearer {in_project['key']}"}).status_code == 200
        deadline = time.monotonic() + 10
        while True:
            by_project = httpx.get(f"{base}/api/v1/usage", params={"tenant": "acme", "group_by": "project"},
                                   headers={"Authorization": f"Bearer {admin}"}).json()
            if by_project["totals"]["requests"] == 3:
                break
            assert time.monotonic() < deadline, by_project
            time.sleep(0.05)
        assert [(r["project"], r["requests"]) for r in by_project["rows"]] == [("", 2), (in_project["project_id"], 1)]
        only = httpx.get(f"{base}/api/v1/usage", params={"project": in_project["project_id"]},
                         headers={"Authorization": f"Bearer {admin}"}).json()
        assert only["totals"]["requests"] == 1

        # And a key without the admin role, or a malformed question, gets RFC 9457 problem details
        forbidden = httpx.get(f"{base}/api/v1/usage", headers={"Authorization": f"Bearer {user}"})
        assert forbidden.status_code == 403
        assert forbidden.headers["content-type"] == "application/problem+json"
        assert forbidden.json()["status"] == 403 and forbidden.json()["code"] == "permission_denied"
        malformed = httpx.get(f"{base}/api/v1/usage", params={"since": "yesterday"},
                              headers={"Authorization": f"Bearer {admin}"})
        assert malformed.status_code == 400 and malformed.json()["param"] == "since"
        assert malformed.json()["request_id"] == malformed.headers["x-request-id"]
        missing = httpx.get(f"{base}/api/v1/usage", headers={"Authorization": "Bearer sk-wrong"})
        assert missing.status_code == 401 and missing.headers["content-type"] == "application/problem+json"
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)

    # The CLI reads the same ledger: a table with a totals line, or JSON
    table = run(["usage", "--tenant", "acme", "--by", "model"], env)
    assert table.returncode == 0, table.stderr
    lines = table.stdout.splitlines()
    assert lines[0].split() == ["model", "requests", "errors", "prompt", "completion", "cost", "estimated"]
    assert lines[1].split()[:3] == ["echo", "3", "0"] and lines[-1].split()[:2] == ["total", "3"]
    as_json = json.loads(run(["usage", "--tenant", "acme", "--json"], env).stdout)
    assert as_json["totals"]["requests"] == 3 and as_json["rows"][0]["model"] == "echo"
    by_project = json.loads(run(["usage", "--tenant", "acme", "--by", "project", "--json"], env).stdout)
    assert [(r["project"], r["requests"]) for r in by_project["rows"]] == [("-", 2), (in_project["project_id"], 1)]
    bad = run(["usage", "--by", "operation"], env)
    assert bad.returncode != 0 and "--by: 'operation'" in bad.stderr
    unknown = run(["usage", "--tenant", "nobody"], env)
    assert unknown.returncode == 1 and "No tenant is named 'nobody'" in unknown.stderr


def test_policies_from_the_cli_apply_to_a_running_server(env):
    """`sluice policy set` on a running server's database: requests per minute with OpenAI's headers and 429, and
    allow-lists, applied within seconds and without a restart; seen through the official `openai` client."""
    created = json.loads(run(["keys", "create", "--tenant", "acme", "--json"], env).stdout)
    port = free_port()
    server = subprocess.Popen([str(sluice_binary()), "serve"], env=dict(env, SLUICE_HTTP_PORT=str(port)),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_ready(port, server)
        client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=created["key"], max_retries=0)
        messages = [{"role": "user", "content": "hi"}]

        # Given a tenant limited to 3 requests a minute, set while the server runs
        limited = run(["policy", "set", "--tenant", "acme", "--rpm", "3"], env)
        assert limited.returncode == 0, limited.stderr
        assert "rpm: 3" in limited.stdout

        # When its key makes four requests at once
        answers = [client.chat.completions.with_raw_response.create(model="echo", messages=messages)
                   for _ in range(3)]
        with pytest.raises(openai.RateLimitError) as refused:
            client.chat.completions.create(model="echo", messages=messages)

        # Then three are answered, each with OpenAI's headers counting down, and the fourth is a 429 that says when
        assert [a.headers["x-ratelimit-limit-requests"] for a in answers] == ["3", "3", "3"]
        assert [a.headers["x-ratelimit-remaining-requests"] for a in answers] == ["2", "1", "0"]
        assert all(a.headers["x-ratelimit-reset-requests"].endswith("s") for a in answers)
        error = refused.value
        assert error.status_code == 429 and error.code == "rate_limit_exceeded"
        assert 15 <= int(error.response.headers["retry-after"]) <= 20, "one request every 20 s at 3 a minute"
        assert error.response.headers["x-ratelimit-remaining-requests"] == "0"

        # And raising the limit and narrowing the key's models apply within seconds, without a restart
        assert run(["policy", "set", "--tenant", "acme", "--rpm", "1000"], env).returncode == 0
        narrowed = run(["policy", "set", "--key", created["id"], "--models", "gpt-*"], env)
        assert narrowed.returncode == 0, narrowed.stderr
        shown = json.loads(run(["policy", "show", "--key", created["id"], "--json"], env).stdout)
        assert shown["allowed_models"] == ["gpt-*"]
        assert shown["effective"] == {"allow_lists": [["gpt-*"]], "rpm": 1000, "tpm": None, "budgets": [],
                                      "allow_route_override": None}
        deadline = time.monotonic() + 5
        while True:
            listed = httpx.get(f"http://127.0.0.1:{port}/v1/models",
                               headers={"Authorization": f"Bearer {created['key']}"})
            if listed.status_code == 200 and listed.json()["data"] == []:
                break
            assert time.monotonic() < deadline, f"the allow-list did not apply within 5 s: {listed.text}"
            time.sleep(0.1)

        # A malformed policy, or an unknown scope, is refused with a message naming the field, nothing applied
        zero = run(["policy", "set", "--tenant", "acme", "--rpm", "0"], env)
        assert zero.returncode == 1 and "rpm must be a positive number" in zero.stderr
        negative = run(["policy", "set", "--tenant", "acme", "--tpm=-3"], env)
        assert negative.returncode == 1 and "tpm must be a positive number" in negative.stderr
        dollars = run(["policy", "set", "--tenant", "acme", "--budget-usd-month", "12.3456789"], env)
        assert dollars.returncode != 0 and "--budget-usd-month" in dollars.stderr
        unchanged = json.loads(run(["policy", "show", "--tenant", "acme", "--json"], env).stdout)
        assert (unchanged["rpm"], unchanged["tpm"], unchanged["budgets"]) == (1000, None, [])
        # Budgets in dollars and tokens, per day and month, read back with their consumption
        budgeted = run(["policy", "set", "--tenant", "acme", "--rpm", "1000", "--tpm", "200000",
                        "--budget-usd-month", "50", "--budget-tokens-day", "100000"], env)
        assert budgeted.returncode == 0, budgeted.stderr
        assert "budget per month: $50.000000" in budgeted.stdout and "budget per day: 100000 tokens" in budgeted.stdout
        shown = json.loads(run(["policy", "show", "--tenant", "acme", "--json"], env).stdout)
        assert shown["budgets"] == [{"period": "day", "token_limit": 100000, "money_limit_micros": None},
                                    {"period": "month", "token_limit": None, "money_limit_micros": 50_000_000}]
        assert [b["period"] for b in shown["budget_status"]] == ["day", "month"]
        nobody = run(["policy", "show", "--tenant", "nobody"], env)
        assert nobody.returncode == 1 and "No tenant is named 'nobody'" in nobody.stderr
        both = run(["policy", "show", "--tenant", "acme", "--key", created["id"]], env)
        assert both.returncode != 0 and "exactly one of --tenant, --project and --key" in both.stderr
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=20)


def test_unknown_serve_mode_is_a_usage_error(env):
    result = run(["serve", "vectors"], env)
    assert result.returncode != 0
    assert "unknown service 'vectors'" in result.stderr
