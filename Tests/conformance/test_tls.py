"""Split mode over TLS: the edge reaches inference and governance through gRPC with certificates it verifies.

A throwaway CA and a server certificate for 127.0.0.1 are made with openssl for each run.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from conftest import sluice_binary
from helpers import free_port, wait_http


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@pytest.fixture
def certificates(tmp_path: Path) -> Path:
    pki = tmp_path / "pki"
    pki.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=Sluice test CA", cwd=pki)
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr",
            "-subj", "/CN=127.0.0.1", cwd=pki)
    (pki / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-out", "server.pem", "-days", "2", "-extfile", "san.ext", cwd=pki)
    return pki




def test_split_mode_over_tls(tmp_path: Path, certificates: Path):
    config = {
        "data_dir": str(tmp_path / "data"),
        "grpc": {"tls": {"cert_path": str(certificates / "server.pem"), "key_path": str(certificates / "server.key"),
                         "ca_path": str(certificates / "ca.pem")}},
    }
    (tmp_path / "sluice.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLUICE_")}
    inference_port, governance_port = free_port(), free_port()
    env.update(SLUICE_CONFIG=str(tmp_path / "sluice.json"),
               SLUICE_INFERENCE_ADDRESS=f"127.0.0.1:{inference_port}",
               SLUICE_GOVERNANCE_ADDRESS=f"127.0.0.1:{governance_port}")
    created = subprocess.run([str(sluice_binary()), "keys", "create", "--tenant", "t", "--json"], env=env,
                             capture_output=True, text=True, timeout=30)
    assert created.returncode == 0, created.stderr
    key = json.loads(created.stdout)["key"]

    procs = []
    edge_port = free_port()
    try:
        for mode in ("governance", "inference"):
            health_port = free_port()
            procs.append(subprocess.Popen([str(sluice_binary()), "serve", mode], env=dict(env, SLUICE_HTTP_PORT=str(
                health_port)), stdout=(tmp_path / f"{mode}.log").open("w"), stderr=subprocess.STDOUT))
            # Each service is ready (its gRPC port listening) before anything connects to it directly.
            wait_http(f"http://127.0.0.1:{health_port}/health/ready", procs)
        procs.append(subprocess.Popen([str(sluice_binary()), "serve", "edge"], env=dict(env, SLUICE_HTTP_PORT=str(
            edge_port)), stdout=(tmp_path / "edge.log").open("w"), stderr=subprocess.STDOUT))
        base = f"http://127.0.0.1:{edge_port}"
        wait_http(f"{base}/health/ready", procs)

        # The gRPC ports speak TLS with the configured certificate: a verifying TLS client trusting the CA connects.
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", inference_port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the inference gRPC port never accepted connections"
                time.sleep(0.05)
        context = ssl.create_default_context(cafile=str(certificates / "ca.pem"))
        context.set_alpn_protocols(["h2"])
        with socket.create_connection(("127.0.0.1", inference_port), timeout=5) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                assert tls.version() is not None
                assert tls.getpeercert()["subject"] == ((("commonName", "127.0.0.1"),),)

        # And requests flow edge → governance → inference over those TLS connections.
        deadline = time.monotonic() + 15
        while True:
            response = httpx.post(f"{base}/v1/chat/completions", headers={"Authorization": f"Bearer {key}"},
                                  json={"model": "echo", "messages": [{"role": "user", "content": "over tls"}]})
            if response.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert response.status_code == 200, response.text
        assert response.json()["choices"][0]["message"]["content"] == "over tls"
    finally:
        for proc in procs:
            proc.send_signal(signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
