"""Policies' limits and budgets through the real edge in every mode, with the official `openai` client.

Each test gives a tenant of its own a policy with `sluice policy set` on the running instance's database, so that
limits never reach the keys other tests use.
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid

import httpx
import openai
import pytest

from conftest import sluice_binary
from helpers import COMPLETION_TOKEN_CAP, user


def cli(sluice, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(sluice_binary()), *args], env=sluice.env, capture_output=True, text=True, timeout=60)


def test_a_limit_answers_429_with_openai_headers_in_every_mode(sluice):
    # Given a tenant of its own, limited to 2 requests a minute (one every 30 s after a burst of 2)
    tenant = f"limited-{uuid.uuid4().hex[:8]}"
    created = cli(sluice, "keys", "create", "--tenant", tenant, "--json")
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout[created.stdout.index("{"):])["key"]
    assert cli(sluice, "policy", "set", "--tenant", tenant, "--rpm", "2").returncode == 0
    client = sluice.client(key)

    # When its key asks three times, the last as a stream
    first = client.chat.completions.with_raw_response.create(model="echo", messages=user("one"))
    second = client.chat.completions.with_raw_response.create(model="echo", messages=user("two"))
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="echo", messages=user("three"), stream=True)

    # Then the answers count down the limit and the third is refused in OpenAI's shape, with when to retry
    assert [(r.headers["x-ratelimit-limit-requests"], r.headers["x-ratelimit-remaining-requests"])
            for r in (first, second)] == [("2", "1"), ("2", "0")]
    error = refused.value
    assert (error.status_code, error.code, error.type) == (429, "rate_limit_exceeded", "requests")
    assert 25 <= int(error.response.headers["retry-after"]) <= 30
    assert error.response.headers["x-ratelimit-limit-requests"] == "2"
    # And the shared keys of the other tests are not limited
    assert "x-ratelimit-limit-requests" not in sluice.client().chat.completions.with_raw_response.create(
        model="echo", messages=user("free")).headers


def tenant_key(sluice, *policy: str, project: str | None = None) -> dict:
    """A key of a tenant of its own, with a tenant policy set through `sluice policy set`."""
    tenant = f"t-{uuid.uuid4().hex[:10]}"
    args = ["keys", "create", "--tenant", tenant, "--json"] + (["--project", project] if project else [])
    created = cli(sluice, *args)
    assert created.returncode == 0, created.stderr
    info = json.loads(created.stdout[created.stdout.index("{"):])
    if policy:
        result = cli(sluice, "policy", "set", "--tenant", tenant, *policy)
        assert result.returncode == 0, result.stderr
    return info


def ledger(sluice, key_id: str, expected_requests: int) -> dict:
    """The ledger's totals for a key, once it holds `expected_requests` calls (records reach it off the request
    path, within a batch window)."""
    deadline = time.monotonic() + 10
    while True:
        shown = cli(sluice, "usage", "--key", key_id, "--by", "key", "--json")
        assert shown.returncode == 0, shown.stderr
        totals = json.loads(shown.stdout)["totals"]
        if totals["requests"] >= expected_requests:
            return totals
        assert time.monotonic() < deadline, f"the ledger holds {totals['requests']} of {expected_requests} calls"
        time.sleep(0.05)


def test_tokens_per_minute_count_estimates_and_answer_429_with_token_headers(sluice):
    # Given a tenant limited to 300 tokens a minute
    key = tenant_key(sluice, "--tpm", "300")
    client = sluice.client(key["key"], max_retries=0)

    # When a call with max_tokens 100 is made, then one with max_tokens 250
    first = client.chat.completions.with_raw_response.create(model="echo", messages=user("hello"), max_tokens=100)
    with pytest.raises(openai.RateLimitError) as refused:
        client.chat.completions.create(model="echo", messages=user("hello"), max_tokens=250)

    # Then the first counted its prompt plus max_tokens, and says so in OpenAI's token headers
    prompt = first.parse().usage.prompt_tokens
    assert first.headers["x-ratelimit-limit-tokens"] == "300"
    assert int(first.headers["x-ratelimit-remaining-tokens"]) == 300 - prompt - 100
    assert first.headers["x-ratelimit-reset-tokens"].endswith("s")
    # And the second is a 429 of type "tokens", with when to retry and the token headers
    error = refused.value
    assert (error.status_code, error.code, error.type) == (429, "rate_limit_exceeded", "tokens")
    assert 1 <= int(error.response.headers["retry-after"]) <= 60
    assert error.response.headers["x-ratelimit-limit-tokens"] == "300"
    # And a request larger than the whole limit is refused without a Retry-After: waiting cannot help
    with pytest.raises(openai.RateLimitError) as too_large:
        client.chat.completions.create(model="echo", messages=user("hello"), max_tokens=400)
    assert "retry-after" not in too_large.value.response.headers
    assert too_large.value.response.headers["x-should-retry"] == "false"
    # And once the first call's real use (a few tokens) is recorded, the unused estimate comes back: within 8 s the
    # limit refills only 40 tokens by itself, too few for another 250
    deadline = time.monotonic() + 8
    while not _fits(client, 250):
        assert time.monotonic() < deadline, "the unused estimate never came back"
        time.sleep(0.1)


def _fits(client, max_tokens: int) -> bool:
    try:
        client.chat.completions.create(model="echo", messages=user("hello"), max_tokens=max_tokens)
        return True
    except openai.RateLimitError:
        return False


def test_an_exhausted_budget_is_insufficient_quota_and_never_overshoots(sluice):
    # Given a tenant with 1,000 micro-dollars ($0.001) a day on a model at 1 and 2 micro-dollars per token
    key = tenant_key(sluice, "--budget-usd-day", "0.001")
    client = sluice.client(key["key"], max_retries=2)  # the SDK's retries are on: x-should-retry must stop them

    # When its key calls with max_tokens 100 until refused
    answered = 0
    with pytest.raises(openai.RateLimitError) as refused:
        for _ in range(50):
            client.chat.completions.create(model="openai-fixed", messages=user("budget"), max_tokens=100)
            answered += 1

    # Then it is refused as OpenAI refuses an exhausted quota, and the SDK did not retry it
    error = refused.value
    assert (error.status_code, error.code, error.type) == (429, "insufficient_quota", "insufficient_quota")
    assert error.response.headers["x-should-retry"] == "false"
    assert "quota" in error.message
    # And what was spent never passed the budget
    totals = ledger(sluice, key["id"], answered)
    assert answered >= 1 and totals["requests"] == answered
    assert 0 < totals["cost_micros"] <= 1000


def test_a_stream_that_reaches_its_reservation_ends_with_an_error_event(sluice):
    # Given a budgeted tenant: a stream without max_tokens reserves the configured cap of completion tokens
    key = tenant_key(sluice, "--budget-tokens-day", "100000")
    client = sluice.client(key["key"], max_retries=0)
    words = " ".join(f"w{i}" for i in range(60))

    # When it streams an answer longer than the cap
    content = []
    with pytest.raises(openai.APIError) as ended:
        for chunk in client.chat.completions.create(model="echo", messages=user(words), stream=True):
            if chunk.choices and chunk.choices[0].delta.content:
                content.append(chunk.choices[0].delta.content)

    # Then the stream ends with an insufficient_quota error event after at most the cap's tokens
    assert "budget reservation" in str(ended.value)
    assert 0 < len(content) <= COMPLETION_TOKEN_CAP
    # And the ledger bills the call for what it delivered, and no more than the reservation
    totals = ledger(sluice, key["id"], 1)
    assert 0 < totals["completion_tokens"] <= COMPLETION_TOKEN_CAP


def test_a_stream_the_client_abandons_is_billed_for_what_it_delivered(sluice):
    # Given a key of its own and a long answer, streamed at 2 ms a token
    key = tenant_key(sluice)
    words = " ".join(f"word{i}" for i in range(400))

    # When the client reads ten chunks and hangs up
    received = 0
    with httpx.Client(base_url=sluice.base_url, timeout=30) as http:
        with http.stream("POST", "/v1/chat/completions", headers={"Authorization": f"Bearer {key['key']}"},
                         json={"model": "echo", "stream": True, "messages": user(words)}) as response:
            assert response.status_code == 200
            for line in response.iter_lines():
                if line.startswith("data: ") and '"content"' in line:
                    received += 1
                    if received == 10:
                        break

    # Then the ledger holds the call with the completion tokens it delivered: some, and far from all 400 words
    totals = ledger(sluice, key["id"], 1)
    assert totals["requests"] == 1
    assert 9 <= totals["completion_tokens"] < 300, totals
