"""Helpers for the vector tests: the internal token, a `sluice serve vector` process that can be killed and restarted
on the same data directory, and bounded waits on real conditions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import grpc

from conftest import sluice_binary
from helpers import free_port

TOKEN = "internal-test-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


def wait_collection_ready(stub: Any, pb: Any, name: str, proc: subprocess.Popen, timeout: float = 30,
                          log: Path | None = None) -> Any:
    """Polls GetCollectionInfo until the collection is READY; fails if the process exits or time runs out.

    UNAVAILABLE (the server is not listening yet) is retried; so is a LOADING answer. Any other status fails.
    """
    deadline = time.monotonic() + timeout
    last = "no answer"
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"sluice exited with {proc.returncode} while {name} was loading"
                                 + (f"\n{log.read_text()[-4000:]}" if log else ""))
        try:
            info = stub.GetCollectionInfo(pb.GetCollectionInfoRequest(name=name), metadata=AUTH, timeout=5).collection
            if info.state == pb.COLLECTION_STATE_READY:
                return info
            last = f"state {pb.CollectionState.Name(info.state)}"
        except grpc.RpcError as error:
            if error.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                raise
            last = f"{error.code().name}: {error.details()}"
        if time.monotonic() > deadline:
            raise AssertionError(f"collection {name} not READY within {timeout}s (last: {last})"
                                 + (f"\n{log.read_text()[-4000:]}" if log else ""))
        time.sleep(0.02)


class VectorProcess:
    """`sluice serve vector` on `<root>/data`, with fresh ports each start; a context manager that kills it on exit.

    `generation` numbers the log file (`<root>/sluice-<generation>.log`), so restarts keep every log.
    """

    def __init__(self, root: Path, stubs: Any, *, vector: dict | None = None, generation: int = 0):
        self.root, self.pb, self.generation = root, stubs.vector, generation
        self.data_dir = root / "data"
        config = {"data_dir": str(self.data_dir), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"}}
        if vector:
            config["vector"] = vector
        (root / "sluice.json").write_text(json.dumps(config))
        self.address = f"127.0.0.1:{free_port()}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        env.update(SLUICE_CONFIG=str(root / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN,
                   SLUICE_VECTOR_ADDRESS=self.address, SLUICE_HTTP_PORT=str(free_port()))
        self.log = root / f"sluice-{generation}.log"
        with open(self.log, "wb") as out:
            self.proc = subprocess.Popen([str(sluice_binary()), "serve", "vector"], env=env, stdout=out,
                                         stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.channel = grpc.insecure_channel(self.address)
        self.stub = stubs.vector_grpc.VectorServiceStub(self.channel)

    def __enter__(self) -> "VectorProcess":
        try:
            grpc.channel_ready_future(self.channel).result(timeout=30)
        except grpc.FutureTimeoutError:
            self.kill()
            raise AssertionError(f"sluice serve vector never listened on {self.address}\n{self.log.read_text()[-4000:]}")
        return self

    def __exit__(self, *exc: Any) -> None:
        self.channel.close()
        self.kill()

    # Lifecycle

    def kill(self) -> None:
        """SIGKILL, and wait for the process to be gone."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop_gracefully(self, timeout: float = 30) -> int:
        """SIGTERM, and the exit code."""
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    # Calls

    def create(self, name: str, dimension: int, metric: Any = None) -> Any:
        pb = self.pb
        return self.stub.CreateCollection(
            pb.CreateCollectionRequest(name=name, dimension=dimension, metric=metric or pb.METRIC_L2,
                                       if_not_exists=True), metadata=AUTH, timeout=10)

    def upsert(self, name: str, points: list, timeout: float = 10) -> Any:
        return self.stub.Upsert(self.pb.UpsertRequest(collection=name, points=points), metadata=AUTH, timeout=timeout)

    def delete_ids(self, name: str, ids: list[str], timeout: float = 10) -> Any:
        pb = self.pb
        return self.stub.Delete(pb.DeleteRequest(collection=name, ids=pb.IdList(ids=ids)), metadata=AUTH,
                                timeout=timeout)

    def get(self, name: str, ids: list[str], *, with_payload: bool = False) -> list:
        """Every point found among `ids`, asked for 1,000 at a time, with vectors."""
        found = []
        for start in range(0, len(ids), 1000):
            response = self.stub.Get(self.pb.GetRequest(collection=name, ids=ids[start:start + 1000],
                                                        with_vectors=True, with_payload=with_payload),
                                     metadata=AUTH, timeout=10)
            found.extend(response.points)
        return found

    def info(self, name: str) -> Any:
        return self.stub.GetCollectionInfo(self.pb.GetCollectionInfoRequest(name=name), metadata=AUTH,
                                           timeout=10).collection
