"""Policies' requests-per-minute limits through the real edge in every mode, with the official `openai` client.

Each test gives a tenant of its own a policy with `sluice policy set` on the running instance's database, so that
limits never reach the keys other tests use.
"""

from __future__ import annotations

import json
import subprocess
import uuid

import openai
import pytest

from conftest import sluice_binary
from helpers import user


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
