"""Constants and helpers shared by conftest.py and the tests (importable as `helpers`)."""

from __future__ import annotations

import importlib
import json
import socket
import sys
import time
import uuid
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx

MOCK_OPENAI_KEY = "sk-mock-openai-upstream-key"
MOCK_ANTHROPIC_KEY = "sk-ant-mock-upstream-key"

# --------------------------------------------------------------------------------------------------------------
# Provider settings written into the generated Sluice config (tests read them to know what to expect).
# --------------------------------------------------------------------------------------------------------------

# Healthy upstreams: retries enough to absorb one 429/500, breaker effectively off.
MAIN_RETRY = {"max_attempts": 3, "base_delay_ms": 50, "max_delay_ms": 2000}
MAIN_TIMEOUTS = {"connect_ms": 1000, "first_token_ms": 3000, "total_ms": 8000}
# Upstreams used for failure scenarios: short timeouts, 2 attempts.
FAULTY_RETRY = {"max_attempts": 2, "base_delay_ms": 50, "max_delay_ms": 2000}
FAULTY_TIMEOUTS = {"connect_ms": 500, "first_token_ms": 1000, "total_ms": 3000}
# A threshold no test reaches: failure scenarios must not trip the breaker of the providers they share.
BREAKER_OFF = {"failure_threshold": 100000, "open_ms": 100}
# Breaker scenario: opens after 2 failed calls and stays open for the rest of the run.
BREAKER_THRESHOLD = 2
MAX_BODY_BYTES = 65536

# public model -> list of (provider, upstream model); the first is the primary, later ones are fallbacks.
MODELS: dict[str, list[tuple[str, str]]] = {
    "openai-fixed": [("mock-openai", "fixed")],
    "azure-fixed": [("mock-azure", "fixed")],
    "azure-tools": [("mock-azure", "tools")],
    "anthropic-fixed": [("mock-anthropic", "claude-fixed")],
    "openai-tools": [("mock-openai", "tools")],
    "anthropic-tools": [("mock-anthropic", "claude-tools")],
    "no-usage": [("mock-openai", "no-usage")],
    "openai-cached": [("mock-openai", "cached")],
    "anthropic-cached": [("mock-anthropic", "claude-cached")],
    "anthropic-no-usage": [("mock-anthropic", "claude-no-usage")],
    "retry-429-once": [("mock-openai", "rate-limited-once")],
    "anthropic-retry-429-once": [("mock-anthropic", "claude-rate-limited-once")],
    "retry-500-once": [("mock-openai", "error-500-once")],
    "anthropic-retry-500-once": [("mock-anthropic", "claude-error-500-once")],
    "always-429": [("mock-openai-faulty", "rate-limited")],
    "always-429-ms": [("mock-openai-faulty", "rate-limited-ms")],
    "always-429-date": [("mock-openai-faulty", "rate-limited-date")],
    "always-429-long": [("mock-openai-faulty", "rate-limited-long")],
    "anthropic-always-429": [("mock-anthropic-faulty", "claude-rate-limited")],
    "always-500": [("mock-openai-faulty", "error-500")],
    "anthropic-always-500": [("mock-anthropic-faulty", "claude-error-500")],
    "stall": [("mock-openai-faulty", "stall")],
    "anthropic-stall": [("mock-anthropic-faulty", "claude-stall")],
    "stall-after-first": [("mock-openai-faulty", "stall-after-first")],
    "cut": [("mock-openai-faulty", "cut")],
    "anthropic-cut": [("mock-anthropic-faulty", "claude-cut")],
    "unreachable": [("dead", "fixed")],
    "redirecting": [("mock-openai-faulty", "redirect")],
    "upstream-401": [("mock-openai-faulty", "unauthorized")],
    "upstream-403": [("mock-openai-faulty", "forbidden")],
    "fallback-500-echo": [("mock-openai-faulty", "error-500"), ("echo", "echo")],
    "fallback-stall-echo": [("mock-openai-faulty", "stall"), ("echo", "echo")],
    "fallback-unreachable-echo": [("dead", "fixed"), ("echo", "echo")],
    "fallback-500-anthropic": [("mock-openai-faulty", "error-500"), ("mock-anthropic", "claude-fixed")],
    "cut-with-fallback": [("mock-openai-faulty", "cut"), ("echo", "echo")],
    "breaker": [("mock-openai-breaker", "error-500")],
}
# The price book the conformance instances use instead of the built-in one: one micro-dollar per input token and
# two per output token for the mock's `fixed` model, so a call's cost is prompt + 2 × completion micro-dollars.
PRICE_BOOK = {
    "version": "conformance-1",
    "prices": [
        {"model": "fixed", "effective_from": "2024-01-01", "input": 1_000_000, "output": 2_000_000},
        # The public name too: budget reservations are priced by the model a request names.
        {"model": "openai-fixed", "effective_from": "2024-01-01", "input": 1_000_000, "output": 2_000_000},
        {"model": "no-usage", "effective_from": "2024-01-01", "input": 1_000_000, "output": 2_000_000},
        {"model": "claude-*", "effective_from": "2024-01-01", "input": 3_000_000, "output": 15_000_000},
        # Cached prompt tokens at a tenth of the input price.
        {"model": "cached", "effective_from": "2024-01-01", "input": 1_000_000, "output": 2_000_000,
         "cached_input": 100_000},
        {"model": "claude-cached", "effective_from": "2024-01-01", "input": 3_000_000, "output": 15_000_000,
         "cached_input": 300_000},
    ],
}
# Completion tokens a request without max_tokens reserves against a budget (governance.limits.completion_token_cap):
# small, so that a stream reaches its reservation within a test.
COMPLETION_TOKEN_CAP = 12
# `echo` (provider and model) is built in: the generated config does not declare the model.
ALL_PUBLIC_MODELS = sorted(set(MODELS) | {"echo"})

# A tool definition the tool tests send.
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Weather forecast for a place",
        "parameters": {
            "type": "object",
            "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                           "days": {"type": "integer"}},
            "required": ["location"],
        },
    },
}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def marker() -> str:
    """A unique word to put in a prompt, to find this test's requests in the mock's log."""
    return "m" + uuid.uuid4().hex[:12]


def user(text: str) -> list[dict]:
    return [{"role": "user", "content": text}]


def find_key(obj: Any, name: str) -> list[Any]:
    """All values of `name` anywhere inside a JSON-like object."""
    found = []
    if isinstance(obj, dict):
        for k, v in obj.items():
            if k == name:
                found.append(v)
            found.extend(find_key(v, name))
    elif isinstance(obj, list):
        for v in obj:
            found.extend(find_key(v, name))
    return found


def sse_events(response: httpx.Response) -> tuple[list[str], Exception | None]:
    """The `data:` payloads of an SSE response in order, and the transport error that ended it (if any)."""
    events: list[str] = []
    buf: list[str] = []
    error: Exception | None = None
    try:
        for line in response.iter_lines():
            if line == "":
                if buf:
                    events.append("\n".join(buf))
                    buf = []
            elif line.startswith("data:"):
                buf.append(line[5:].lstrip(" "))
    except httpx.HTTPError as exc:
        error = exc
    if buf:
        events.append("\n".join(buf))
    return events, error


def sse_named_events(response: httpx.Response) -> tuple[list[tuple[str | None, Any]], Exception | None]:
    """(event name, parsed data) pairs of an SSE response (Anthropic style), and the ending transport error."""
    out: list[tuple[str | None, Any]] = []
    name: str | None = None
    data: list[str] = []
    error: Exception | None = None
    try:
        for line in response.iter_lines():
            if line == "":
                if data:
                    out.append((name, json.loads("\n".join(data))))
                name, data = None, []
            elif line.startswith("event:"):
                name = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip(" "))
    except httpx.HTTPError as exc:
        error = exc
    return out, error


def assert_error_object(body: Any, *, type_: str | None = None, code: str | None = None) -> dict:
    """Checks an OpenAI error object `{"error": {message, type, param, code}}`; returns the inner dict."""
    assert isinstance(body, dict) and isinstance(body.get("error"), dict), f"not an OpenAI error object: {body!r}"
    err = body["error"]
    assert isinstance(err.get("message"), str) and err["message"], f"error.message missing: {err!r}"
    for k in ("type", "param", "code"):
        assert k in err, f"error object lacks {k!r}: {err!r}"
    if type_ is not None:
        assert err["type"] == type_, f"error.type {err['type']!r} != {type_!r}: {err!r}"
    if code is not None:
        assert err["code"] == code, f"error.code {err['code']!r} != {code!r}: {err!r}"
    return err


def wait_http(url: str, procs: list, timeout: float = 30) -> None:
    """Poll ``url`` until it answers 200, failing early if any of ``procs`` exits; bounded by ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        assert all(p.poll() is None for p in procs), "a process exited during start-up"
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} never answered"
        time.sleep(0.05)


def generate_grpc_stubs(out: Path) -> SimpleNamespace:
    """Generates grpcio stubs for every proto in `Protos/` into `out` and imports the ones the tests use.

    Stubs are generated at test time with `grpc_tools.protoc`; nothing generated for Python is committed.
    """
    from grpc_tools import protoc

    protos_root = Path(__file__).resolve().parents[2] / "Protos"
    protos = sorted(str(p.relative_to(protos_root)) for p in protos_root.rglob("*.proto"))
    include = str(Path(protoc.__file__).parent / "_proto")
    code = protoc.main(["protoc", f"-I{protos_root}", f"-I{include}", f"--python_out={out}",
                        f"--grpc_python_out={out}", *protos])
    assert code == 0, "grpc_tools.protoc failed on Protos/"
    sys.path.insert(0, str(out))
    load = importlib.import_module
    return SimpleNamespace(
        inference=load("sluice.inference.v1.inference_pb2"), inference_grpc=load("sluice.inference.v1.inference_pb2_grpc"),
        governance=load("sluice.governance.v1.governance_pb2"),
        governance_grpc=load("sluice.governance.v1.governance_pb2_grpc"),
        vector=load("sluice.vector.v1.vector_pb2"), vector_grpc=load("sluice.vector.v1.vector_pb2_grpc"),
    )
