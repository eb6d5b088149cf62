#!/usr/bin/env python3
"""Mock LLM upstreams for Sluice's conformance suite (standard library only).

One process serves two APIs on two ports:

* an OpenAI-compatible API: ``POST /v1/chat/completions`` (stream and non-stream), ``GET /v1/models``;
* an Anthropic Messages API: ``POST /v1/messages`` (stream and non-stream, the real SSE event sequence).

The behaviour of a request is chosen by the *upstream model name* it carries (see ``SCENARIOS``). On the
Anthropic side a leading ``claude-`` is ignored, so ``claude-fixed`` and ``fixed`` are the same scenario.

Both ports also serve the control API (one shared request log for both):

* ``GET  /_mock/requests`` -> JSON list of every request seen (both APIs, oldest first);
* ``POST /_mock/reset``    -> clears the log and the "once" memory.

Usage::

    python3 mock_upstreams.py --openai-port 0 --anthropic-port 0 [--openai-key K] [--anthropic-key K]

Port 0 picks a free port. When both servers listen, one JSON line is printed on stdout:
``{"openai_port": 40001, "anthropic_port": 40002, "pid": 1234}``.

Streams use HTTP/1.1 chunked transfer encoding, so an abrupt close (the ``cut`` scenario, which also sends a
TCP reset) is visible to the client as a broken body, not as a clean end of the response.
"""

from __future__ import annotations

import argparse
import email.utils
import hashlib
import json
import re
import select
import signal
import socket
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

SCENARIOS = {
    "fixed": "deterministic answer derived from the last user message, with real usage",
    "no-usage": "like fixed but never reports usage (stream or not)",
    "cached": "like fixed, reporting half the prompt tokens (rounded down) as read from the prompt cache",
    "tools": "answers with a tool call (arguments streamed in fragments); with a tool result in the "
    "conversation, answers with text quoting it",
    "rate-limited": "always 429 with Retry-After",
    "rate-limited-once": "429 with Retry-After on the first request of a conversation, then as fixed",
    "rate-limited-ms": "always 429 with retry-after-ms: 700 and no Retry-After",
    "rate-limited-date": "always 429 with Retry-After as an HTTP date 2 s ahead",
    "rate-limited-long": "always 429 with Retry-After: 17 (longer than Sluice waits)",
    "error-500": "always 500",
    "error-500-once": "500 on the first request of a conversation, then as fixed",
    "stall": "accepts the request and sends nothing (bounded by --stall-seconds)",
    "stall-after-first": "sends headers and one token, then stalls, then resets the connection",
    "cut": "sends a few tokens (or half a JSON body) then closes the TCP connection mid-body",
    "redirect": "answers 307 Temporary Redirect to the same URL (a client that follows it loops)",
    "unauthorized": "always 401, as a provider refusing the key it was sent",
    "forbidden": "always 403, as a provider refusing the call for policy reasons",
}

# Tool call arguments are streamed in this many fragments (at least).
TOOL_ARG_FRAGMENTS = 4
CUT_AFTER_TOKENS = 3
DEFAULT_TOOL_NAME = "get_weather"


# --------------------------------------------------------------------------------------------------------------
# Deterministic content, shared with the tests (they import this module).
# --------------------------------------------------------------------------------------------------------------

def count_tokens(text: str) -> int:
    """The mock's token count: whitespace-separated words (at least 1 for non-empty text)."""
    return len(text.split())


def pieces(text: str) -> list[str]:
    """Split text into stream deltas (words with their trailing whitespace)."""
    found = re.findall(r"\S+\s*", text)
    return found or [text]


# Azure OpenAI addresses a deployment: POST /openai/deployments/{deployment}/chat/completions?api-version=…
AZURE_PATH = re.compile(r"/openai/deployments/([^/]+)/chat/completions")


# How long the `cut` scenario waits after its last token before closing the connection.
CUT_GRACE_SECONDS = 0.1


def fixed_answer(api: str, last_user_text: str) -> str:
    """The answer of the ``fixed`` scenario; ``api`` is "openai" or "anthropic"."""
    return f"Mock {api} answer to: {last_user_text}"


def tool_result_answer(result_text: str) -> str:
    return f"The tool said: {result_text}"


def tool_arguments(last_user_text: str) -> dict[str, Any]:
    """The arguments the ``tools`` scenario puts in its tool call."""
    return {"location": last_user_text, "unit": "celsius", "days": 3}


def scenario_of(api: str, model: str) -> str:
    name = model or ""
    if api == "anthropic" and name.startswith("claude-"):
        name = name[len("claude-"):]
    return name


# --------------------------------------------------------------------------------------------------------------
# Request inspection helpers
# --------------------------------------------------------------------------------------------------------------

def _content_text(content: Any) -> str:
    """Text of an OpenAI or Anthropic message content (string or list of parts/blocks)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        out = []
        for part in content:
            if isinstance(part, str):
                out.append(part)
            elif isinstance(part, dict):
                if part.get("type") == "text" and isinstance(part.get("text"), str):
                    out.append(part["text"])
                elif part.get("type") == "tool_result":
                    out.append(_content_text(part.get("content")))
        return " ".join(out)
    return str(content)


def last_user_text(api: str, body: dict) -> str:
    for msg in reversed(body.get("messages") or []):
        if not isinstance(msg, dict) or msg.get("role") != "user":
            continue
        if api == "anthropic" and isinstance(msg.get("content"), list):
            # A user turn made only of tool results is not "what the user said".
            texts = [b.get("text", "") for b in msg["content"] if isinstance(b, dict) and b.get("type") == "text"]
            if texts:
                return " ".join(texts)
            continue
        return _content_text(msg.get("content"))
    return ""


def tool_result_text(api: str, body: dict) -> str | None:
    """The last tool result in the conversation, or None."""
    found = None
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        if api == "openai" and msg.get("role") == "tool":
            found = _content_text(msg.get("content"))
        if api == "anthropic" and isinstance(msg.get("content"), list):
            for block in msg["content"]:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    found = _content_text(block.get("content"))
    return found


def prompt_tokens(api: str, body: dict) -> int:
    total = 0
    for msg in body.get("messages") or []:
        if isinstance(msg, dict):
            total += 3 + count_tokens(_content_text(msg.get("content")))
    if api == "anthropic":
        system = body.get("system")
        total += count_tokens(_content_text(system)) if system else 0
    return max(total, 1)


def first_tool_name(api: str, body: dict) -> str:
    tools = body.get("tools") or []
    if tools and isinstance(tools[0], dict):
        if api == "openai":
            fn = tools[0].get("function") or {}
            if isinstance(fn, dict) and fn.get("name"):
                return fn["name"]
        elif tools[0].get("name"):
            return tools[0]["name"]
    return DEFAULT_TOOL_NAME


def split_fragments(text: str, n: int) -> list[str]:
    size = max(1, -(-len(text) // n))
    return [text[i:i + size] for i in range(0, len(text), size)]


def conversation_key(api: str, body: dict) -> str:
    raw = json.dumps([api, body.get("model"), body.get("messages")], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(raw.encode()).hexdigest()


# --------------------------------------------------------------------------------------------------------------
# Shared state
# --------------------------------------------------------------------------------------------------------------

class State:
    def __init__(self, args: argparse.Namespace):
        self.args = args
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.seen_once: set[str] = set()
        self.stop = threading.Event()

    def record(self, entry: dict) -> dict:
        with self.lock:
            entry["seq"] = len(self.requests)
            self.requests.append(entry)
        return entry

    def first_time(self, key: str) -> bool:
        with self.lock:
            if key in self.seen_once:
                return False
            self.seen_once.add(key)
            return True

    def reset(self) -> None:
        with self.lock:
            self.requests.clear()
            self.seen_once.clear()

    def snapshot(self) -> list[dict]:
        with self.lock:
            return json.loads(json.dumps(self.requests))


class Abort(Exception):
    """The connection has been dropped on purpose (or by the peer); stop handling this request."""


# --------------------------------------------------------------------------------------------------------------
# HTTP handler
# --------------------------------------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "SluiceMockUpstream/1.0"
    api = "openai"  # overridden per server
    state: State

    # ---- plumbing -------------------------------------------------------------------------------------------

    def log_message(self, fmt: str, *args: Any) -> None:  # keep stderr quiet unless asked
        if self.state.args.verbose:
            sys.stderr.write("[mock %s] %s\n" % (self.api, fmt % args))

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            data = bytearray()
            while True:
                line = self.rfile.readline()
                if not line:
                    break
                size = int(line.split(b";", 1)[0].strip() or b"0", 16)
                if size == 0:
                    # trailers until blank line
                    while True:
                        trailer = self.rfile.readline()
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                data += self.rfile.read(size)
                self.rfile.readline()  # CRLF after chunk
            return bytes(data)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send_json(self, status: int, obj: Any, extra_headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for k, v in (extra_headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)
        self.wfile.flush()

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.wfile.flush()

    def _chunk(self, data: bytes) -> None:
        if not data:
            return
        try:
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()
        except OSError as exc:
            raise Abort() from exc

    def _end_stream(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except OSError as exc:
            raise Abort() from exc

    def _sse(self, obj: Any, event: str | None = None) -> None:
        text = ""
        if event:
            text += f"event: {event}\n"
        text += "data: " + (obj if isinstance(obj, str) else json.dumps(obj)) + "\n\n"
        self._chunk(text.encode())

    def _reset_connection(self) -> None:
        """Close the TCP connection mid-response, without the terminating chunk.

        A graceful close (FIN) rather than a reset (RST): with RST the receiving kernel may discard bytes the client
        has not read yet, so whether the tokens sent before the cut arrive would depend on timing. With FIN every
        byte sent arrives, and the body is still visibly truncated (no final zero-length chunk, no ``[DONE]``).
        """
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        # An upstream that dies mid-answer does so some time after its last token, not in the same TCP segment.
        # (When the close arrives together with the last chunks, async-http-client can fail the body before handing
        # over those chunks; that race is a known limitation, recorded in Docs/ARCHITECTURE.md.)
        time.sleep(CUT_GRACE_SECONDS)
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.connection.close()
        except OSError:
            pass
        raise Abort()

    def _stall(self) -> None:
        """Wait up to --stall-seconds, returning early if the peer goes away or the mock stops."""
        deadline = time.monotonic() + self.state.args.stall_seconds
        while time.monotonic() < deadline and not self.state.stop.is_set():
            try:
                readable, _, _ = select.select([self.connection], [], [], 0.1)
                if readable:
                    peek = self.connection.recv(1, socket.MSG_PEEK)
                    if peek == b"":
                        raise Abort()  # peer closed
                    time.sleep(0.1)  # pipelined bytes: keep stalling
            except (OSError, ValueError) as exc:
                raise Abort() from exc

    def _delay(self) -> None:
        if self.state.args.token_delay_ms:
            time.sleep(self.state.args.token_delay_ms / 1000.0)

    # ---- routing --------------------------------------------------------------------------------------------

    def do_GET(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        if url.path == "/_mock/requests":
            items = self.state.snapshot()
            query = parse_qs(url.query)
            if "contains" in query:
                needle = query["contains"][0]
                items = [r for r in items if needle in json.dumps(r.get("body"), ensure_ascii=False)]
            self._send_json(200, items)
        elif url.path in ("/_mock/health", "/health"):
            self._send_json(200, {"ok": True, "api": self.api})
        elif url.path in ("/v1/models", "/models") and self.api == "openai":
            self._send_json(200, {"object": "list", "data": [
                {"id": name, "object": "model", "created": 0, "owned_by": "mock"} for name in SCENARIOS]})
        else:
            self._not_found()

    def do_POST(self) -> None:  # noqa: N802
        url = urlparse(self.path)
        try:
            raw = self._read_body()
        except (OSError, ValueError):
            self.close_connection = True
            return
        if url.path == "/_mock/reset":
            self.state.reset()
            self._send_json(200, {"ok": True})
            return
        try:
            azure = AZURE_PATH.fullmatch(url.path) if self.api == "openai" else None
            if self.api == "openai" and url.path in ("/v1/chat/completions", "/chat/completions"):
                self._handle("openai", url.path, raw)
            elif azure is not None:
                self._handle("openai", url.path, raw, azure=(azure.group(1), parse_qs(url.query)))
            elif self.api == "anthropic" and url.path == "/v1/messages":
                self._handle("anthropic", url.path, raw)
            else:
                self._not_found()
        except Abort:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _not_found(self) -> None:
        if self.api == "anthropic":
            self._send_json(404, {"type": "error", "error": {"type": "not_found_error",
                                                             "message": f"Not found: {self.path}"}})
        else:
            self._send_json(404, {"error": {"message": f"Unknown path {self.path}", "type": "invalid_request_error",
                                            "param": None, "code": "not_found"}})

    # ---- errors in each API's shape --------------------------------------------------------------------------

    def _error(self, api: str, status: int, etype: str, message: str, code: str | None = None,
               headers: dict[str, str] | None = None) -> None:
        if api == "anthropic":
            body = {"type": "error", "error": {"type": etype, "message": message}}
        else:
            body = {"error": {"message": message, "type": etype, "param": None, "code": code}}
        self._send_json(status, body, headers)

    def _rate_limited(self, api: str, hint: str = "default") -> None:
        if hint == "ms":
            headers = {"retry-after-ms": "700"}
        elif hint == "date":
            headers = {"Retry-After": email.utils.formatdate(time.time() + 2, usegmt=True)}
        elif hint == "long":
            headers = {"Retry-After": "17"}
        else:
            headers = {"Retry-After": str(self.state.args.retry_after)}
        if api == "anthropic":
            headers["anthropic-ratelimit-requests-remaining"] = "0"
            self._error(api, 429, "rate_limit_error", "Number of requests has exceeded your rate limit.",
                        headers=headers)
        else:
            headers["x-ratelimit-remaining-requests"] = "0"
            self._error(api, 429, "requests", "Rate limit reached for requests (mock).", "rate_limit_exceeded",
                        headers=headers)

    def _server_error(self, api: str) -> None:
        if api == "anthropic":
            self._error(api, 500, "api_error", "Internal server error (mock).")
        else:
            self._error(api, 500, "server_error", "The server had an error while processing your request (mock).")

    # ---- the main handler ------------------------------------------------------------------------------------

    def _handle(self, api: str, path: str, raw: bytes, azure: tuple[str, dict] | None = None) -> None:
        """Serve one chat call. ``azure`` = (deployment, query) for Azure OpenAI's URL shape, whose deployment
        picks the scenario and which authenticates with an ``api-key`` header and needs ``api-version``."""
        headers = {k.lower(): v for k, v in self.headers.items()}
        try:
            body = json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, json.JSONDecodeError):
            body = None
        if azure is not None and isinstance(body, dict):
            body["model"] = azure[0]
        entry = self.state.record({
            "api": "azure" if azure is not None else api,
            "query": azure[1] if azure is not None else {},
            "method": "POST",
            "path": path,
            "time": time.time(),
            "headers": headers,
            "model": body.get("model") if isinstance(body, dict) else None,
            "stream": bool(body.get("stream")) if isinstance(body, dict) else False,
            "body": body if body is not None else raw.decode("utf-8", "replace"),
            "scenario": None,
            "status": None,
            "reported_usage": None,
        })

        def done(status: int, usage: dict | None = None) -> None:
            entry["status"] = status
            entry["reported_usage"] = usage

        # --- authentication and validation, like the real APIs ---
        if api == "anthropic":
            want = self.state.args.anthropic_key
            got = headers.get("x-api-key")  # like the real API: Authorization: Bearer is not accepted
            if not got or (want and got != want):
                done(401)
                return self._error(api, 401, "authentication_error", "invalid x-api-key")
            if not headers.get("anthropic-version"):
                done(400)
                return self._error(api, 400, "invalid_request_error", "anthropic-version: header is required")
        elif azure is not None:
            want = self.state.args.openai_key
            if headers.get("api-key") != want or "authorization" in headers:
                done(401)
                return self._error(api, 401, "invalid_request_error", "Access denied: invalid api-key (mock Azure).",
                                   code="401")
            if not azure[1].get("api-version"):
                done(404)
                return self._error(api, 404, "invalid_request_error", "Resource not found: api-version is required")
        else:
            want = self.state.args.openai_key
            auth = headers.get("authorization", "")
            got = auth[7:] if auth.lower().startswith("bearer ") else None
            if not got or (want and got != want):
                done(401)
                return self._error(api, 401, "invalid_request_error", "Incorrect API key provided (mock).",
                                   "invalid_api_key")

        if not isinstance(body, dict):
            done(400)
            return self._error(api, 400, "invalid_request_error", "We could not parse the JSON body of your request.",
                               "invalid_json")
        if not isinstance(body.get("model"), str) or not body["model"]:
            done(400)
            return self._error(api, 400, "invalid_request_error", "model: field required", "missing_model")
        if not isinstance(body.get("messages"), list) or not body["messages"]:
            done(400)
            return self._error(api, 400, "invalid_request_error", "messages: at least one message is required",
                               "invalid_messages")
        if api == "anthropic":
            if not isinstance(body.get("max_tokens"), int) or body["max_tokens"] < 1:
                done(400)
                return self._error(api, 400, "invalid_request_error", "max_tokens: field required")
            bad_roles = [m.get("role") for m in body["messages"] if isinstance(m, dict)
                         and m.get("role") not in ("user", "assistant")]
            if bad_roles:
                done(400)
                return self._error(api, 400, "invalid_request_error",
                                   f"messages: unexpected role {bad_roles[0]!r} (use the top-level system parameter)")

        scenario = scenario_of(api, body["model"])
        entry["scenario"] = scenario
        if scenario not in SCENARIOS:
            done(404)
            if api == "anthropic":
                return self._error(api, 404, "not_found_error", f"model: {body['model']}")
            return self._error(api, 404, "invalid_request_error",
                               f"The model `{body['model']}` does not exist (mock).", "model_not_found")

        stream = bool(body.get("stream"))

        # --- failure scenarios ---
        if scenario == "rate-limited":
            done(429)
            return self._rate_limited(api)
        if scenario.startswith("rate-limited-") and scenario != "rate-limited-once":
            done(429)
            return self._rate_limited(api, hint=scenario.removeprefix("rate-limited-"))
        if scenario == "rate-limited-once" and self.state.first_time(conversation_key(api, body)):
            done(429)
            return self._rate_limited(api)
        if scenario == "error-500":
            done(500)
            return self._server_error(api)
        if scenario == "error-500-once" and self.state.first_time(conversation_key(api, body)):
            done(500)
            return self._server_error(api)
        if scenario == "unauthorized":
            done(401)
            return self._error(api, 401, "invalid_request_error", "Incorrect API key provided (mock scenario).",
                               "invalid_api_key")
        if scenario == "forbidden":
            done(403)
            return self._error(api, 403, "permission_error", "Your organization may not use this model (mock).")
        if scenario == "redirect":
            done(307)
            self.send_response(307)
            self.send_header("Location", f"http://{self.headers.get('Host', '127.0.0.1')}{path}")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if scenario == "stall":
            done(0)
            self._stall()
            return self._reset_connection()

        # --- what the answer is ---
        user_text = last_user_text(api, body)
        tool_result = tool_result_text(api, body) if scenario == "tools" else None
        if scenario == "tools" and tool_result is None:
            kind = "tool_call"
            text = ""
        else:
            kind = "text"
            text = tool_result_answer(tool_result) if tool_result is not None else fixed_answer(api, user_text)
        completion_tokens = count_tokens(text) if kind == "text" else count_tokens(
            json.dumps(tool_arguments(user_text))) + 1
        usage_counts = (prompt_tokens(api, body), max(completion_tokens, 1))
        with_usage = scenario != "no-usage"

        if api == "openai":
            self._openai(body, scenario, stream, kind, text, user_text, usage_counts, with_usage, done)
        else:
            self._anthropic(body, scenario, stream, kind, text, user_text, usage_counts, with_usage, done)

    # ---- OpenAI-compatible ----------------------------------------------------------------------------------

    def _openai(self, body, scenario, stream, kind, text, user_text, usage_counts, with_usage, done) -> None:
        model = body["model"]
        cid = "chatcmpl-mock-" + uuid.uuid4().hex[:20]
        created = int(time.time())
        pt, ct = usage_counts
        usage = {"prompt_tokens": pt, "completion_tokens": ct, "total_tokens": pt + ct}
        if scenario == "cached":
            usage["prompt_tokens_details"] = {"cached_tokens": pt // 2, "audio_tokens": 0}
        tool_name = first_tool_name("openai", body)
        call_id = "call_" + uuid.uuid4().hex[:24]
        args_json = json.dumps(tool_arguments(user_text))
        finish = "tool_calls" if kind == "tool_call" else "stop"

        if not stream:
            message: dict[str, Any] = {"role": "assistant", "content": text if kind == "text" else None,
                                       "refusal": None}
            if kind == "tool_call":
                message["tool_calls"] = [{"id": call_id, "type": "function",
                                          "function": {"name": tool_name, "arguments": args_json}}]
            resp: dict[str, Any] = {
                "id": cid, "object": "chat.completion", "created": created, "model": model,
                "system_fingerprint": "fp_mock",
                "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
            }
            if with_usage:
                resp["usage"] = usage
            if scenario in ("cut", "stall-after-first"):
                payload = json.dumps(resp).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                done(200)
                if scenario == "stall-after-first":
                    self._stall()
                return self._reset_connection()
            done(200, usage if with_usage else None)
            return self._send_json(200, resp)

        include_usage = bool((body.get("stream_options") or {}).get("include_usage")) and with_usage

        def chunk(delta: dict, finish_reason: str | None = None, choices: bool = True) -> dict:
            out: dict[str, Any] = {"id": cid, "object": "chat.completion.chunk", "created": created, "model": model,
                                   "system_fingerprint": "fp_mock"}
            out["choices"] = [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}] \
                if choices else []
            if include_usage:
                out["usage"] = None
            return out

        self._start_stream()
        done(200, usage if include_usage else None)
        if kind == "text":
            self._sse(chunk({"role": "assistant", "content": "", "refusal": None}))
            for i, piece in enumerate(pieces(text)):
                if scenario == "cut" and i == CUT_AFTER_TOKENS:
                    return self._reset_connection()
                self._sse(chunk({"content": piece}))
                if scenario == "stall-after-first" and i == 0:
                    self._stall()
                    return self._reset_connection()
                self._delay()
        else:
            self._sse(chunk({"role": "assistant", "content": None, "tool_calls": [
                {"index": 0, "id": call_id, "type": "function", "function": {"name": tool_name, "arguments": ""}}]}))
            for frag in split_fragments(args_json, TOOL_ARG_FRAGMENTS):
                self._sse(chunk({"tool_calls": [{"index": 0, "function": {"arguments": frag}}]}))
                self._delay()
        self._sse(chunk({}, finish))
        if include_usage:
            final = chunk({}, choices=False)
            final["usage"] = usage
            self._sse(final)
        self._sse("[DONE]")
        self._end_stream()

    # ---- Anthropic Messages ---------------------------------------------------------------------------------

    def _anthropic(self, body, scenario, stream, kind, text, user_text, usage_counts, with_usage, done) -> None:
        model = body["model"]
        mid = "msg_mock" + uuid.uuid4().hex[:20]
        pt, ct = usage_counts
        tool_name = first_tool_name("anthropic", body)
        tool_id = "toolu_mock" + uuid.uuid4().hex[:16]
        args = tool_arguments(user_text)
        stop_reason = "tool_use" if kind == "tool_call" else "end_turn"
        usage = {"input_tokens": pt, "output_tokens": ct}
        # Anthropic's input_tokens leaves out what was read from the cache.
        cached = pt // 2 if scenario == "cached" else 0

        if not stream:
            if kind == "tool_call":
                content = [{"type": "tool_use", "id": tool_id, "name": tool_name, "input": args}]
            else:
                content = [{"type": "text", "text": text}]
            resp: dict[str, Any] = {"id": mid, "type": "message", "role": "assistant", "model": model,
                                    "content": content, "stop_reason": stop_reason, "stop_sequence": None}
            if with_usage:
                resp["usage"] = {"input_tokens": pt - cached, "cache_creation_input_tokens": 0,
                                 "cache_read_input_tokens": cached, "output_tokens": ct}
            if scenario in ("cut", "stall-after-first"):
                payload = json.dumps(resp).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                done(200)
                if scenario == "stall-after-first":
                    self._stall()
                return self._reset_connection()
            done(200, usage if with_usage else None)
            return self._send_json(200, resp)

        self._start_stream()
        done(200, usage if with_usage else None)
        start_msg: dict[str, Any] = {"id": mid, "type": "message", "role": "assistant", "model": model,
                                     "content": [], "stop_reason": None, "stop_sequence": None}
        if with_usage:
            start_msg["usage"] = {"input_tokens": pt - cached, "cache_creation_input_tokens": 0,
                                  "cache_read_input_tokens": cached, "output_tokens": 1}
        self._sse({"type": "message_start", "message": start_msg}, "message_start")
        self._sse({"type": "ping"}, "ping")
        if kind == "text":
            self._sse({"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
                      "content_block_start")
            for i, piece in enumerate(pieces(text)):
                if scenario == "cut" and i == CUT_AFTER_TOKENS:
                    return self._reset_connection()
                self._sse({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "text_delta", "text": piece}}, "content_block_delta")
                if scenario == "stall-after-first" and i == 0:
                    self._stall()
                    return self._reset_connection()
                self._delay()
        else:
            self._sse({"type": "content_block_start", "index": 0,
                       "content_block": {"type": "tool_use", "id": tool_id, "name": tool_name, "input": {}}},
                      "content_block_start")
            for frag in split_fragments(json.dumps(args), TOOL_ARG_FRAGMENTS):
                self._sse({"type": "content_block_delta", "index": 0,
                           "delta": {"type": "input_json_delta", "partial_json": frag}}, "content_block_delta")
                self._delay()
        self._sse({"type": "content_block_stop", "index": 0}, "content_block_stop")
        delta_event: dict[str, Any] = {"type": "message_delta",
                                       "delta": {"stop_reason": stop_reason, "stop_sequence": None}}
        if with_usage:
            delta_event["usage"] = {"output_tokens": ct}
        self._sse(delta_event, "message_delta")
        self._sse({"type": "message_stop"}, "message_stop")
        self._end_stream()


# --------------------------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------------------------

def make_server(host: str, port: int, api: str, state: State) -> ThreadingHTTPServer:
    handler = type(f"{api.title()}Handler", (Handler,), {"api": api, "state": state})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    return server


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--openai-port", type=int, default=0)
    parser.add_argument("--anthropic-port", type=int, default=0)
    parser.add_argument("--openai-key", default=None,
                        help="if set, require 'Authorization: Bearer <key>' (else any non-empty bearer key)")
    parser.add_argument("--anthropic-key", default=None,
                        help="if set, require 'x-api-key: <key>' (else any non-empty key)")
    parser.add_argument("--retry-after", type=int, default=1, help="Retry-After seconds on 429 (default 1)")
    parser.add_argument("--stall-seconds", type=float, default=60.0, help="upper bound of a stall (default 60)")
    parser.add_argument("--token-delay-ms", type=float, default=0.0, help="delay between streamed deltas")
    parser.add_argument("--verbose", action="store_true", help="log each request on stderr")
    args = parser.parse_args(argv)

    state = State(args)
    servers = [make_server(args.host, args.openai_port, "openai", state),
               make_server(args.host, args.anthropic_port, "anthropic", state)]
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True) for s in servers]
    for t in threads:
        t.start()

    stopping = threading.Event()

    def stop(*_: Any) -> None:
        state.stop.set()
        stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    print(json.dumps({"openai_port": servers[0].server_address[1],
                      "anthropic_port": servers[1].server_address[1],
                      "pid": __import__("os").getpid()}), flush=True)
    while not stopping.wait(0.5):
        pass
    for s in servers:
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
