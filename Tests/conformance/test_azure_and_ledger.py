"""Azure OpenAI's URL shape and key header, and the usage ledger every call is written to."""

from __future__ import annotations

import json
import math
import sqlite3
import time

import mock_upstreams as mu
import pytest
from helpers import MOCK_OPENAI_KEY, marker, user


def test_azure_deployment_is_addressed_the_azure_way(client, mock):
    m = marker()
    raw = client.chat.completions.with_raw_response.create(model="azure-fixed", messages=user(m))
    assert raw.headers["x-sluice-provider"] == "mock-azure"
    assert raw.parse().choices[0].message.content == mu.fixed_answer("openai", m)
    [request] = mock.requests(contains=m)
    assert request["api"] == "azure"
    assert request["path"] == "/openai/deployments/fixed/chat/completions"
    assert request["query"]["api-version"] == ["2024-10-21"]
    assert request["headers"]["api-key"] == MOCK_OPENAI_KEY
    assert "authorization" not in request["headers"], "Azure keys go in api-key, not a bearer token"


def test_azure_streams_tool_calls(client, mock):
    m = marker()
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {
        "q": {"type": "string"}}}}}
    stream = client.chat.completions.create(model="azure-tools", messages=user(m), tools=[tool], stream=True)
    arguments, name = "", None
    for chunk in stream:
        for call in (chunk.choices[0].delta.tool_calls or []) if chunk.choices else []:
            name = call.function.name or name
            arguments += call.function.arguments or ""
    assert name == "lookup"
    assert isinstance(json.loads(arguments), dict)
    [request] = mock.requests(contains=m)
    assert request["api"] == "azure" and request["body"]["stream"] is True


def test_every_call_lands_in_the_usage_ledger(client, sluice):
    m = marker()
    raw = client.chat.completions.with_raw_response.create(model="openai-fixed", messages=user(m))
    request_id = raw.headers["x-request-id"]
    usage = raw.parse().usage
    database = sluice.data_dir / "governance.sqlite"
    deadline = time.monotonic() + 10
    row = None
    while row is None and time.monotonic() < deadline:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            row = db.execute(
                "SELECT model, provider, upstream_model, prompt_tokens, completion_tokens, estimated, outcome, "
                "cost_micros, cost_exact, price_book_version FROM usage_ledger WHERE request_id = ?",
                (request_id,)).fetchone()
        if row is None:
            time.sleep(0.05)
    # Priced from the configured book (PRICE_BOOK): 1 µ$ per prompt token, 2 per completion token; exact, since the
    # upstream reported the usage
    cost = usage.prompt_tokens + 2 * usage.completion_tokens
    assert row == ("openai-fixed", "mock-openai", "fixed", usage.prompt_tokens, usage.completion_tokens, 0, "ok",
                   cost, 1, "conformance-1")


def ledger_cost(sluice, request_id: str):
    database = sluice.data_dir / "governance.sqlite"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            row = db.execute("SELECT prompt_tokens, completion_tokens, estimated, cost_micros, cost_exact, "
                             "price_book_version FROM usage_ledger WHERE request_id = ?", (request_id,)).fetchone()
        if row is not None:
            return row
        time.sleep(0.05)
    raise AssertionError(f"no ledger row for {request_id}")


def test_costs_are_estimated_when_the_usage_or_the_price_is(client, sluice):
    # Given an upstream that reports no usage (Sluice counts the tokens itself), then a model the book has no price for
    estimated = client.chat.completions.with_raw_response.create(model="no-usage", messages=user(marker()))
    unpriced = client.chat.completions.with_raw_response.create(model="echo", messages=user(marker()))

    # Then the first is priced from the counts but flagged as estimated, and the second costs nothing, not exactly
    prompt, completion, was_estimated, cost, exact, version = ledger_cost(sluice, estimated.headers["x-request-id"])
    assert (was_estimated, exact, version) == (1, 0, "conformance-1")
    assert cost == prompt + 2 * completion and cost > 0
    assert ledger_cost(sluice, unpriced.headers["x-request-id"])[3:] == (0, 0, "conformance-1")


@pytest.mark.parametrize("model,prices", [("openai-cached", (1, 0.1, 2)), ("anthropic-cached", (3, 0.3, 15))])
@pytest.mark.parametrize("stream", [False, True])
def test_cached_prompt_tokens_are_priced_at_the_cached_input_price(client, sluice, model, prices, stream):
    # Given upstreams that report half of each prompt as read from their prompt cache, priced at a tenth of the input
    # price (micro-dollars per token: input, cached input, output)
    m = marker()
    if stream:
        raw = client.chat.completions.with_raw_response.create(
            model=model, messages=user(m), stream=True, stream_options={"include_usage": True})
        usage = [chunk.usage for chunk in raw.parse() if chunk.usage][-1]
    else:
        raw = client.chat.completions.with_raw_response.create(model=model, messages=user(m))
        usage = raw.parse().usage

    # Then the ledger charges the cached half at the cached price, each kind rounded up, and calls the cost exact
    prompt, completion, estimated, cost, exact, _ = ledger_cost(sluice, raw.headers["x-request-id"])
    cached = prompt // 2
    input_price, cached_price, output_price = prices
    expected = (prompt - cached) * input_price + math.ceil(cached * cached_price - 1e-9) + completion * output_price
    assert (prompt, completion) == (usage.prompt_tokens, usage.completion_tokens)
    assert (estimated, exact, cost) == (0, 1, expected)


def test_failed_calls_are_recorded_with_their_outcome(http, sluice):
    response = http.post("/v1/chat/completions", json={"model": "always-500", "messages": user(marker())})
    assert response.status_code == 502
    request_id = response.headers["x-request-id"]
    database = sluice.data_dir / "governance.sqlite"
    deadline = time.monotonic() + 10
    row = None
    while row is None and time.monotonic() < deadline:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            row = db.execute("SELECT outcome, prompt_tokens FROM usage_ledger WHERE request_id = ?",
                             (request_id,)).fetchone()
        if row is None:
            time.sleep(0.05)
    assert row == ("upstream_error", 0)
