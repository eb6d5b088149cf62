"""Retries, fallbacks, cut and stalled streams, the circuit breaker."""

from __future__ import annotations

import json
import time

import openai
import pytest

import mock_upstreams as mu
from helpers import BREAKER_THRESHOLD, FAULTY_TIMEOUTS, assert_error_object, marker, sse_events, user


def stream_until_error(stream) -> tuple[str, openai.APIError | None]:
    """Consume a stream; returns the text received and the error that ended it (None for a clean finish)."""
    text = ""
    try:
        for c in stream:
            if c.choices:
                text += c.choices[0].delta.content or ""
    except openai.APIError as exc:
        return text, exc
    return text, None


# --- retries --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model,api", [("retry-429-once", "openai"), ("anthropic-retry-429-once", "anthropic")])
def test_retry_honours_retry_after(client, mock, model, api, stream):
    m = marker()
    r = client.chat.completions.create(model=model, messages=user(m), stream=stream)
    text = "".join(c.choices[0].delta.content or "" for c in r if c.choices) if stream \
        else r.choices[0].message.content
    assert text == mu.fixed_answer(api, m)
    attempts = mock.requests(contains=m)
    assert [a["status"] for a in attempts] == [429, 200], "exactly one retry after the 429"
    gap = attempts[1]["time"] - attempts[0]["time"]
    assert gap >= 0.9, f"Retry-After: 1 must be honoured (retried after {gap:.2f}s)"
    assert gap < 5


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model,api", [("retry-500-once", "openai"), ("anthropic-retry-500-once", "anthropic")])
def test_retry_on_500(client, mock, model, api, stream):
    m = marker()
    r = client.chat.completions.create(model=model, messages=user(m), stream=stream)
    text = "".join(c.choices[0].delta.content or "" for c in r if c.choices) if stream \
        else r.choices[0].message.content
    assert text == mu.fixed_answer(api, m)
    assert [a["status"] for a in mock.requests(contains=m)] == [500, 200]


# --- fallbacks ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model", ["fallback-500-echo", "fallback-stall-echo", "fallback-unreachable-echo"])
def test_fallback_to_echo(client, mock, model, stream):
    m = marker()
    t0 = time.monotonic()
    raw = client.chat.completions.with_raw_response.create(model=model, messages=user(f"fallback {m}"),
                                                           stream=stream)
    assert raw.headers.get("x-sluice-provider") == "echo", "the answer comes from the fallback deployment"
    parsed = raw.parse()
    text = "".join(c.choices[0].delta.content or "" for c in parsed if c.choices) if stream \
        else parsed.choices[0].message.content
    elapsed = time.monotonic() - t0
    assert m in text
    if model != "fallback-unreachable-echo":
        assert len(mock.requests(contains=m)) >= 1, "the primary deployment was tried first"
    if model == "fallback-stall-echo":
        assert FAULTY_TIMEOUTS["first_token_ms"] / 1000 * 0.9 <= elapsed < 8


def test_fallback_across_upstream_kinds(client, mock):
    m = marker()
    raw = client.chat.completions.with_raw_response.create(model="fallback-500-anthropic", messages=user(m))
    assert raw.headers.get("x-sluice-provider") == "mock-anthropic"
    assert raw.parse().choices[0].message.content == mu.fixed_answer("anthropic", m)
    assert [r["api"] for r in mock.requests(contains=m)][-1] == "anthropic"


# --- streams that break after the first token -----------------------------------------------------------------

@pytest.mark.parametrize("model,api", [("cut", "openai"), ("anthropic-cut", "anthropic"),
                                       ("cut-with-fallback", "openai")])
def test_cut_stream_ends_with_error(client, mock, model, api):
    m = marker()
    prompt = f"one two three four five six {m}"
    text, error = stream_until_error(client.chat.completions.create(model=model, messages=user(prompt), stream=True))
    assert error is not None, "a stream the upstream cuts must end with an error, never a clean finish"
    expected = "".join(mu.pieces(mu.fixed_answer(api, prompt))[:mu.CUT_AFTER_TOKENS])
    assert text == expected, "the tokens sent before the cut reach the client, and nothing else"
    assert len(mock.requests(contains=m)) == 1, "no retry or fallback once a token reached the client"


@pytest.mark.parametrize("model", ["cut", "anthropic-cut", "cut-with-fallback"])
def test_cut_stream_raw_error_event(http, model):
    """The explicit end: one `data: {"error": ...}` event and no `data: [DONE]`."""
    body = {"model": model, "stream": True, "messages": user(f"a b c d e f {marker()}")}
    with http.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        events, transport_error = sse_events(resp)
    assert "[DONE]" not in events
    assert events, "no events at all"
    last = json.loads(events[-1])
    assert_error_object(last, type_="upstream_error", code="upstream_error")
    assert transport_error is None, f"the stream should close cleanly after the error event: {transport_error!r}"
    assert sum(1 for e in events if "error" in json.loads(e)) == 1


def test_cut_with_fallback_non_stream_falls_back(client):
    """Without streaming nothing reached the client before the cut, so the fallback may answer."""
    m = marker()
    raw = client.chat.completions.with_raw_response.create(model="cut-with-fallback", messages=user(m))
    assert raw.headers.get("x-sluice-provider") == "echo"
    assert m in raw.parse().choices[0].message.content


def test_stall_after_first_token_times_out_with_error(client):
    t0 = time.monotonic()
    text, error = stream_until_error(client.chat.completions.create(
        model="stall-after-first", messages=user(f"a b c {marker()}"), stream=True))
    elapsed = time.monotonic() - t0
    assert error is not None, "a stalled stream must end with an error"
    assert text == mu.pieces(mu.fixed_answer("openai", "x"))[0]
    assert error.code == "upstream_timeout", f"code={error.code!r} body={error.body!r}"
    assert elapsed < FAULTY_TIMEOUTS["total_ms"] / 1000 + 4, f"total_ms must bound the call ({elapsed:.1f}s)"


# --- circuit breaker ------------------------------------------------------------------------------------------

def test_circuit_breaker_opens(client, mock):
    """After `failure_threshold` failures the breaker opens: calls fail fast without reaching the upstream."""
    seen = []
    for _ in range(BREAKER_THRESHOLD + 3):
        m = marker()
        t0 = time.monotonic()
        with pytest.raises(openai.APIStatusError) as exc:
            client.chat.completions.create(model="breaker", messages=user(m))
        assert exc.value.status_code in (502, 503), exc.value.body
        assert_error_object({"error": exc.value.body})
        seen.append((len(mock.requests(contains=m)), time.monotonic() - t0))
    upstream_calls = [n for n, _ in seen]
    assert upstream_calls[:BREAKER_THRESHOLD] == [1] * BREAKER_THRESHOLD, seen
    assert upstream_calls[-1] == 0, f"the breaker never opened: upstream calls per request {upstream_calls}"
    assert seen[-1][1] < 1.0


def test_unrelated_provider_unaffected_by_breaker(client):
    r = client.chat.completions.create(model="openai-fixed", messages=user("still fine"))
    assert r.choices[0].message.content == mu.fixed_answer("openai", "still fine")

