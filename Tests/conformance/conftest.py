"""Fixtures for Sluice's conformance suite.

* ``mock``   (session): the mock upstreams (``mock_upstreams.py``) in a subprocess.
* ``sluice`` (session, parametrised over ``all-in-one`` and ``split``): a running Sluice configured against the
  mocks and the built-in echo provider, with two API keys created through the CLI before it started.
* ``client`` / ``restricted_client`` / ``http``: an ``openai.OpenAI`` client with the full key, one with the key
  restricted to ``echo``, and a raw ``httpx.Client`` on Sluice's base URL.

Every test that uses ``sluice`` is marked ``sluice``; deselect them with ``-m "not sluice"`` when no binary is
built. When they are selected and the binary is missing they FAIL (with the reason), they are not skipped.

Environment:
  SLUICE_BIN                  path of the binary (default: <repo>/.build/debug/sluice)
  SLUICE_CONFORMANCE_MODES    comma list of modes to run (default: all-in-one,split,split-anchors; split-anchors is
                              split mode with every `performance` switch off, on the anchor libraries alone)
  SLUICE_READY_TIMEOUT        seconds to wait for /health/ready (default 90)
  SLUICE_LOG_LEVEL            passed through to Sluice (default: debug)
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import openai
import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
MOCK_SCRIPT = HERE / "mock_upstreams.py"
sys.path.insert(0, str(HERE))

from helpers import (  # noqa: E402  (helpers.py sits next to this file)
    BREAKER_OFF, BREAKER_THRESHOLD, COMPLETION_TOKEN_CAP, FAULTY_RETRY, FAULTY_TIMEOUTS, MAIN_RETRY, MAIN_TIMEOUTS, MAX_BODY_BYTES,
    MOCK_ANTHROPIC_KEY, MOCK_OPENAI_KEY, MODELS, PRICE_BOOK, free_port, generate_grpc_stubs,
)

MODES = [m.strip() for m in os.environ.get("SLUICE_CONFORMANCE_MODES", "all-in-one,split,split-anchors").split(",")
         if m.strip()]
# Every piece of speed machinery switched off (Docs/decisions/0005): the same behaviour on the anchor libraries alone.
ANCHORS_ONLY = {"event_loop_channel": False, "event_loop_executors": False, "plain_http_client": False,
                "fast_json": False, "exchange_streams": False}
READY_TIMEOUT = float(os.environ.get("SLUICE_READY_TIMEOUT", "90"))
CLIENT_TIMEOUT = 30.0

# --------------------------------------------------------------------------------------------------------------
# pytest plumbing
# --------------------------------------------------------------------------------------------------------------

def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sluice: needs a Sluice binary (SLUICE_BIN); deselect with -m 'not sluice'")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if "sluice" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.sluice)


_CURRENT: dict[str, Any] = {"instance": None, "offsets": {}}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Iterator[None]:
    inst = _CURRENT["instance"]
    _CURRENT["offsets"] = inst.log_offsets() if inst is not None else {}
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Iterator[Any]:
    report = yield
    inst = _CURRENT["instance"]
    if report.when == "call" and report.failed and inst is not None:
        for name, text in inst.log_since(_CURRENT["offsets"]).items():
            report.sections.append((f"sluice {name} output during this test", text))
    return report


@pytest.fixture(scope="session")
def grpc_stubs(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """grpcio stubs for every proto in `Protos/`, generated once per session (see `helpers.generate_grpc_stubs`)."""
    return generate_grpc_stubs(tmp_path_factory.mktemp("python-stubs"))


# --------------------------------------------------------------------------------------------------------------
# Mock upstreams
# --------------------------------------------------------------------------------------------------------------

@dataclass
class MockUpstreams:
    proc: subprocess.Popen
    openai_port: int
    anthropic_port: int

    @property
    def openai_base(self) -> str:
        return f"http://127.0.0.1:{self.openai_port}/v1"

    @property
    def anthropic_base(self) -> str:
        return f"http://127.0.0.1:{self.anthropic_port}"

    def requests(self, contains: str | None = None) -> list[dict]:
        params = {"contains": contains} if contains else None
        r = httpx.get(f"http://127.0.0.1:{self.openai_port}/_mock/requests", params=params, timeout=10)
        r.raise_for_status()
        return r.json()

    def reset(self) -> None:
        httpx.post(f"http://127.0.0.1:{self.openai_port}/_mock/reset", timeout=10).raise_for_status()


@pytest.fixture(scope="session")
def mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MockUpstreams]:
    log = tmp_path_factory.mktemp("mock") / "mock.stderr"
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, str(MOCK_SCRIPT), "--openai-port", "0", "--anthropic-port", "0",
             "--openai-key", MOCK_OPENAI_KEY, "--anthropic-key", MOCK_ANTHROPIC_KEY],
            stdout=subprocess.PIPE, stderr=err, text=True)
    line = proc.stdout.readline() if proc.stdout else ""
    if not line:
        proc.kill()
        pytest.fail(f"mock upstreams did not start: {log.read_text(errors='replace')}", pytrace=False)
    ports = json.loads(line)
    m = MockUpstreams(proc, ports["openai_port"], ports["anthropic_port"])
    try:
        yield m
    finally:
        _stop_process(proc, "mock")


def _stop_process(proc: subprocess.Popen, name: str, grace: float = 10.0) -> int | None:
    """SIGTERM, wait `grace` seconds, then SIGKILL. Returns the exit code, or None if it had exited already."""
    if proc.poll() is not None:
        return None
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        sys.stderr.write(f"[conformance] {name} (pid {proc.pid}) ignored SIGTERM for {grace}s; killing\n")
        proc.kill()
        proc.wait(5)
    return proc.returncode


# --------------------------------------------------------------------------------------------------------------
# Sluice
# --------------------------------------------------------------------------------------------------------------

def sluice_binary() -> Path:
    raw = os.environ.get("SLUICE_BIN", ".build/debug/sluice")
    path = Path(raw)
    if not path.is_absolute():
        path = REPO_ROOT / path
    return path


def build_config(mock: MockUpstreams, *, data_dir: Path, http_port: int, inference: str, governance: str,
                 dead_port: int) -> dict:
    def openai_provider(name: str, timeouts: dict, retry: dict, breaker: dict) -> dict:
        return {"name": name, "kind": "openai", "base_url": mock.openai_base, "api_key_env": "MOCK_OPENAI_KEY",
                "timeouts": timeouts, "retry": retry, "circuit_breaker": breaker}

    def anthropic_provider(name: str, timeouts: dict, retry: dict, breaker: dict) -> dict:
        return {"name": name, "kind": "anthropic", "base_url": mock.anthropic_base,
                "api_key_env": "MOCK_ANTHROPIC_KEY", "timeouts": timeouts, "retry": retry,
                "circuit_breaker": breaker}

    azure_provider = {"name": "mock-azure", "kind": "azure-openai", "base_url": mock.openai_base.removesuffix("/v1"),
                      "api_version": "2024-10-21", "api_key_env": "MOCK_OPENAI_KEY", "timeouts": MAIN_TIMEOUTS,
                      "retry": MAIN_RETRY, "circuit_breaker": BREAKER_OFF}
    providers = [
        azure_provider,
        openai_provider("mock-openai", MAIN_TIMEOUTS, MAIN_RETRY, BREAKER_OFF),
        anthropic_provider("mock-anthropic", MAIN_TIMEOUTS, MAIN_RETRY, BREAKER_OFF),
        openai_provider("mock-openai-faulty", FAULTY_TIMEOUTS, FAULTY_RETRY, BREAKER_OFF),
        anthropic_provider("mock-anthropic-faulty", FAULTY_TIMEOUTS, FAULTY_RETRY, BREAKER_OFF),
        openai_provider("mock-openai-breaker", FAULTY_TIMEOUTS,
                        {"max_attempts": 1, "base_delay_ms": 50, "max_delay_ms": 100},
                        {"failure_threshold": BREAKER_THRESHOLD, "open_ms": 600000}),
        {"name": "dead", "kind": "openai", "base_url": f"http://127.0.0.1:{dead_port}/v1",
         "api_key_env": "MOCK_OPENAI_KEY", "timeouts": FAULTY_TIMEOUTS, "retry": FAULTY_RETRY,
         "circuit_breaker": BREAKER_OFF},
        {"name": "echo", "kind": "echo", "echo": {"first_token_delay_ms": 0, "per_token_delay_ms": 2}},
    ]
    models = [{"name": name, "deployments": [{"provider": p, "model": m} for p, m in deps]}
              for name, deps in MODELS.items()]
    # A price book that replaces the built-in one, with simple prices for the mock's models.
    price_book = data_dir.parent / f"price-book-{http_port}.json"
    price_book.parent.mkdir(parents=True, exist_ok=True)
    price_book.write_text(json.dumps(PRICE_BOOK))
    return {
        "data_dir": str(data_dir),
        "http": {"host": "127.0.0.1", "port": http_port, "max_body_bytes": MAX_BODY_BYTES},
        "services": {"inference": {"address": inference}, "governance": {"address": governance}},
        "grpc": {"tls": None, "default_timeout_ms": 30000},
        "providers": providers,
        "models": models,
        "governance": {"price_book_file": str(price_book),
                       "limits": {"completion_token_cap": COMPLETION_TOKEN_CAP}},
    }


def _parse_json_output(text: str) -> dict:
    start = text.find("{")
    if start < 0:
        raise ValueError("no JSON object in output")
    obj, _ = json.JSONDecoder().raw_decode(text[start:])
    return obj


@dataclass
class SluiceInstance:
    mode: str
    port: int
    key: str
    restricted_key: str
    key_info: dict
    restricted_key_info: dict
    config_path: Path
    data_dir: Path
    env: dict[str, str]
    procs: dict[str, subprocess.Popen] = field(default_factory=dict)
    logs: dict[str, Path] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, key: str | None = None, **kw: Any) -> openai.OpenAI:
        return openai.OpenAI(base_url=f"{self.base_url}/v1", api_key=self.key if key is None else key,
                             max_retries=kw.pop("max_retries", 0), timeout=kw.pop("timeout", CLIENT_TIMEOUT), **kw)

    def log_offsets(self) -> dict[str, int]:
        return {name: (p.stat().st_size if p.exists() else 0) for name, p in self.logs.items()}

    def log_since(self, offsets: dict[str, int], limit: int = 20000) -> dict[str, str]:
        out = {}
        for name, p in self.logs.items():
            if not p.exists():
                continue
            with open(p, "rb") as f:
                f.seek(offsets.get(name, 0))
                data = f.read()
            if data:
                text = data.decode(errors="replace")
                out[name] = text if len(text) <= limit else "...\n" + text[-limit:]
        return out

    def all_logs(self, limit: int = 20000) -> str:
        return "\n".join(f"----- {name} -----\n{text}" for name, text in self.log_since({}, limit).items())


def _run_cli(binary: Path, args: list[str], env: dict[str, str], what: str) -> str:
    try:
        res = subprocess.run([str(binary), *args], env=env, capture_output=True, text=True, timeout=120)
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"`sluice {' '.join(args)}` ({what}) did not finish in 120 s: {exc}", pytrace=False)
    if res.returncode != 0:
        pytest.fail(f"`sluice {' '.join(args)}` ({what}) exited {res.returncode}\n"
                    f"stdout:\n{res.stdout}\nstderr:\n{res.stderr}", pytrace=False)
    return res.stdout


def _wait_tcp(address: str, proc: subprocess.Popen, deadline: float) -> bool:
    host, port = address.rsplit(":", 1)
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


def _wait_ready(inst: SluiceInstance, procs: list[subprocess.Popen], deadline: float) -> str | None:
    """Poll GET /health/ready until 200. Returns None when ready, else a reason."""
    last = "no answer"
    while time.monotonic() < deadline:
        for p in procs:
            if p.poll() is not None:
                return f"a Sluice process (pid {p.pid}) exited with {p.returncode}"
        try:
            r = httpx.get(f"{inst.base_url}/health/ready", timeout=2)
            if r.status_code == 200:
                return None
            last = f"HTTP {r.status_code}: {r.text[:200]}"
        except httpx.HTTPError as exc:
            last = repr(exc)
        time.sleep(0.1)
    return f"/health/ready not 200 within {READY_TIMEOUT:.0f}s (last: {last})"


@pytest.fixture(scope="session", params=MODES)
def sluice(request: pytest.FixtureRequest, mock: MockUpstreams,
           tmp_path_factory: pytest.TempPathFactory) -> Iterator[SluiceInstance]:
    mode = request.param
    if mode not in ("all-in-one", "split", "split-anchors"):
        pytest.fail(f"unknown SLUICE_CONFORMANCE_MODES entry {mode!r} (use all-in-one, split, split-anchors)",
                    pytrace=False)
    binary = sluice_binary()
    if not binary.is_file() or not os.access(binary, os.X_OK):
        pytest.fail(f"Sluice binary not found or not executable at {binary}. Build it (swift build) or set "
                    f"SLUICE_BIN; to run only the mock self-tests use -m 'not sluice'.", pytrace=False)

    root = tmp_path_factory.mktemp(f"sluice-{mode}")
    data_dir = root / "data"
    data_dir.mkdir()
    config_path = root / "sluice.json"
    http_port = free_port()
    inference_addr = f"127.0.0.1:{free_port()}"
    governance_addr = f"127.0.0.1:{free_port()}"
    vector_addr = f"127.0.0.1:{free_port()}"  # `sluice serve` (all in one) also serves vector gRPC there
    # Bound and never listening, for the whole session: connections are refused, and no other process can take the
    # port meanwhile (a port that was merely free when asked can be handed out again).
    dead_socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    dead_socket.bind(("127.0.0.1", 0))
    dead_port = dead_socket.getsockname()[1]
    config = build_config(mock, data_dir=data_dir, http_port=http_port, inference=inference_addr,
                          governance=governance_addr, dead_port=dead_port)
    if mode == "split-anchors":
        config["performance"] = ANCHORS_ONLY
    config_path.write_text(json.dumps(config, indent=2))

    env = dict(os.environ)
    env.update({
        "SLUICE_CONFIG": str(config_path),
        "SLUICE_DATA_DIR": str(data_dir),
        "SLUICE_HTTP_HOST": "127.0.0.1",
        "SLUICE_HTTP_PORT": str(http_port),
        "SLUICE_INFERENCE_ADDRESS": inference_addr,
        "SLUICE_GOVERNANCE_ADDRESS": governance_addr,
        "SLUICE_VECTOR_ADDRESS": vector_addr,
        "SLUICE_LOG_LEVEL": os.environ.get("SLUICE_LOG_LEVEL", "debug"),
        "MOCK_OPENAI_KEY": MOCK_OPENAI_KEY,
        "MOCK_ANTHROPIC_KEY": MOCK_ANTHROPIC_KEY,
    })

    # Keys are created through the CLI, before any server runs, on the same data directory.
    full = _run_cli(binary, ["keys", "create", "--tenant", "t1", "--json"], env, "full key")
    restricted = _run_cli(binary, ["keys", "create", "--tenant", "t1", "--models", "echo", "--json"], env,
                          "restricted key")
    try:
        full_info, restricted_info = _parse_json_output(full), _parse_json_output(restricted)
        key, restricted_key = full_info["key"], restricted_info["key"]
    except (ValueError, KeyError, TypeError) as exc:
        pytest.fail(f"`sluice keys create --json` output is not the expected JSON object with a \"key\" "
                    f"({exc}):\n{full}\n{restricted}", pytrace=False)

    inst = SluiceInstance(mode=mode, port=http_port, key=key, restricted_key=restricted_key,
                          key_info=full_info, restricted_key_info=restricted_info,
                          config_path=config_path, data_dir=data_dir, env=env)

    if mode == "all-in-one":
        plan = [("serve", ["serve"], {}, None)]
    else:
        # governance and inference get their own HTTP ports in case they also serve health/metrics over HTTP.
        plan = [
            ("governance", ["serve", "governance"], {"SLUICE_HTTP_PORT": str(free_port())}, governance_addr),
            ("inference", ["serve", "inference"], {"SLUICE_HTTP_PORT": str(free_port())}, inference_addr),
            ("edge", ["serve", "edge"], {}, None),
        ]
    deadline = time.monotonic() + READY_TIMEOUT
    started: list[tuple[str, subprocess.Popen]] = []
    try:
        for name, args, extra_env, listen_addr in plan:
            log_path = root / f"{name}.log"
            inst.logs[name] = log_path
            with open(log_path, "wb") as out:
                proc = subprocess.Popen([str(binary), *args], env={**env, **extra_env}, stdout=out,
                                        stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=str(root))
            inst.procs[name] = proc
            started.append((name, proc))
            if listen_addr and not _wait_tcp(listen_addr, proc, deadline):
                pytest.fail(f"[{mode}] `sluice {' '.join(args)}` never listened on {listen_addr} "
                            f"(exit code {proc.poll()})\n{inst.all_logs()}", pytrace=False)
        problem = _wait_ready(inst, [p for _, p in started], deadline)
        if problem:
            pytest.fail(f"[{mode}] Sluice did not become ready: {problem}\n{inst.all_logs()}", pytrace=False)
        # In split mode the edge may report ready before its links work: give the first call a bounded chance.
        link_deadline = time.monotonic() + 15
        while time.monotonic() < link_deadline:
            try:
                r = httpx.get(f"{inst.base_url}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=5)
                if r.status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        _CURRENT["instance"] = inst
        yield inst
    finally:
        _CURRENT["instance"] = None
        dead_socket.close()
        for name, proc in reversed(started):
            code = _stop_process(proc, f"sluice {name}")
            if code is None:
                sys.stderr.write(f"[conformance] sluice {name} ({mode}) had already exited with "
                                 f"{proc.returncode} before teardown\n")
            elif code not in (0, -signal.SIGTERM):
                sys.stderr.write(f"[conformance] sluice {name} ({mode}) exited with {code} after SIGTERM\n")


@pytest.fixture
def client(sluice: SluiceInstance) -> Iterator[openai.OpenAI]:
    c = sluice.client()
    yield c
    c.close()


@pytest.fixture
def restricted_client(sluice: SluiceInstance) -> Iterator[openai.OpenAI]:
    c = sluice.client(sluice.restricted_key)
    yield c
    c.close()


@pytest.fixture
def http(sluice: SluiceInstance) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sluice.base_url, timeout=CLIENT_TIMEOUT,
                      headers={"Authorization": f"Bearer {sluice.key}"}) as c:
        yield c
