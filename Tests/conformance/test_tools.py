"""Tool (function) calling through Sluice, against both upstream kinds."""

from __future__ import annotations

import json

import pytest

import mock_upstreams as mu
from helpers import WEATHER_TOOL, marker, user

TOOL_MODELS = ["openai-tools", "anthropic-tools"]


def reassemble(chunks) -> dict[int, dict]:
    """Tool calls of a stream, by index: {"id", "name", "arguments", "fragments"}."""
    calls: dict[int, dict] = {}
    for c in chunks:
        if not c.choices:
            continue
        for tc in c.choices[0].delta.tool_calls or []:
            call = calls.setdefault(tc.index, {"id": None, "name": "", "arguments": "", "fragments": 0, "type": None})
            if tc.id:
                call["id"] = tc.id
            if tc.type:
                call["type"] = tc.type
            if tc.function is not None:
                if tc.function.name:
                    call["name"] += tc.function.name
                if tc.function.arguments:
                    call["arguments"] += tc.function.arguments
                    call["fragments"] += 1
    return calls


def check_upstream_got_tools(rec: dict) -> None:
    tools = rec["body"].get("tools")
    assert tools, "the tool definitions must reach the upstream"
    if rec["api"] == "openai":
        assert tools[0]["function"]["name"] == "get_weather"
        assert tools[0]["function"]["parameters"] == WEATHER_TOOL["function"]["parameters"]
    else:
        assert tools[0]["name"] == "get_weather"
        assert tools[0]["input_schema"] == WEATHER_TOOL["function"]["parameters"]


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_call_non_stream(client, mock, model):
    m = marker()
    r = client.chat.completions.create(model=model, messages=user(m), tools=[WEATHER_TOOL])
    choice = r.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls and len(choice.message.tool_calls) == 1
    call = choice.message.tool_calls[0]
    assert call.id and call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == mu.tool_arguments(m)
    [rec] = mock.requests(contains=m)
    check_upstream_got_tools(rec)


@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_call_stream(client, model):
    m = marker()
    chunks = list(client.chat.completions.create(model=model, messages=user(m), tools=[WEATHER_TOOL], stream=True,
                                                 stream_options={"include_usage": True}))
    calls = reassemble(chunks)
    assert list(calls) == [0], f"one tool call at index 0, got {calls}"
    call = calls[0]
    assert call["id"] and call["name"] == "get_weather"
    assert call["type"] in ("function", None)
    assert json.loads(call["arguments"]) == mu.tool_arguments(m), "arguments reassembled from fragments"
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == ["tool_calls"]
    assert chunks[-1].usage is not None


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model", TOOL_MODELS)
def test_tool_result_round_trip(client, mock, model, stream):
    m = marker()
    first = client.chat.completions.create(model=model, messages=user(f"weather in {m}"), tools=[WEATHER_TOOL])
    call = first.choices[0].message.tool_calls[0]
    result = f"sunny and 21C {m}"
    messages = [
        {"role": "user", "content": f"weather in {m}"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": call.id, "type": "function",
             "function": {"name": call.function.name, "arguments": call.function.arguments}}]},
        {"role": "tool", "tool_call_id": call.id, "content": result},
    ]
    if stream:
        chunks = list(client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL],
                                                     stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    else:
        text = client.chat.completions.create(model=model, messages=messages, tools=[WEATHER_TOOL]) \
            .choices[0].message.content
    assert text == mu.tool_result_answer(result), "the tool result must reach the upstream"

    rec = mock.requests(contains=result)[-1]
    sent = rec["body"]["messages"]
    if rec["api"] == "openai":
        tool_msgs = [msg for msg in sent if msg.get("role") == "tool"]
        assert tool_msgs and tool_msgs[0]["tool_call_id"] == call.id
        assistant = [msg for msg in sent if msg.get("role") == "assistant"][0]
        assert assistant["tool_calls"][0]["id"] == call.id
    else:
        blocks = [b for msg in sent if isinstance(msg.get("content"), list) for b in msg["content"]]
        uses = [b for b in blocks if b.get("type") == "tool_use"]
        results = [b for b in blocks if b.get("type") == "tool_result"]
        assert uses and uses[0]["id"] == call.id and uses[0]["name"] == "get_weather"
        assert uses[0]["input"] == json.loads(call.function.arguments)
        assert results and results[0]["tool_use_id"] == call.id
        assert [msg["role"] for msg in sent] == ["user", "assistant", "user"]
