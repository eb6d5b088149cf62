"""Chat completions through Sluice, as an OpenAI SDK user sees them: echo, the OpenAI mock, the Anthropic mock."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

import mock_upstreams as mu
from helpers import MOCK_ANTHROPIC_KEY, MOCK_OPENAI_KEY, find_key, marker, sse_events, user

# public model -> (mock api, upstream model) ; None for the built-in echo
UPSTREAM = {"echo": None, "openai-fixed": "openai", "anthropic-fixed": "anthropic"}
CHAT_MODELS = list(UPSTREAM)


def usage_dict(obj) -> dict:
    """The usage object of a completion/chunk as plain JSON, extra fields included."""
    usage = obj.usage
    return usage.model_dump() if usage is not None else {}


def estimated_flags(obj) -> list:
    return find_key(usage_dict(obj), "estimated")


def expected_usage(rec: dict) -> tuple[int, int]:
    rep = rec["reported_usage"]
    if "prompt_tokens" in rep:
        return rep["prompt_tokens"], rep["completion_tokens"]
    return rep["input_tokens"], rep["output_tokens"]


def check_content(model: str, prompt: str, content: str, m: str) -> None:
    api = UPSTREAM[model]
    if api is None:
        assert m in content, f"echo should echo the prompt; got {content!r}"
    else:
        assert content == mu.fixed_answer(api, prompt)


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_non_stream(client, mock, model):
    m = marker()
    prompt = f"please repeat {m}"
    r = client.chat.completions.create(model=model, messages=user(prompt))
    assert r.object == "chat.completion" and r.id
    assert len(r.choices) == 1
    choice = r.choices[0]
    assert choice.index == 0 and choice.message.role == "assistant" and choice.finish_reason == "stop"
    check_content(model, prompt, choice.message.content, m)
    assert r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert r.usage.total_tokens == r.usage.prompt_tokens + r.usage.completion_tokens
    if UPSTREAM[model]:
        [rec] = mock.requests(contains=m)
        assert (r.usage.prompt_tokens, r.usage.completion_tokens) == expected_usage(rec), \
            "usage reported by the upstream must be passed on unchanged"
        assert not any(estimated_flags(r)), "real upstream usage must not be flagged estimated"


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream(client, model):
    m = marker()
    prompt = f"stream {m}"
    chunks = list(client.chat.completions.create(model=model, messages=user(prompt), stream=True))
    with_choices = [c for c in chunks if c.choices]
    assert with_choices, "no chunks"
    assert all(c.object == "chat.completion.chunk" for c in chunks)
    assert len({c.id for c in chunks}) == 1, "all chunks of one completion share an id"
    assert with_choices[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in with_choices)
    check_content(model, prompt, text, m)
    assert [c.choices[0].finish_reason for c in with_choices if c.choices[0].finish_reason] == ["stop"]
    assert with_choices[-1].choices[0].finish_reason == "stop"


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_raw_sse_framing(http, model):
    body = {"model": model, "stream": True, "messages": user(f"raw {marker()}")}
    with http.stream("POST", "/v1/chat/completions", json=body) as resp:
        assert resp.status_code == 200
        assert resp.headers["content-type"].startswith("text/event-stream")
        events, error = sse_events(resp)
    assert error is None, f"stream broke: {error!r}"
    assert events and events[-1] == "[DONE]", f"a finished stream ends with data: [DONE]; last={events[-1:]!r}"
    for e in events[:-1]:
        assert "error" not in json.loads(e)


@pytest.mark.parametrize("model", CHAT_MODELS)
def test_stream_with_include_usage(client, mock, model):
    m = marker()
    chunks = list(client.chat.completions.create(model=model, messages=user(f"usage {m}"), stream=True,
                                                 stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None, "the final chunk carries usage and no choices"
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert last.usage.total_tokens == last.usage.prompt_tokens + last.usage.completion_tokens
    assert all(c.usage is None for c in chunks[:-1]), "only the final chunk carries usage"
    if UPSTREAM[model]:
        [rec] = mock.requests(contains=m)
        assert (last.usage.prompt_tokens, last.usage.completion_tokens) == expected_usage(rec)
        assert not any(estimated_flags(last))


def test_upstream_is_asked_for_usage(client, mock):
    """Sluice asks an OpenAI-compatible upstream for usage even when the client did not."""
    m = marker()
    list(client.chat.completions.create(model="openai-fixed", messages=user(m), stream=True))
    [rec] = mock.requests(contains=m)
    assert rec["stream"] is True
    assert (rec["body"].get("stream_options") or {}).get("include_usage") is True


@pytest.mark.parametrize("model", ["no-usage", "anthropic-no-usage"])
def test_missing_usage_is_estimated_non_stream(client, model):
    r = client.chat.completions.create(model=model, messages=user(f"count me {marker()}"))
    assert r.usage is not None, "usage is always reported"
    assert r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert True in estimated_flags(r), f"usage counted locally must be flagged estimated: {usage_dict(r)}"


@pytest.mark.parametrize("model", ["no-usage", "anthropic-no-usage"])
def test_missing_usage_is_estimated_stream(client, model):
    chunks = list(client.chat.completions.create(model=model, messages=user(f"count me {marker()}"), stream=True,
                                                 stream_options={"include_usage": True}))
    last = chunks[-1]
    assert last.usage is not None, "usage is always reported"
    assert last.usage.prompt_tokens > 0 and last.usage.completion_tokens > 0
    assert True in estimated_flags(last), f"usage counted locally must be flagged estimated: {usage_dict(last)}"


def test_upstream_credentials_are_sent_and_client_key_is_not(client, mock, sluice):
    m = marker()
    client.chat.completions.create(model="openai-fixed", messages=user(m))
    client.chat.completions.create(model="anthropic-fixed", messages=user(m))
    recs = mock.requests(contains=m)
    assert [r["api"] for r in recs] == ["openai", "anthropic"]
    assert recs[0]["headers"].get("authorization") == f"Bearer {MOCK_OPENAI_KEY}"
    assert recs[1]["headers"].get("x-api-key") == MOCK_ANTHROPIC_KEY
    assert recs[1]["headers"].get("anthropic-version")
    for rec in recs:
        assert sluice.key not in json.dumps(rec), "the client's Sluice key must never reach an upstream"


def test_anthropic_translation(client, mock):
    """System prompt goes top-level, max_tokens and sampling parameters are passed on."""
    m = marker()
    messages = [{"role": "system", "content": f"be terse {m}"}, {"role": "user", "content": f"hi {m}"}]
    r = client.chat.completions.create(model="anthropic-fixed", messages=messages, max_tokens=77, temperature=0.3)
    assert r.choices[0].message.content == mu.fixed_answer("anthropic", f"hi {m}")
    [rec] = mock.requests(contains=m)
    body = rec["body"]
    assert rec["model"] == "claude-fixed"
    assert all(msg["role"] in ("user", "assistant") for msg in body["messages"])
    assert m in json.dumps(body.get("system")), "the system message becomes Anthropic's top-level system"
    assert body["max_tokens"] == 77 and body.get("temperature") == pytest.approx(0.3)


def test_anthropic_gets_a_default_max_tokens(client, mock):
    m = marker()
    client.chat.completions.create(model="anthropic-fixed", messages=user(m))
    [rec] = mock.requests(contains=m)
    assert isinstance(rec["body"].get("max_tokens"), int) and rec["body"]["max_tokens"] > 0


def test_openai_parameters_pass_through(client, mock):
    m = marker()
    client.chat.completions.create(model="openai-fixed", messages=user(m), temperature=0.3, max_tokens=55,
                                   top_p=0.9, stop=["zzz"])
    [rec] = mock.requests(contains=m)
    body = rec["body"]
    assert rec["model"] == "fixed", "the upstream gets the deployment's model name, not the public one"
    assert body.get("temperature") == pytest.approx(0.3) and body.get("top_p") == pytest.approx(0.9)
    assert body.get("max_tokens") == 55 or body.get("max_completion_tokens") == 55
    assert body.get("stop") in (["zzz"], "zzz")


def test_concurrent_streams(sluice):
    def one(i: int) -> tuple[str, str, str, str]:
        c = sluice.client()
        m = marker()
        model = CHAT_MODELS[i % len(CHAT_MODELS)]
        prompt = f"parallel {m}"
        text = "".join(ch.choices[0].delta.content or "" for ch in c.chat.completions.create(
            model=model, messages=user(prompt), stream=True) if ch.choices)
        c.close()
        return model, prompt, text, m

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(12)))
    for model, prompt, text, m in results:
        check_content(model, prompt, text, m)
