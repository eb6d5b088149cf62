"""The vector service as its callers use it: Python `grpcio` against `sluice serve vector` and against `sluice serve`.

Each mode gets its own process and data directory (module scope); each test uses collections of its own. Calls carry
the internal token the configuration demands.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import grpc
import pytest

from conftest import sluice_binary
from helpers import free_port, wait_http
from vector_support import AUTH, TOKEN

MODES = ["vector", "all-in-one"]


@dataclass
class VectorServer:
    mode: str
    address: str
    proc: subprocess.Popen
    log: Path
    channel: grpc.Channel
    stub: Any
    pb: Any

    def alive(self) -> bool:
        return self.proc.poll() is None


@pytest.fixture(scope="module", params=MODES)
def server(request: pytest.FixtureRequest, grpc_stubs, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[VectorServer]:
    mode = request.param
    root = tmp_path_factory.mktemp(f"vector-{mode}")
    config = {"data_dir": str(root / "data"), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"}}
    (root / "sluice.json").write_text(json.dumps(config))
    address, http_port = f"127.0.0.1:{free_port()}", free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    env.update(SLUICE_CONFIG=str(root / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN, SLUICE_VECTOR_ADDRESS=address,
               SLUICE_HTTP_PORT=str(http_port), SLUICE_INFERENCE_ADDRESS=f"127.0.0.1:{free_port()}",
               SLUICE_GOVERNANCE_ADDRESS=f"127.0.0.1:{free_port()}")
    args = ["serve", "vector"] if mode == "vector" else ["serve"]
    log = root / "sluice.log"
    proc = subprocess.Popen([str(sluice_binary()), *args], env=env, stdout=log.open("w"), stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    channel = grpc.insecure_channel(address)
    try:
        wait_http(f"http://127.0.0.1:{http_port}/health/ready", [proc])
        grpc.channel_ready_future(channel).result(timeout=30)
        yield VectorServer(mode, address, proc, log, channel, grpc_stubs.vector_grpc.VectorServiceStub(channel),
                           grpc_stubs.vector)
    finally:
        channel.close()
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        code = proc.wait(timeout=20)
        assert code == 0, f"sluice {' '.join(args)} exited {code} on SIGTERM:\n{log.read_text()[-4000:]}"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def vector_of(i: int, dimension: int = 8) -> list[float]:
    """Exactly representable floats, so an L2 collection returns them bit for bit."""
    return [float((i * 7 + j * 3) % 17) / 4 for j in range(dimension)]


def make_point(pb, i: int, dimension: int = 8, **payload: Any):
    values = {}
    for key, value in payload.items():
        if isinstance(value, bool):
            values[key] = pb.PayloadValue(bool_value=value)
        elif isinstance(value, int):
            values[key] = pb.PayloadValue(int_value=value)
        elif isinstance(value, float):
            values[key] = pb.PayloadValue(double_value=value)
        elif isinstance(value, list):
            values[key] = pb.PayloadValue(string_list=pb.StringList(values=value))
        else:
            values[key] = pb.PayloadValue(string_value=value)
    return pb.Point(id=f"p{i}", vector=vector_of(i, dimension), payload=values)


def create(server: VectorServer, name: str, dimension: int = 8, metric: Any = None, **extra: Any):
    pb = server.pb
    return server.stub.CreateCollection(
        pb.CreateCollectionRequest(name=name, dimension=dimension, metric=metric or pb.METRIC_L2, **extra),
        metadata=AUTH, timeout=10)


def info(server: VectorServer, name: str):
    return server.stub.GetCollectionInfo(server.pb.GetCollectionInfoRequest(name=name), metadata=AUTH,
                                         timeout=10).collection


# ------------------------------------------------------------------------------------------------------------------
# a. Every RPC works
# ------------------------------------------------------------------------------------------------------------------

def test_create_upsert_query_get_delete_info_list(server: VectorServer):
    pb, stub = server.pb, server.stub
    name = unique("docs")

    # Create, then create again with if_not_exists
    created = create(server, name, hnsw=pb.HnswParams(m=12, ef_construction=120, ef_search=40),
                     embedding_version_tag="e5-v1")
    assert created.created and created.collection.state == pb.COLLECTION_STATE_READY
    again = create(server, name, hnsw=pb.HnswParams(m=12), embedding_version_tag="e5-v1", if_not_exists=True)
    assert not again.created and again.collection.name == name

    # Upsert 40 points with payloads of every kind
    points = [make_point(pb, i, lang="en" if i % 2 == 0 else "de", year=1990 + i, score=i / 4, draft=i % 5 == 0,
                         tags=["even" if i % 2 == 0 else "odd", f"t{i % 3}"]) for i in range(40)]
    upserted = stub.Upsert(pb.UpsertRequest(collection=name, points=points, embedding_version_tag="e5-v1"),
                           metadata=AUTH, timeout=10)
    assert upserted.upserted == 40 and upserted.sequence == 1

    # Query with a filter, payloads and vectors: English, from 2010 on, not drafts
    flt = pb.Filter(
        must=[pb.Condition(match=pb.FieldMatch(key="lang", value=pb.PayloadValue(string_value="en"))),
              pb.Condition(range=pb.Range(key="year", gte=2010))],
        must_not=[pb.Condition(match=pb.FieldMatch(key="draft", value=pb.PayloadValue(bool_value=True)))])
    expected = {f"p{i}" for i in range(40) if i % 2 == 0 and 1990 + i >= 2010 and i % 5 != 0}
    result = stub.Query(pb.QueryRequest(collection=name, vector=vector_of(24), top_k=40, filter=flt,
                                        with_payload=True, with_vectors=True), metadata=AUTH, timeout=10)
    assert {p.id for p in result.points} == expected
    assert result.points[0].id == "p24" and result.points[0].score == 0.0, "the exact vector is nearest, at L2 0"
    assert [p.score for p in result.points] == sorted(p.score for p in result.points), "best (lowest L2) first"
    by_id = {p.id: p for p in points}
    for hit in result.points:
        assert dict(hit.payload) == dict(by_id[hit.id].payload)
        assert list(hit.vector) == list(by_id[hit.id].vector)
    bare = stub.Query(pb.QueryRequest(collection=name, vector=vector_of(3), top_k=5), metadata=AUTH, timeout=10)
    assert len(bare.points) == 5 and not bare.points[0].payload and not bare.points[0].vector
    any_of = pb.Filter(must=[pb.Condition(any_of=pb.AnyOf(key="tags", values=[pb.PayloadValue(string_value="t1")]))])
    tagged = stub.Query(pb.QueryRequest(collection=name, vector=vector_of(0), top_k=40, filter=any_of),
                        metadata=AUTH, timeout=10)
    assert {p.id for p in tagged.points} == {f"p{i}" for i in range(40) if i % 3 == 1}

    # Get, in the order asked, missing ids left out
    got = stub.Get(pb.GetRequest(collection=name, ids=["p7", "nope", "p2"], with_payload=True, with_vectors=True),
                   metadata=AUTH, timeout=10)
    assert [p.id for p in got.points] == ["p7", "p2"]
    assert got.points[0] == by_id["p7"] and got.points[1] == by_id["p2"]

    # Delete by id, then by filter: the odd points still there (p1 is gone already)
    deleted = stub.Delete(pb.DeleteRequest(collection=name, ids=pb.IdList(ids=["p0", "p1", "nope"])),
                          metadata=AUTH, timeout=10)
    assert deleted.deleted == 2 and deleted.sequence == 2
    odd = pb.Filter(must=[pb.Condition(match=pb.FieldMatch(key="tags", value=pb.PayloadValue(string_value="odd")))])
    deleted = stub.Delete(pb.DeleteRequest(collection=name, filter=odd), metadata=AUTH, timeout=10)
    assert deleted.deleted == 19 and deleted.sequence == 3
    left = stub.Get(pb.GetRequest(collection=name, ids=[f"p{i}" for i in range(40)]), metadata=AUTH, timeout=10)
    assert [p.id for p in left.points] == [f"p{i}" for i in range(2, 40, 2)]

    # Info: settings and statistics
    described = info(server, name)
    assert described.name == name and described.dimension == 8 and described.metric == pb.METRIC_L2
    assert (described.hnsw.m, described.hnsw.ef_construction, described.hnsw.ef_search) == (12, 120, 40)
    assert described.embedding_version_tag == "e5-v1"
    assert described.count == 19 and described.deleted_count == 21
    assert math.isclose(described.deleted_ratio, 21 / 40)
    assert described.memory_bytes > 0
    assert described.state == pb.COLLECTION_STATE_READY
    assert described.created_at.seconds > 0
    assert described.persistence.durable_sequence == 3 and described.persistence.wal_entries == 3
    assert described.persistence.wal_bytes > 0 and not described.persistence.HasField("snapshot_time")
    assert described.query_stats.queries == 3 and described.query_stats.latency_p50_ms > 0
    assert not described.query_stats.HasField("sampled_recall"), "recall is not measured yet"

    # List, with and without a prefix
    other = unique("other")
    create(server, other, dimension=3, metric=pb.METRIC_DOT)
    listed = stub.ListCollections(pb.ListCollectionsRequest(), metadata=AUTH, timeout=10).collections
    names = [c.name for c in listed]
    assert name in names and other in names and names == sorted(names)
    only = stub.ListCollections(pb.ListCollectionsRequest(name_prefix=name), metadata=AUTH, timeout=10).collections
    assert [c.name for c in only] == [name] and only[0].count == 19

    # Delete the collection, once
    assert stub.DeleteCollection(pb.DeleteCollectionRequest(name=other), metadata=AUTH, timeout=10).deleted
    assert not stub.DeleteCollection(pb.DeleteCollectionRequest(name=other, if_exists=True), metadata=AUTH,
                                     timeout=10).deleted
    assert other not in [c.name for c in stub.ListCollections(pb.ListCollectionsRequest(), metadata=AUTH,
                                                              timeout=10).collections]


def test_cosine_scores_are_similarities(server: VectorServer):
    pb, stub = server.pb, server.stub
    name = unique("cos")
    create(server, name, dimension=2, metric=pb.METRIC_COSINE)
    stub.Upsert(pb.UpsertRequest(collection=name, points=[pb.Point(id="x", vector=[3, 0]), pb.Point(id="y", vector=[0, 2])]),
                metadata=AUTH, timeout=10)
    result = stub.Query(pb.QueryRequest(collection=name, vector=[1, 0], top_k=2, with_vectors=True), metadata=AUTH,
                        timeout=10)
    assert [p.id for p in result.points] == ["x", "y"]
    assert math.isclose(result.points[0].score, 1.0, abs_tol=1e-6) and math.isclose(result.points[1].score, 0.0,
                                                                                      abs_tol=1e-6)
    assert list(result.points[0].vector) == [1.0, 0.0], "cosine collections store vectors normalized"


# ------------------------------------------------------------------------------------------------------------------
# b. Bad input gets the exact status, and the server stays up
# ------------------------------------------------------------------------------------------------------------------

def bad_requests(pb, name: str) -> list[tuple[str, str, Any, grpc.StatusCode]]:
    """(what, RPC, request, expected status) for each kind of bad input the contract names."""
    good = [pb.Point(id="a", vector=[1.0, 2.0, 3.0])]
    def points(*vectors: list[float]) -> list:
        return [pb.Point(id=f"b{i}", vector=v) for i, v in enumerate(vectors)]
    no_bounds = pb.Filter(must=[pb.Condition(range=pb.Range(key="year"))])
    list_match = pb.Filter(must=[pb.Condition(match=pb.FieldMatch(
        key="tags", value=pb.PayloadValue(string_list=pb.StringList(values=["a", "b"]))))])
    empty_condition = pb.Filter(must=[pb.Condition()])
    INVALID = grpc.StatusCode.INVALID_ARGUMENT
    return [
        ("dimension mismatch", "Upsert", pb.UpsertRequest(collection=name, points=points([1.0, 2.0])), INVALID),
        ("query dimension mismatch", "Query", pb.QueryRequest(collection=name, vector=[1.0] * 4, top_k=1), INVALID),
        ("NaN component", "Upsert", pb.UpsertRequest(collection=name, points=points([1.0, math.nan, 0.0])), INVALID),
        ("infinite component", "Upsert", pb.UpsertRequest(collection=name, points=points([math.inf, 0.0, 0.0])),
         INVALID),
        ("negative infinity in a query", "Query",
         pb.QueryRequest(collection=name, vector=[0.0, -math.inf, 0.0], top_k=1), INVALID),
        ("unknown collection (upsert)", "Upsert", pb.UpsertRequest(collection="no-such-collection", points=good),
         grpc.StatusCode.NOT_FOUND),
        ("unknown collection (query)", "Query",
         pb.QueryRequest(collection="no-such-collection", vector=[1.0, 2.0, 3.0], top_k=1), grpc.StatusCode.NOT_FOUND),
        ("unknown collection (info)", "GetCollectionInfo", pb.GetCollectionInfoRequest(name="no-such-collection"),
         grpc.StatusCode.NOT_FOUND),
        ("unknown collection (delete)", "DeleteCollection", pb.DeleteCollectionRequest(name="no-such-collection"),
         grpc.StatusCode.NOT_FOUND),
        ("duplicate ids in one batch", "Upsert",
         pb.UpsertRequest(collection=name, points=[pb.Point(id="d", vector=[1.0, 2.0, 3.0])] * 2), INVALID),
        ("oversized batch (1001 points)", "Upsert",
         pb.UpsertRequest(collection=name, points=[pb.Point(id=f"o{i}", vector=[1.0, 2.0, 3.0]) for i in range(1001)]),
         INVALID),
        ("oversized get (1001 ids)", "Get", pb.GetRequest(collection=name, ids=[f"o{i}" for i in range(1001)]), INVALID),
        ("range with no bounds", "Query",
         pb.QueryRequest(collection=name, vector=[1.0, 2.0, 3.0], top_k=1, filter=no_bounds), INVALID),
        ("string list as match value", "Query",
         pb.QueryRequest(collection=name, vector=[1.0, 2.0, 3.0], top_k=1, filter=list_match), INVALID),
        ("condition with nothing set", "Query",
         pb.QueryRequest(collection=name, vector=[1.0, 2.0, 3.0], top_k=1, filter=empty_condition), INVALID),
        ("string list as delete match value", "Delete", pb.DeleteRequest(collection=name, filter=list_match), INVALID),
        ("delete with no selector", "Delete", pb.DeleteRequest(collection=name), INVALID),
        ("METRIC_UNSPECIFIED", "CreateCollection",
         pb.CreateCollectionRequest(name="no-metric", dimension=3, metric=pb.METRIC_UNSPECIFIED), INVALID),
        ("dimension 0", "CreateCollection", pb.CreateCollectionRequest(name="zero", dimension=0, metric=pb.METRIC_L2),
         INVALID),
        ("bad collection name", "CreateCollection",
         pb.CreateCollectionRequest(name="../escape", dimension=3, metric=pb.METRIC_L2), INVALID),
        ("top_k 0", "Query", pb.QueryRequest(collection=name, vector=[1.0, 2.0, 3.0], top_k=0), INVALID),
        ("top_k 1001", "Query", pb.QueryRequest(collection=name, vector=[1.0, 2.0, 3.0], top_k=1001), INVALID),
        ("existing name, other settings", "CreateCollection",
         pb.CreateCollectionRequest(name=name, dimension=4, metric=pb.METRIC_L2, if_not_exists=True),
         grpc.StatusCode.ALREADY_EXISTS),
        ("embedding tag mismatch", "Upsert",
         pb.UpsertRequest(collection=name, points=good, embedding_version_tag="other-model"),
         grpc.StatusCode.FAILED_PRECONDITION),
    ]


def test_bad_input_gets_the_exact_status_and_the_server_stays_up(server: VectorServer):
    pb, stub = server.pb, server.stub
    name = unique("strict")
    create(server, name, dimension=3, embedding_version_tag="e5-v1")
    stub.Upsert(pb.UpsertRequest(collection=name, points=[pb.Point(id="keep", vector=[1.0, 1.0, 1.0])]),
                metadata=AUTH, timeout=10)
    failures = []
    for what, rpc, request, expected in bad_requests(pb, name):
        try:
            getattr(stub, rpc)(request, metadata=AUTH, timeout=10)
            failures.append(f"{what}: succeeded, expected {expected.name}")
        except grpc.RpcError as error:
            if error.code() != expected:
                failures.append(f"{what}: {error.code().name} ({error.details()}), expected {expected.name}")
            elif not error.details():
                failures.append(f"{what}: {expected.name} without a message")
        # The server is still up and the collection intact after each
        assert server.alive(), f"the server exited after: {what}\n{server.log.read_text()[-4000:]}"
        assert info(server, name).count == 1, f"after {what}"
    assert not failures, "\n".join(failures)


def test_errors_carry_the_domain_code_and_a_clear_message(server: VectorServer):
    pb, stub = server.pb, server.stub
    with pytest.raises(grpc.RpcError) as unknown:
        stub.Get(pb.GetRequest(collection="no-such-collection", ids=["a"]), metadata=AUTH, timeout=10)
    assert unknown.value.code() == grpc.StatusCode.NOT_FOUND
    assert ("sluice-error-code", "not_found") in unknown.value.trailing_metadata()
    assert "no-such-collection" in unknown.value.details()
    name = unique("msg")
    create(server, name, dimension=3)
    with pytest.raises(grpc.RpcError) as mismatch:
        stub.Upsert(pb.UpsertRequest(collection=name, points=[pb.Point(id="a", vector=[1.0])]), metadata=AUTH,
                    timeout=10)
    assert mismatch.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "dimension" in mismatch.value.details()


def test_calls_without_the_internal_token_are_refused(server: VectorServer):
    pb = server.pb
    with pytest.raises(grpc.RpcError) as anonymous:
        server.stub.ListCollections(pb.ListCollectionsRequest(), timeout=10)
    assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED

