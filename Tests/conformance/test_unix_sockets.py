"""Split mode over Unix domain sockets: `unix:PATH` service addresses, as processes on one host would use them.

The edge reaches inference and governance through socket files; the official `openai` package talks to the edge
over HTTP and `grpcio` to inference over `unix:PATH`. A second inference on a path that is being served is refused,
and a restarted one takes over the socket file the stopped one left.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import grpc
import openai
import pytest

from conftest import sluice_binary
from helpers import free_port, wait_http

TOKEN = "internal-uds-token"
AUTH = (("authorization", f"Bearer {TOKEN}"),)


def start(mode: str, env: dict, log: Path, http_port: int | None = None) -> subprocess.Popen:
    return subprocess.Popen([str(sluice_binary()), "serve", mode],
                            env=dict(env, SLUICE_HTTP_PORT=str(http_port or free_port())),
                            stdout=log.open("a"), stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)


def wait_grpc(path: str, proc: subprocess.Popen) -> None:
    with grpc.insecure_channel(f"unix:{path}") as channel:
        grpc.channel_ready_future(channel).result(timeout=30)
    assert proc.poll() is None


def chat(deployment, text: str) -> str:
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{deployment.port}/v1", api_key=deployment.key, max_retries=0)
    completion = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": text}],
                                                timeout=10)
    return completion.choices[0].message.content


@pytest.fixture(scope="module")
def deployment(grpc_stubs):
    # Socket paths are limited to 107 bytes, so the sockets live in a short directory of their own.
    with tempfile.TemporaryDirectory(prefix="sluice-uds-", dir="/tmp") as raw_root:
        root = Path(raw_root)
        config = {"data_dir": str(root / "data"), "grpc": {"internal_token_env": "SLUICE_INTERNAL_TOKEN"},
                  "providers": [{"name": "echo", "kind": "echo"}]}
        (root / "sluice.json").write_text(json.dumps(config))
        sockets = SimpleNamespace(inference=str(root / "inference.sock"), governance=str(root / "governance.sock"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
        env.update(SLUICE_CONFIG=str(root / "sluice.json"), SLUICE_INTERNAL_TOKEN=TOKEN,
                   SLUICE_INFERENCE_ADDRESS=f"unix:{sockets.inference}",
                   SLUICE_GOVERNANCE_ADDRESS=f"unix://{sockets.governance}")
        created = subprocess.run([str(sluice_binary()), "keys", "create", "--tenant", "t", "--json"],
                                 env=env, capture_output=True, text=True, timeout=30)
        assert created.returncode == 0, created.stderr
        procs = {}
        try:
            for mode in ("governance", "inference"):
                procs[mode] = start(mode, env, root / f"{mode}.log")
                wait_grpc(getattr(sockets, mode), procs[mode])
            port = free_port()
            procs["edge"] = start("edge", env, root / "edge.log", http_port=port)
            wait_http(f"http://127.0.0.1:{port}/health/ready", list(procs.values()))
            yield SimpleNamespace(root=root, env=env, sockets=sockets, procs=procs, port=port,
                                  key=json.loads(created.stdout)["key"], stubs=grpc_stubs)
        finally:
            for proc in procs.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for name, proc in procs.items():
                assert proc.wait(timeout=20) == 0, (root / f"{name}.log").read_text()


def test_openai_sdk_chats_through_an_edge_whose_services_are_on_unix_sockets(deployment):
    assert chat(deployment, "over unix sockets") == "over unix sockets"
    client = openai.OpenAI(base_url=f"http://127.0.0.1:{deployment.port}/v1", api_key=deployment.key, max_retries=0)
    stream = client.chat.completions.create(model="echo", messages=[{"role": "user", "content": "one two three"}],
                                            stream=True, timeout=10)
    assert "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices) == "one two three"
    with pytest.raises(openai.AuthenticationError):
        client.with_options(api_key="sk-sluice-not-a-real-key").chat.completions.create(
            model="echo", messages=[{"role": "user", "content": "x"}], timeout=10)


def test_grpcio_calls_inference_on_its_unix_socket(deployment):
    pb = deployment.stubs.inference
    request = pb.ChatRequest(model="echo", messages=[pb.Message(role=pb.ROLE_USER,
                                                                content=[pb.ContentPart(text="hello uds")])])
    with grpc.insecure_channel(f"unix:{deployment.sockets.inference}") as channel:
        client = deployment.stubs.inference_grpc.InferenceServiceStub(channel)
        assert client.Chat(request, metadata=AUTH, timeout=10).choices[0].message.content[0].text == "hello uds"
        with pytest.raises(grpc.RpcError) as anonymous:
            client.Chat(request, timeout=10)
        assert anonymous.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_a_second_server_on_a_served_socket_is_refused(deployment):
    log = deployment.root / "second-inference.log"
    second = start("inference", deployment.env, log)
    try:
        code = second.wait(timeout=30)
    finally:
        if second.poll() is None:
            second.kill()
    assert code != 0
    assert "another process is serving on that socket" in log.read_text()
    assert chat(deployment, "still served") == "still served"


def test_a_restarted_service_takes_over_a_dead_ones_socket_file_and_the_edge_reconnects(deployment):
    crashed = deployment.procs["inference"]
    crashed.send_signal(signal.SIGKILL)  # a crash: nothing removes the socket file
    crashed.wait(timeout=20)
    assert Path(deployment.sockets.inference).exists()
    deployment.procs["inference"] = start("inference", deployment.env, deployment.root / "inference.log")
    wait_grpc(deployment.sockets.inference, deployment.procs["inference"])
    deadline = time.monotonic() + 15
    while True:  # the edge's connection was cut; it redials with backoff
        try:
            assert chat(deployment, "after the restart") == "after the restart"
            break
        except openai.APIStatusError as error:
            assert error.status_code in (502, 503), error
            assert time.monotonic() < deadline, "the edge never reached the restarted inference"
            time.sleep(0.2)


def test_a_service_stopped_gracefully_removes_its_socket_file(deployment):
    governance = deployment.procs["governance"]
    governance.send_signal(signal.SIGTERM)
    assert governance.wait(timeout=20) == 0
    assert not Path(deployment.sockets.governance).exists()
