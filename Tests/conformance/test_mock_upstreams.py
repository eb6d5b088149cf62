"""Self-tests of the mock upstreams: they need no Sluice.

The OpenAI side is driven with the official `openai` SDK (so the mock is known to speak what real clients
understand); the Anthropic side with raw HTTP, checking the exact event sequence of the Messages API.
"""

from __future__ import annotations

import json
import time

import httpx
import openai
import pytest

import mock_upstreams as mu
from helpers import (MOCK_ANTHROPIC_KEY, MOCK_OPENAI_KEY, WEATHER_TOOL, find_key, marker, sse_events,
                     sse_named_events, user)

ANTHROPIC_HEADERS = {"x-api-key": MOCK_ANTHROPIC_KEY, "anthropic-version": "2023-06-01"}


@pytest.fixture
def oai(mock):
    c = openai.OpenAI(base_url=mock.openai_base, api_key=MOCK_OPENAI_KEY, max_retries=0, timeout=10)
    yield c
    c.close()


@pytest.fixture
def ant(mock):
    with httpx.Client(base_url=mock.anthropic_base, headers=ANTHROPIC_HEADERS, timeout=10) as c:
        yield c


def anthropic_body(model: str, text: str, **extra) -> dict:
    return {"model": model, "max_tokens": 256, "messages": [{"role": "user", "content": text}], **extra}


# ----------------------------------------------------------------------------------------------------------------
# OpenAI-compatible side, through the SDK
# ----------------------------------------------------------------------------------------------------------------

def test_openai_fixed_non_stream(oai, mock):
    m = marker()
    r = oai.chat.completions.create(model="fixed", messages=user(f"hello {m}"))
    assert r.choices[0].message.content == mu.fixed_answer("openai", f"hello {m}")
    assert r.choices[0].finish_reason == "stop"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens == mu.count_tokens(r.choices[0].message.content)
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    [rec] = mock.requests(contains=m)
    assert rec["api"] == "openai" and rec["path"] == "/v1/chat/completions" and rec["model"] == "fixed"
    assert rec["headers"]["authorization"] == f"Bearer {MOCK_OPENAI_KEY}"
    assert rec["reported_usage"]["completion_tokens"] == r.usage.completion_tokens


def test_openai_fixed_stream_with_usage(oai):
    m = marker()
    chunks = list(oai.chat.completions.create(model="fixed", messages=user(m), stream=True,
                                              stream_options={"include_usage": True}))
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == mu.fixed_answer("openai", m)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) >= 3
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None and last.usage.completion_tokens == mu.count_tokens(text)
    assert all(c.usage is None for c in chunks[:-1])


def test_openai_stream_without_include_usage_sends_no_usage(oai):
    chunks = list(oai.chat.completions.create(model="fixed", messages=user(marker()), stream=True))
    assert chunks and all(c.usage is None for c in chunks)


def test_openai_no_usage(oai):
    r = oai.chat.completions.create(model="no-usage", messages=user("x"))
    assert r.usage is None and r.choices[0].message.content
    chunks = list(oai.chat.completions.create(model="no-usage", messages=user("x"), stream=True,
                                              stream_options={"include_usage": True}))
    assert chunks and all(c.usage is None for c in chunks)


def test_openai_tool_call_non_stream(oai):
    m = marker()
    r = oai.chat.completions.create(model="tools", messages=user(m), tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    [call] = choice.message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather" and call.id
    assert json.loads(call.function.arguments) == mu.tool_arguments(m)


def test_openai_tool_call_stream_in_fragments(oai):
    m = marker()
    chunks = list(oai.chat.completions.create(model="tools", messages=user(m), tools=[WEATHER_TOOL], stream=True))
    fragments = [tc.function.arguments for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])
                 if tc.function and tc.function.arguments]
    assert len(fragments) >= 3
    names = [tc.function.name for c in chunks if c.choices for tc in (c.choices[0].delta.tool_calls or [])
             if tc.function and tc.function.name]
    assert names == ["get_weather"]
    assert json.loads("".join(fragments)) == mu.tool_arguments(m)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "tool_calls"


def test_openai_tool_result_round_trip(oai):
    m = marker()
    messages = [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": f"sunny {m}"},
    ]
    r = oai.chat.completions.create(model="tools", messages=messages, tools=[WEATHER_TOOL])
    assert r.choices[0].message.content == mu.tool_result_answer(f"sunny {m}")
    assert r.choices[0].finish_reason == "stop"


def test_openai_rate_limited(oai):
    with pytest.raises(openai.RateLimitError) as exc:
        oai.chat.completions.create(model="rate-limited", messages=user("x"))
    assert exc.value.response.headers["retry-after"] == "1"
    assert exc.value.code == "rate_limit_exceeded"


@pytest.mark.parametrize("model,error,status", [("rate-limited-once", openai.RateLimitError, 429),
                                                ("error-500-once", openai.InternalServerError, 500)])
def test_openai_once_scenarios_fail_then_succeed(oai, mock, model, error, status):
    m = marker()
    with pytest.raises(error):
        oai.chat.completions.create(model=model, messages=user(m))
    r = oai.chat.completions.create(model=model, messages=user(m))
    assert r.choices[0].message.content == mu.fixed_answer("openai", m)
    with pytest.raises(error):  # another conversation fails first again
        oai.chat.completions.create(model=model, messages=user(marker()))
    assert [rec["status"] for rec in mock.requests(contains=m)] == [status, 200]


def test_openai_error_500(oai):
    with pytest.raises(openai.InternalServerError) as exc:
        oai.chat.completions.create(model="error-500", messages=user("x"))
    assert exc.value.status_code == 500


def test_openai_stall_is_bounded_and_released(oai, mock):
    m = marker()
    t0 = time.monotonic()
    with pytest.raises(openai.APITimeoutError):
        oai.with_options(timeout=0.5).chat.completions.create(model="stall", messages=user(m))
    assert time.monotonic() - t0 < 3
    [rec] = mock.requests(contains=m)
    assert rec["scenario"] == "stall"


def test_openai_stall_after_first(oai):
    stream = oai.with_options(timeout=httpx.Timeout(5, read=0.7)).chat.completions.create(
        model="stall-after-first", messages=user("a b c d"), stream=True)
    got = []
    with pytest.raises(openai.APIError):
        for c in stream:
            got.append(c)
    assert any(c.choices and c.choices[0].delta.content for c in got)


def test_openai_cut_stream_is_a_transport_error(oai):
    stream = oai.chat.completions.create(model="cut", messages=user("one two three four five six"), stream=True)
    got = []
    with pytest.raises(openai.APIError):  # APIConnectionError: the body broke off
        for c in stream:
            got.append(c)
    assert sum(1 for c in got if c.choices and c.choices[0].delta.content) == mu.CUT_AFTER_TOKENS


def test_openai_cut_raw_has_no_done(mock):
    with httpx.Client(timeout=10) as h, h.stream(
            "POST", f"{mock.openai_base}/chat/completions", headers={"Authorization": f"Bearer {MOCK_OPENAI_KEY}"},
            json={"model": "cut", "stream": True, "messages": user("a b c d e f")}) as resp:
        events, error = sse_events(resp)
    assert error is not None and "[DONE]" not in events


def test_openai_cut_non_stream(oai):
    with pytest.raises(openai.APIConnectionError):
        oai.chat.completions.create(model="cut", messages=user("x"))


def test_openai_auth_and_validation(mock):
    bad = openai.OpenAI(base_url=mock.openai_base, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="fixed", messages=user("x"))
    r = httpx.post(f"{mock.openai_base}/chat/completions", json={"model": "fixed", "messages": user("x")})
    assert r.status_code == 401
    good = openai.OpenAI(base_url=mock.openai_base, api_key=MOCK_OPENAI_KEY, max_retries=0)
    with pytest.raises(openai.NotFoundError):
        good.chat.completions.create(model="no-such-scenario", messages=user("x"))
    with pytest.raises(openai.BadRequestError):
        good.chat.completions.create(model="fixed", messages=[])
    assert [m.id for m in good.models.list()] == list(mu.SCENARIOS)


# ----------------------------------------------------------------------------------------------------------------
# Anthropic side, raw HTTP
# ----------------------------------------------------------------------------------------------------------------

def test_anthropic_fixed_non_stream(ant, mock):
    m = marker()
    r = ant.post("/v1/messages", json=anthropic_body("claude-fixed", f"hi {m}", system="be brief"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "message" and body["role"] == "assistant" and body["model"] == "claude-fixed"
    assert body["content"] == [{"type": "text", "text": mu.fixed_answer("anthropic", f"hi {m}")}]
    assert body["stop_reason"] == "end_turn"
    assert body["usage"]["input_tokens"] > 0 and body["usage"]["output_tokens"] == mu.count_tokens(
        body["content"][0]["text"])
    [rec] = mock.requests(contains=m)
    assert rec["headers"]["x-api-key"] == MOCK_ANTHROPIC_KEY and rec["headers"]["anthropic-version"] == "2023-06-01"


def test_anthropic_fixed_stream_event_sequence(ant):
    m = marker()
    with ant.stream("POST", "/v1/messages", json=anthropic_body("claude-fixed", m, stream=True)) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events, error = sse_named_events(resp)
    assert error is None
    names = [n for n, _ in events]
    deltas = [d for n, d in events if n == "content_block_delta"]
    assert names == (["message_start", "ping", "content_block_start"] + ["content_block_delta"] * len(deltas)
                     + ["content_block_stop", "message_delta", "message_stop"])
    assert all(n == d["type"] for n, d in events)
    assert len(deltas) >= 3 and all(d["delta"]["type"] == "text_delta" for d in deltas)
    assert "".join(d["delta"]["text"] for d in deltas) == mu.fixed_answer("anthropic", m)
    start = events[0][1]["message"]
    assert start["usage"]["input_tokens"] > 0
    delta = events[-2][1]
    assert delta["delta"]["stop_reason"] == "end_turn" and delta["usage"]["output_tokens"] == len(deltas)


def test_anthropic_tools_stream_and_non_stream(ant):
    m = marker()
    tools = [{"name": "get_weather", "description": "w", "input_schema": {"type": "object"}}]
    r = ant.post("/v1/messages", json=anthropic_body("claude-tools", m, tools=tools))
    body = r.json()
    assert body["stop_reason"] == "tool_use"
    [block] = body["content"]
    assert block["type"] == "tool_use" and block["name"] == "get_weather" and block["input"] == mu.tool_arguments(m)

    with ant.stream("POST", "/v1/messages", json=anthropic_body("claude-tools", m, tools=tools, stream=True)) as resp:
        events, error = sse_named_events(resp)
    assert error is None
    start = next(d for n, d in events if n == "content_block_start")
    assert start["content_block"]["type"] == "tool_use" and start["content_block"]["name"] == "get_weather"
    parts = [d["delta"]["partial_json"] for n, d in events
             if n == "content_block_delta" and d["delta"]["type"] == "input_json_delta"]
    assert len(parts) >= 3 and json.loads("".join(parts)) == mu.tool_arguments(m)
    assert next(d for n, d in events if n == "message_delta")["delta"]["stop_reason"] == "tool_use"
    assert events[-1][0] == "message_stop"


def test_anthropic_tool_result_round_trip(ant):
    m = marker()
    body = {"model": "claude-tools", "max_tokens": 100, "messages": [
        {"role": "user", "content": "weather?"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "get_weather", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": f"rainy {m}"}]},
    ]}
    r = ant.post("/v1/messages", json=body)
    assert r.json()["content"][0]["text"] == mu.tool_result_answer(f"rainy {m}")
    # tool_result content may also be a list of text blocks
    body["messages"][2]["content"][0]["content"] = [{"type": "text", "text": f"rainy {m}"}]
    assert ant.post("/v1/messages", json=body).json()["content"][0]["text"] == mu.tool_result_answer(f"rainy {m}")


def test_anthropic_errors(ant, mock):
    r = ant.post("/v1/messages", json=anthropic_body("claude-rate-limited", "x"))
    assert r.status_code == 429 and r.headers["retry-after"] == "1"
    assert r.json() == {"type": "error", "error": {"type": "rate_limit_error", "message": r.json()["error"]["message"]}}
    r = ant.post("/v1/messages", json=anthropic_body("claude-error-500", "x"))
    assert r.status_code == 500 and r.json()["error"]["type"] == "api_error"
    m = marker()
    assert ant.post("/v1/messages", json=anthropic_body("claude-rate-limited-once", m)).status_code == 429
    assert ant.post("/v1/messages", json=anthropic_body("claude-rate-limited-once", m)).status_code == 200
    # like the real API: max_tokens, anthropic-version and a key are required; no "system" role in messages
    no_max = {"model": "claude-fixed", "messages": user("x")}
    assert ant.post("/v1/messages", json=no_max).status_code == 400
    r = httpx.post(f"{mock.anthropic_base}/v1/messages", json=anthropic_body("claude-fixed", "x"),
                   headers={"x-api-key": MOCK_ANTHROPIC_KEY})
    assert r.status_code == 400
    r = httpx.post(f"{mock.anthropic_base}/v1/messages", json=anthropic_body("claude-fixed", "x"),
                   headers={"x-api-key": "wrong", "anthropic-version": "2023-06-01"})
    assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
    r = httpx.post(f"{mock.anthropic_base}/v1/messages", json=anthropic_body("claude-fixed", "x"),
                   headers={"authorization": f"Bearer {MOCK_ANTHROPIC_KEY}", "anthropic-version": "2023-06-01"})
    assert r.status_code == 401, "like the real API, the key goes in x-api-key"
    sys_role = {"model": "claude-fixed", "max_tokens": 5,
                "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "x"}]}
    assert ant.post("/v1/messages", json=sys_role).status_code == 400
    r = ant.post("/v1/messages", json=anthropic_body("claude-unknown", "x"))
    assert r.status_code == 404 and r.json()["error"]["type"] == "not_found_error"


def test_anthropic_no_usage(ant):
    r = ant.post("/v1/messages", json=anthropic_body("claude-no-usage", "x"))
    assert "usage" not in r.json()
    with ant.stream("POST", "/v1/messages", json=anthropic_body("claude-no-usage", "x", stream=True)) as resp:
        events, _ = sse_named_events(resp)
    assert events[-1][0] == "message_stop" and find_key([d for _, d in events], "usage") == []


def test_anthropic_cut_and_stall(ant):
    with ant.stream("POST", "/v1/messages", json=anthropic_body("claude-cut", "a b c d e f", stream=True)) as resp:
        events, error = sse_named_events(resp)
    assert error is not None
    names = [n for n, _ in events]
    assert "message_stop" not in names and names.count("content_block_delta") == mu.CUT_AFTER_TOKENS
    t0 = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        ant.post("/v1/messages", json=anthropic_body("claude-stall", "x"), timeout=0.5)
    assert time.monotonic() - t0 < 3


# ----------------------------------------------------------------------------------------------------------------
# Control API
# ----------------------------------------------------------------------------------------------------------------

def test_control_api_records_and_resets(mock, oai, ant):
    m = marker()
    oai.chat.completions.create(model="fixed", messages=user(m), stream=True,
                                stream_options={"include_usage": True}).close()
    ant.post("/v1/messages", json=anthropic_body("claude-fixed", m))
    recs = mock.requests(contains=m)
    assert [r["api"] for r in recs] == ["openai", "anthropic"]
    assert recs[0]["stream"] is True and recs[0]["body"]["stream_options"] == {"include_usage": True}
    assert recs[0]["time"] <= recs[1]["time"] and recs[0]["seq"] < recs[1]["seq"]
    # the same log is served on both ports
    assert httpx.get(f"{mock.anthropic_base}/_mock/requests").json()[-2:] == mock.requests()[-2:]
    mock.reset()
    assert mock.requests() == []
