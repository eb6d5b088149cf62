"""Every error of the contract table, as the OpenAI SDK and a raw HTTP client see it.

| status | type | code |
|---|---|---|
| 400 | invalid_request_error | invalid_json / invalid_parameter |
| 401 | invalid_request_error | invalid_api_key |
| 403 | permission_error | model_not_allowed |
| 404 | invalid_request_error | model_not_found |
| 413 | invalid_request_error | request_too_large |
| 429 | rate_limit_error | upstream_rate_limited (+ Retry-After) |
| 502 | upstream_error | upstream_error |
| 504 | upstream_error | upstream_timeout |
"""

from __future__ import annotations

import time

import httpx
import openai
import pytest

from helpers import FAULTY_RETRY, MAX_BODY_BYTES, assert_error_object, marker, user


def check_json_error(resp: httpx.Response, status: int, type_: str, code: str) -> dict:
    assert resp.status_code == status, f"expected {status}, got {resp.status_code}: {resp.text[:500]}"
    assert resp.headers.get("content-type", "").startswith("application/json")
    assert resp.headers.get("x-request-id"), "error responses carry X-Request-Id too"
    return assert_error_object(resp.json(), type_=type_, code=code)


def check_sdk_error(exc: openai.APIStatusError, status: int, type_: str, code: str) -> None:
    assert exc.status_code == status
    assert exc.type == type_ and exc.code == code, f"type/code: {exc.type!r}/{exc.code!r}; body={exc.body!r}"
    assert exc.response.headers.get("x-request-id")


# --- 401 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("auth", [None, "Bearer", "Basic dXNlcjpwYXNz", "sk-sluice-no-scheme"],
                         ids=["absent", "bearer-no-token", "basic", "no-scheme"])
def test_401_missing_key(sluice, auth):
    headers = {"Authorization": auth} if auth is not None else {}
    r = httpx.post(f"{sluice.base_url}/v1/chat/completions", json={"model": "echo", "messages": user("x")},
                   headers=headers)
    check_json_error(r, 401, "invalid_request_error", "invalid_api_key")
    r = httpx.get(f"{sluice.base_url}/v1/models", headers=headers)
    check_json_error(r, 401, "invalid_request_error", "invalid_api_key")


@pytest.mark.parametrize("key", ["sk-sluice-not-a-real-key", "garbage"], ids=["wrong", "garbage"])
def test_401_bad_key(sluice, key):
    c = sluice.client(key)
    with pytest.raises(openai.AuthenticationError) as exc:
        c.chat.completions.create(model="echo", messages=user("x"))
    check_sdk_error(exc.value, 401, "invalid_request_error", "invalid_api_key")
    with pytest.raises(openai.AuthenticationError):
        c.models.list()


def test_401_revealed_nothing(sluice):
    """A wrong key must not get further than authentication (no model existence oracle)."""
    c = sluice.client("sk-sluice-not-a-real-key")
    with pytest.raises(openai.AuthenticationError):
        c.chat.completions.create(model="no-such-model", messages=user("x"))


# --- 403 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_403_model_not_allowed(restricted_client, mock, stream):
    m = marker()
    with pytest.raises(openai.PermissionDeniedError) as exc:
        restricted_client.chat.completions.create(model="openai-fixed", messages=user(m), stream=stream)
    check_sdk_error(exc.value, 403, "permission_error", "model_not_allowed")
    assert mock.requests(contains=m) == [], "a denied request never reaches the upstream"


def test_restricted_key_may_use_its_model(restricted_client):
    r = restricted_client.chat.completions.create(model="echo", messages=user("allowed"))
    assert r.choices[0].message.content


# --- 404 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
def test_404_unknown_model(client, stream):
    with pytest.raises(openai.NotFoundError) as exc:
        client.chat.completions.create(model="no-such-model", messages=user("x"), stream=stream)
    check_sdk_error(exc.value, 404, "invalid_request_error", "model_not_found")


# --- 400 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [b'{"model": "echo", "messages": [', b"not json at all", b"",
                                 b'["a", "list"]'], ids=["truncated", "text", "empty", "not-an-object"])
def test_400_malformed_json(http, raw):
    r = http.post("/v1/chat/completions", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    err = assert_error_object(r.json(), type_="invalid_request_error")
    if raw in (b"not json at all", b'{"model": "echo", "messages": ['):
        assert err["code"] == "invalid_json"
    else:
        assert err["code"] in ("invalid_json", "invalid_parameter")


INVALID = {
    "temperature-7": ({"model": "echo", "messages": user("x"), "temperature": 7}, "temperature"),
    "empty-messages": ({"model": "echo", "messages": []}, "messages"),
    "n-3": ({"model": "echo", "messages": user("x"), "n": 3}, "n"),
    "missing-model": ({"messages": user("x")}, "model"),
    "missing-messages": ({"model": "echo"}, "messages"),
    "messages-not-a-list": ({"model": "echo", "messages": "hello"}, "messages"),
    "temperature-string": ({"model": "echo", "messages": user("x"), "temperature": "hot"}, "temperature"),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_400_invalid_parameter(http, case):
    body, param = INVALID[case]
    r = http.post("/v1/chat/completions", json=body)
    err = check_json_error(r, 400, "invalid_request_error", "invalid_parameter")
    if err.get("param") is not None:
        assert err["param"] == param or err["param"].startswith(param), err


def test_400_via_sdk(client, mock):
    m = marker()
    with pytest.raises(openai.BadRequestError) as exc:
        client.chat.completions.create(model="openai-fixed", messages=user(m), temperature=7)
    check_sdk_error(exc.value, 400, "invalid_request_error", "invalid_parameter")
    assert mock.requests(contains=m) == [], "an invalid request never reaches the upstream"


# --- 413 ------------------------------------------------------------------------------------------------------

def test_413_body_too_large(http, client):
    big = "x" * (MAX_BODY_BYTES + 32 * 1024)
    r = http.post("/v1/chat/completions", json={"model": "echo", "messages": user(big)})
    check_json_error(r, 413, "invalid_request_error", "request_too_large")
    with pytest.raises(openai.APIStatusError) as exc:
        client.chat.completions.create(model="echo", messages=user(big))
    check_sdk_error(exc.value, 413, "invalid_request_error", "request_too_large")
    # just under the limit is fine (sent to the mock, which does not echo the system prompt back)
    filler = "y" * (MAX_BODY_BYTES - 2048)
    r = http.post("/v1/chat/completions", json={"model": "openai-fixed", "messages": [
        {"role": "system", "content": filler}, {"role": "user", "content": "short"}]})
    assert r.status_code == 200, r.text[:500]


# --- 429 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("model", ["always-429", "anthropic-always-429"])
def test_429_upstream_rate_limited(client, mock, model):
    m = marker()
    t0 = time.monotonic()
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model=model, messages=user(m))
    elapsed = time.monotonic() - t0
    check_sdk_error(exc.value, 429, "rate_limit_error", "upstream_rate_limited")
    retry_after = exc.value.response.headers.get("retry-after")
    assert retry_after is not None, "a 429 carries Retry-After"
    assert float(retry_after) >= 0
    attempts = mock.requests(contains=m)
    assert len(attempts) == FAULTY_RETRY["max_attempts"], "429 is retried up to max_attempts"
    assert attempts[1]["time"] - attempts[0]["time"] >= 0.9, "the retry honours the upstream's Retry-After: 1"
    assert elapsed < 10


@pytest.mark.parametrize("model,attempts,spacing,header", [
    # retry-after-ms: 700 is 0.7 s, neither 700 s nor rounded up to 1 s; the client is told to wait 1 s
    ("always-429-ms", 2, (0.6, 0.95), (1, 1)),
    # An HTTP date 2 s ahead (whole seconds, so 1 to 2 s from the moment it was sent)
    ("always-429-date", 2, (0.9, 2.5), (1, 3)),
    # Longer than Sluice waits (10 s): no retry, and the client gets the upstream's own hint
    ("always-429-long", 1, None, (17, 17)),
])
def test_upstream_retry_hints_in_every_form(client, mock, model, attempts, spacing, header):
    m = marker()
    with pytest.raises(openai.RateLimitError) as exc:
        client.chat.completions.create(model=model, messages=user(m))
    check_sdk_error(exc.value, 429, "rate_limit_error", "upstream_rate_limited")
    retry_after = int(exc.value.response.headers["retry-after"])
    assert header[0] <= retry_after <= header[1], retry_after
    sent = mock.requests(contains=m)
    assert len(sent) == attempts
    if spacing:
        waited = sent[1]["time"] - sent[0]["time"]
        assert spacing[0] <= waited <= spacing[1], f"the retry waited {waited:.3f} s"


# --- 502 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model", ["always-500", "anthropic-always-500", "unreachable"])
def test_502_upstream_failure(client, mock, model, stream):
    m = marker()
    with pytest.raises(openai.InternalServerError) as exc:
        r = client.chat.completions.create(model=model, messages=user(m), stream=stream)
        if stream:  # nothing was sent yet: the failure must be an HTTP status, not a stream
            list(r)
    check_sdk_error(exc.value, 502, "upstream_error", "upstream_error")
    if model != "unreachable":
        assert len(mock.requests(contains=m)) == FAULTY_RETRY["max_attempts"], "5xx is retried up to max_attempts"


def test_502_upstream_redirect_is_not_followed(client, mock):
    # Following it would resend the body and the provider key wherever the upstream points.
    m = marker()
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="redirecting", messages=user(m))
    check_sdk_error(exc.value, 502, "upstream_error", "upstream_error")
    assert "307" in exc.value.message
    assert len(mock.requests(contains=m)) == 1, "one request, no redirect followed, no retry"


def test_502_cut_non_stream(client):
    with pytest.raises(openai.InternalServerError) as exc:
        client.chat.completions.create(model="cut", messages=user(marker()))
    check_sdk_error(exc.value, 502, "upstream_error", "upstream_error")


# --- 504 ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model", ["stall", "anthropic-stall"])
def test_504_upstream_timeout(client, mock, model, stream):
    m = marker()
    t0 = time.monotonic()
    with pytest.raises(openai.APIStatusError) as exc:
        r = client.chat.completions.create(model=model, messages=user(m), stream=stream)
        if stream:
            list(r)
    elapsed = time.monotonic() - t0
    check_sdk_error(exc.value, 504, "upstream_error", "upstream_timeout")
    assert 0.9 <= elapsed < 8, f"first_token_ms is 1000 for this provider; took {elapsed:.1f}s"
    assert 1 <= len(mock.requests(contains=m)) <= FAULTY_RETRY["max_attempts"]
