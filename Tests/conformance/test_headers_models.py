"""Response headers and GET /v1/models."""

from __future__ import annotations

import uuid

import httpx
import openai
import pytest

from helpers import ALL_PUBLIC_MODELS, MODELS, marker, user

# public model -> expected X-Sluice-Provider
PROVIDER = {"echo": "echo", "openai-fixed": "mock-openai", "anthropic-fixed": "mock-anthropic"}


def check_sluice_headers(headers: httpx.Headers, model: str) -> None:
    rid = headers.get("x-request-id")
    assert rid, "X-Request-Id missing"
    assert headers.get("x-sluice-provider") == PROVIDER[model]
    upstream_models = {m for _, m in MODELS.get(model, [("echo", "echo")])}
    assert headers.get("x-sluice-model") in ({model} | upstream_models), \
        f"X-Sluice-Model {headers.get('x-sluice-model')!r} is neither the public nor the upstream model name"
    overhead = headers.get("x-sluice-overhead-ms")
    assert overhead is not None, "X-Sluice-Overhead-Ms missing"
    assert 0 <= float(overhead) < 60000


@pytest.mark.parametrize("stream", [False, True], ids=["non-stream", "stream"])
@pytest.mark.parametrize("model", list(PROVIDER))
def test_sluice_headers(client, model, stream):
    raw = client.chat.completions.with_raw_response.create(model=model, messages=user(marker()), stream=stream)
    check_sluice_headers(raw.headers, model)
    result = raw.parse()
    if stream:
        list(result)


def test_request_id_is_echoed(client, http):
    rid = f"conformance-{uuid.uuid4()}"
    raw = client.chat.completions.with_raw_response.create(model="echo", messages=user("hi"),
                                                           extra_headers={"X-Request-Id": rid})
    assert raw.headers.get("x-request-id") == rid
    r = http.post("/v1/chat/completions", json={"model": "echo", "messages": user("hi"), "stream": True},
                  headers={"X-Request-Id": rid})
    assert r.headers.get("x-request-id") == rid
    # also on errors
    r = http.post("/v1/chat/completions", json={"model": "no-such-model", "messages": user("hi")},
                  headers={"X-Request-Id": rid})
    assert r.status_code == 404 and r.headers.get("x-request-id") == rid


def test_request_ids_are_unique(client):
    ids = {client.chat.completions.with_raw_response.create(model="echo", messages=user("hi")).headers
           .get("x-request-id") for _ in range(5)}
    assert len(ids) == 5 and None not in ids


def test_models_lists_all_for_unrestricted_key(client):
    models = list(client.models.list())
    ids = [m.id for m in models]
    assert len(ids) == len(set(ids)), f"duplicates: {ids}"
    missing = set(ALL_PUBLIC_MODELS) - set(ids)
    assert not missing, f"configured models missing from /v1/models: {sorted(missing)}"
    for m in models:
        assert m.object == "model" and isinstance(m.owned_by, str)


def test_models_lists_only_allowed_for_restricted_key(restricted_client):
    ids = [m.id for m in restricted_client.models.list()]
    assert ids == ["echo"], f"a key restricted to echo must only see echo, saw {ids}"


def test_models_raw_shape(http):
    r = http.get("/v1/models")
    assert r.status_code == 200
    body = r.json()
    assert body["object"] == "list" and isinstance(body["data"], list)
    assert r.headers.get("x-request-id")


def test_models_requires_a_valid_key(sluice):
    with pytest.raises(openai.AuthenticationError):
        list(sluice.client("sk-sluice-wrong").models.list())
