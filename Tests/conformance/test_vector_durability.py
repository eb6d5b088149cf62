"""Durability of the vector service through the real binary: SIGKILL at random moments, torn WAL tails, restarts.

Every write the server acknowledged must be there after any restart, with its exact vector (L2 collections store
vectors as sent), and every acknowledged delete must stay deleted. Writes in flight when the process died may land
or not; once a restart shows which, that outcome must hold from then on.

Environment: SLUICE_VECTOR_SEED fixes the random schedule (printed on failure); SLUICE_VECTOR_KILL_TRIALS (25).
"""

from __future__ import annotations

import os
import random
import re
import signal
import struct
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest

from vector_support import AUTH, VectorProcess, wait_collection_ready

NAME = "durable"
DIMENSION = 32
BATCH = 50
TRIALS = int(os.environ.get("SLUICE_VECTOR_KILL_TRIALS", "25"))
# Small, so snapshots (and WAL resets) happen during the trials and restarts replay both a snapshot and a WAL.
SNAPSHOT_WAL_BYTES = 65536


def exact_vector(rng: random.Random) -> list[float]:
    """Components that float32 holds exactly, so what comes back can be compared with ==."""
    return [rng.randrange(-4096, 4096) / 256 for _ in range(DIMENSION)]


@dataclass
class Ledger:
    """What the client knows: acknowledged points, acknowledged deletes, and writes whose outcome is unknown."""
    present: dict[str, list[float]] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)
    # Writes in flight when the process died: id -> the vector the point has if it is there.
    uncertain_upserts: dict[str, list[float]] = field(default_factory=dict)
    uncertain_deletes: dict[str, list[float]] = field(default_factory=dict)
    landed: int = 0
    lost: int = 0
    batches: dict[int, list[str]] = field(default_factory=dict)
    next_batch: int = 0

    def live_batches(self) -> list[int]:
        return [b for b, ids in self.batches.items() if any(i in self.present for i in ids)]


def verify(proc: VectorProcess, ledger: Ledger, where: str) -> None:
    """Checks the server against the ledger, then settles the unknown outcomes as observed."""
    unknown = {**ledger.uncertain_upserts, **ledger.uncertain_deletes}
    asked = list(ledger.present) + list(ledger.absent) + list(unknown)
    found = {p.id: list(p.vector) for p in proc.get(NAME, asked)}

    missing = [i for i in ledger.present if i not in found]
    assert not missing, f"{where}: {len(missing)} acknowledged points missing, e.g. {missing[:5]}"
    wrong = [i for i, v in ledger.present.items() if found[i] != v]
    assert not wrong, f"{where}: {len(wrong)} points came back with other vectors, e.g. {wrong[:5]}"
    back = sorted(ledger.absent & found.keys())
    assert not back, f"{where}: {len(back)} deleted (or never written) points are back, e.g. {back[:5]}"
    for point_id, vector in unknown.items():
        if point_id in found:
            assert found[point_id] == vector, f"{where}: in-flight point {point_id} came back with another vector"

    # Settle: a restart read the outcome from disk, so it is final.
    for point_id, vector in unknown.items():
        if point_id in found:
            ledger.present[point_id] = vector
            ledger.absent.discard(point_id)
        else:
            ledger.present.pop(point_id, None)
            ledger.absent.add(point_id)
    if ledger.uncertain_upserts:
        ledger.landed += any(i in found for i in ledger.uncertain_upserts)
        ledger.lost += not any(i in found for i in ledger.uncertain_upserts)
    ledger.uncertain_upserts.clear()
    ledger.uncertain_deletes.clear()

    info = proc.info(NAME)
    assert info.count == len(ledger.present), f"{where}: info.count {info.count} != {len(ledger.present)} live points"


def write_until_killed(proc: VectorProcess, ledger: Ledger, rng: random.Random, trial: int,
                       killed: threading.Event) -> int:
    """Upserts and deletes until the process dies; records every acknowledged write. Returns the writes acknowledged."""
    acknowledged = 0
    while True:
        choice = rng.random()
        live = list(ledger.present)
        try:
            if choice < 0.15 and live:
                doomed = rng.sample(live, min(len(live), rng.randint(1, 20)))
                pending = {i: ledger.present[i] for i in doomed}
                try:
                    response = proc.delete_ids(NAME, doomed)
                except grpc.RpcError:
                    ledger.uncertain_deletes.update(pending)
                    for i in doomed:
                        ledger.present.pop(i, None)
                    raise
                assert response.deleted == len(doomed), f"trial {trial}: delete answered {response.deleted}"
                for i in doomed:
                    ledger.present.pop(i)
                    ledger.absent.add(i)
            elif choice < 0.2 and ledger.live_batches():
                batch = rng.choice(ledger.live_batches())
                doomed = [i for i in ledger.batches[batch] if i in ledger.present]
                pending = {i: ledger.present[i] for i in doomed}
                pb = proc.pb
                flt = pb.Filter(must=[pb.Condition(match=pb.FieldMatch(key="batch",
                                                                       value=pb.PayloadValue(int_value=batch)))])
                try:
                    response = proc.stub.Delete(pb.DeleteRequest(collection=NAME, filter=flt),
                                                metadata=AUTH, timeout=10)
                except grpc.RpcError:
                    ledger.uncertain_deletes.update(pending)
                    for i in doomed:
                        ledger.present.pop(i, None)
                    raise
                assert response.deleted == len(doomed), f"trial {trial}: filter delete answered {response.deleted}"
                for i in doomed:
                    ledger.present.pop(i)
                    ledger.absent.add(i)
            else:
                batch = ledger.next_batch
                ledger.next_batch += 1
                pb = proc.pb
                vectors = {f"t{trial}-b{batch}-{k}": exact_vector(rng) for k in range(BATCH)}
                points = [pb.Point(id=i, vector=v, payload={"batch": pb.PayloadValue(int_value=batch)})
                          for i, v in vectors.items()]
                try:
                    proc.upsert(NAME, points)
                except grpc.RpcError:
                    ledger.uncertain_upserts.update(vectors)
                    raise
                ledger.present.update(vectors)
                ledger.batches[batch] = list(vectors)
            acknowledged += 1
        except grpc.RpcError as error:
            if killed.is_set() or proc.proc.poll() is not None:
                return acknowledged
            raise AssertionError(f"trial {trial}: a write failed while the server was up: {error.code().name} "
                                 f"{error.details()}\n{proc.log.read_text()[-4000:]}")


def test_acknowledged_writes_survive_sigkill(grpc_stubs, tmp_path: Path):
    seed = int(os.environ.get("SLUICE_VECTOR_SEED") or random.SystemRandom().randrange(1 << 32))
    rng = random.Random(seed)
    ledger = Ledger()
    started = time.monotonic()
    saw_wal_replay = saw_snapshot = False
    acknowledged = 0
    try:
        for trial in range(TRIALS + 1):
            with VectorProcess(tmp_path, grpc_stubs, vector={"snapshot_wal_bytes": SNAPSHOT_WAL_BYTES},
                               generation=trial) as proc:
                if trial == 0:
                    proc.create(NAME, DIMENSION)
                # The index always loads: the collection turns READY, whatever moment the last process died at.
                info = wait_collection_ready(proc.stub, proc.pb, NAME, proc.proc, log=proc.log)
                saw_wal_replay |= info.persistence.wal_entries > 0
                saw_snapshot |= info.persistence.snapshot_sequence > 0
                verify(proc, ledger, f"after restart {trial}")
                if trial == TRIALS:
                    break
                # Kill at a random moment of the writes (possibly before the first, or during a snapshot).
                killed = threading.Event()
                pid = proc.proc.pid

                def kill() -> None:
                    killed.set()
                    os.kill(pid, signal.SIGKILL)

                timer = threading.Timer(rng.uniform(0.0, 0.5), kill)
                timer.start()
                try:
                    acknowledged += write_until_killed(proc, ledger, rng, trial, killed)
                finally:
                    timer.cancel()
                    timer.join()
                proc.proc.wait(timeout=10)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n(replay with SLUICE_VECTOR_SEED={seed})") from None
    elapsed = time.monotonic() - started
    print(f"\n[vector durability] seed {seed}: {TRIALS} kills, {acknowledged} acknowledged writes, "
          f"{len(ledger.present)} live points; upserts in flight at the kill: {ledger.landed} landed, "
          f"{ledger.lost} lost; {elapsed:.1f} s")
    assert acknowledged > TRIALS, f"too few writes to mean anything (seed {seed})"
    assert saw_snapshot and saw_wal_replay, \
        f"restarts should load a snapshot and replay a WAL (snapshot {saw_snapshot}, WAL {saw_wal_replay}; seed {seed})"


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_a_torn_wal_tail_is_cut_logged_and_the_data_kept(grpc_stubs, tmp_path: Path, stop: str):
    rng = random.Random(7)
    pb = grpc_stubs.vector
    vectors = {f"p{i}": exact_vector(rng) for i in range(120)}
    ids = list(vectors)
    with VectorProcess(tmp_path, grpc_stubs, generation=0) as first:
        first.create("torn", DIMENSION)
        for start in range(0, len(ids), 40):
            first.upsert("torn", [pb.Point(id=i, vector=vectors[i]) for i in ids[start:start + 40]])
        if stop == "SIGKILL":
            first.kill()
        else:
            assert first.stop_gracefully() == 0
    wal = tmp_path / "data" / "vector" / "collections" / "torn" / "wal.log"
    whole = wal.stat().st_size
    assert (whole > 16) == (stop == "SIGKILL"), "SIGKILL leaves the records in the WAL; SIGTERM snapshots them"

    # Given a partial frame at the end: a header promising 4 KiB, and 100 bytes of garbage
    garbage = struct.pack("<II", 4096, 0xDEADBEEF) + bytes(rng.randrange(256) for _ in range(100))
    with open(wal, "ab") as out:
        out.write(garbage)

    # When the server restarts on it
    with VectorProcess(tmp_path, grpc_stubs, generation=1) as second:
        wait_collection_ready(second.stub, pb, "torn", second.proc, log=second.log)

        # Then every point is there, the tail is cut, and the cut is logged
        found = {p.id: list(p.vector) for p in second.get("torn", ids)}
        assert found == vectors
        assert wal.stat().st_size == whole
        torn = [line for line in second.log.read_text().splitlines() if "torn tail" in line]
        assert torn, f"no 'torn tail' warning in the log:\n{second.log.read_text()[-4000:]}"
        assert re.search(rf"\bbytes_cut={len(garbage)}\b", torn[0]), torn[0]
        assert "warning" in torn[0]

        # And the cut WAL keeps working: more writes, a kill, and everything is still there
        more = {f"q{i}": exact_vector(rng) for i in range(40)}
        second.upsert("torn", [pb.Point(id=i, vector=v) for i, v in more.items()])
        second.kill()
    with VectorProcess(tmp_path, grpc_stubs, generation=2) as third:
        wait_collection_ready(third.stub, pb, "torn", third.proc, log=third.log)
        found = {p.id: list(p.vector) for p in third.get("torn", ids + list(more))}
        assert found == {**vectors, **more}
        assert "torn tail" not in third.log.read_text()


def test_a_graceful_stop_snapshots_and_the_next_start_loads_it(grpc_stubs, tmp_path: Path):
    rng = random.Random(3)
    pb = grpc_stubs.vector
    vectors = {f"k{i}": exact_vector(rng) for i in range(30)}
    with VectorProcess(tmp_path, grpc_stubs, generation=0) as first:
        first.create("keep", DIMENSION)
        first.upsert("keep", [pb.Point(id=i, vector=v) for i, v in vectors.items()])
        assert first.info("keep").persistence.wal_entries == 1
        assert first.stop_gracefully() == 0
    with VectorProcess(tmp_path, grpc_stubs, generation=1) as second:
        info = wait_collection_ready(second.stub, pb, "keep", second.proc, log=second.log)
        assert info.count == 30
        assert info.persistence.wal_entries == 0 and info.persistence.HasField("snapshot_time"), \
            "a graceful stop leaves a final snapshot and an empty WAL"
        assert info.persistence.snapshot_sequence == 1 and info.persistence.durable_sequence == 1
        assert {p.id: list(p.vector) for p in second.get("keep", list(vectors))} == vectors


def test_an_old_wal_is_snapshotted_while_serving(grpc_stubs, tmp_path: Path):
    """`vector.snapshot_interval_seconds`: writes do not live in the WAL alone for long, even when it stays small."""
    rng = random.Random(5)
    pb = grpc_stubs.vector
    with VectorProcess(tmp_path, grpc_stubs, vector={"snapshot_interval_seconds": 1}) as proc:
        proc.create("aging", DIMENSION)
        proc.upsert("aging", [pb.Point(id=f"a{i}", vector=exact_vector(rng)) for i in range(10)])
        deadline = time.monotonic() + 15
        while (info := proc.info("aging")).persistence.snapshot_sequence < 1:
            assert time.monotonic() < deadline, f"no snapshot within 15 s: {info.persistence}"
            time.sleep(0.05)
        assert info.persistence.wal_entries == 0 and info.persistence.HasField("snapshot_time")


def test_a_collection_whose_snapshot_is_corrupt_reports_failed_not_loading(grpc_stubs, tmp_path: Path):
    """GetCollectionInfo tells a collection that will never load (COLLECTION_STATE_FAILED) from one still loading."""
    rng = random.Random(11)
    pb = grpc_stubs.vector
    with VectorProcess(tmp_path, grpc_stubs, generation=0) as first:
        first.create("broken", DIMENSION)
        first.upsert("broken", [pb.Point(id=f"b{i}", vector=exact_vector(rng)) for i in range(10)])
        assert first.stop_gracefully() == 0

    # Given a snapshot whose body was overwritten (its checksum no longer matches)
    snapshot = tmp_path / "data" / "vector" / "collections" / "broken" / "snapshot.bin"
    data = bytearray(snapshot.read_bytes())
    for offset in range(len(data) // 2, len(data)):
        data[offset] ^= 0xFF
    snapshot.write_bytes(bytes(data))

    # When the server restarts on it
    with VectorProcess(tmp_path, grpc_stubs, generation=1) as second:
        deadline = time.monotonic() + 30
        while (info := second.info("broken")).state == pb.COLLECTION_STATE_LOADING:
            assert time.monotonic() < deadline, "the collection never left LOADING"
            time.sleep(0.05)

        # Then its info says FAILED, and its requests are UNAVAILABLE naming the failure
        assert info.state == pb.COLLECTION_STATE_FAILED
        with pytest.raises(grpc.RpcError) as refused:
            second.get("broken", ["b0"])
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
        assert "failed to load" in refused.value.details()
