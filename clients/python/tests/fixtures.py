"""Session fixtures: the fake upstream, a throwaway PostgreSQL, and the real
memorid release binary started on a free port against SQLite and PostgreSQL.

The binary is `$MEMORID_BIN` (default /var/tmp/memorid-target/release/memorid);
a missing binary fails the session with what to build, it is never skipped.
PostgreSQL is `$TEST_POSTGRES_URL` if set, else a server started here from
/usr/lib/postgresql/*/bin (as the postgres user when run as root).
"""

from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import memorid
from tests.upstream import FakeUpstream

MEMORID_BIN = os.environ.get("MEMORID_BIN", "/var/tmp/memorid-target/release/memorid")
KEYS = {"acme": "test-key-acme", "globex": "test-key-globex"}
API_KEY = KEYS["acme"]
UPSTREAM_KEY = "sk-fake-upstream-key"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class MemoridServer:
    target: str
    backend: str
    process: subprocess.Popen[bytes]
    directory: Path
    log_path: Path

    @property
    def port(self) -> int:
        return int(self.target.rsplit(":", 1)[1])

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """Stops the server and removes its folder (config, log, SQLite file)."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


@dataclass
class ServerTls:
    """memorid's own TLS: PEM files, and a CA whose client certificates it
    requires (mTLS) when given. Health is then probed on a plaintext port."""

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


def config_toml(
    upstream: FakeUpstream,
    storage_url: str,
    port: int,
    storage_extra: str = "",
    tls: ServerTls | None = None,
    health_port: int | None = None,
) -> str:
    keys = ", ".join(f'{{ namespace = "{ns}", key = "{key}" }}' for ns, key in KEYS.items())
    providers = ""
    # The default `openai` and `anthropic` providers point at the fakes, so
    # model names are the real ones (`openai/gpt-4o-mini`).
    for name, kind, url in (
        ("openai", "openai", upstream.base_url),
        ("anthropic", "anthropic", upstream.anthropic_url),
    ):
        providers += f"""
[providers.{name}]
kind = "{kind}"
base_url = "{url}"
api_key_env = "FAKE_UPSTREAM_KEY"
"""
    server_tls = ""
    if tls is not None:
        server_tls = f"""
[server.tls]
cert_file = "{tls.cert_file}"
key_file = "{tls.key_file}"
reload_secs = 1
"""
        if tls.client_ca_file is not None:
            server_tls += f'client_ca_file = "{tls.client_ca_file}"\n'
    health = f'health_listen = "127.0.0.1:{health_port}"' if health_port else ""
    return f"""
[server]
listen = "127.0.0.1:{port}"
shutdown_grace_secs = 1
{health}

[storage]
url = "{storage_url}"
{storage_extra}

[auth]
keys = [{keys}]

[routing]
max_attempts = 2
initial_backoff_ms = 10
max_backoff_ms = 50
max_retry_after_secs = 1

[augmentation]
extraction_model = "openai/extractor"
poll_interval_ms = 100
retry_backoff_ms = 100

[embeddings]
backend = "openai"
base_url = "{upstream.base_url}"
model = "fake-bow-256"

[log]
filter = "warn"
{providers}{server_tls}"""


def start_memorid(
    upstream: FakeUpstream,
    storage_url: str,
    backend: str,
    *,
    port: int | None = None,
    storage_extra: str = "",
    tls: ServerTls | None = None,
) -> MemoridServer:
    if not os.access(MEMORID_BIN, os.X_OK):
        pytest.fail(
            f"no memorid binary at {MEMORID_BIN}: build it with `cargo build --release` "
            "(CARGO_TARGET_DIR=/var/tmp/memorid-target) or point MEMORID_BIN at one",
            pytrace=False,
        )
    directory = Path(tempfile.mkdtemp(prefix=f"memorid-py-{backend}."))
    if storage_url == "sqlite":
        storage_url = f"sqlite://{directory / 'memorid.db'}"
    port = port or free_port()
    config = directory / "memorid.toml"
    health_port = free_port() if tls is not None else None
    config.write_text(config_toml(upstream, storage_url, port, storage_extra, tls, health_port))
    log_path = directory / "memorid.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEMORID_")}
    env["FAKE_UPSTREAM_KEY"] = UPSTREAM_KEY
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [MEMORID_BIN, "--config", str(config), "serve"],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    server = MemoridServer(f"127.0.0.1:{port}", backend, process, directory, log_path)
    # With TLS the main port needs certificates; the health port does not.
    with memorid.Client(f"127.0.0.1:{health_port}" if health_port else server.target) as probe:
        deadline = time.monotonic() + 60
        while not probe.health(timeout=1.0):
            if process.poll() is not None:
                pytest.fail(f"memorid exited while starting ({process.returncode}):\n{server.logs()[-4000:]}")
            if time.monotonic() > deadline:
                server.stop()
                pytest.fail(f"memorid was not SERVING within 60 s:\n{server.logs()[-4000:]}")
            time.sleep(0.05)
    return server


# --- PostgreSQL ------------------------------------------------------------


def _as_postgres_user(args: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return args


class PostgresCluster:
    """A throwaway PostgreSQL server (initdb + pg_ctl, about a second)."""

    def __init__(self) -> None:
        bindirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bindirs:
            pytest.fail("no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (scripts/install-test-deps installs them)")
        self.bindir = bindirs[-1]
        self.directory = tempfile.mkdtemp(prefix="memorid-py-pg.")
        os.chmod(self.directory, 0o755)
        if os.geteuid() == 0:
            shutil.chown(self.directory, "postgres", "postgres")
        self.data = f"{self.directory}/data"
        self.port = free_port()
        subprocess.run(
            _as_postgres_user(
                [f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
            ),
            check=True,
            capture_output=True,
        )
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        started = subprocess.run(
            _as_postgres_user([f"{self.bindir}/pg_ctl", "-D", self.data, "-l", f"{self.directory}/log", "-w", "-o", options, "start"]),
            capture_output=True,
            text=True,
        )
        if started.returncode != 0:
            with open(f"{self.directory}/log") as log:
                raise RuntimeError(f"pg_ctl start failed: {started.stdout}{started.stderr}\n{log.read()[-2000:]}")

    def stop(self) -> None:
        subprocess.run(_as_postgres_user([f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "stop"]), capture_output=True)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"memorid_py_{uuid.uuid4().hex[:12]}"
        subprocess.run(
            [f"{self.bindir}/createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", name],
            check=True,
            capture_output=True,
        )
        return self.url(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresCluster]:
    cluster = PostgresCluster()
    yield cluster
    cluster.remove()


# --- memorid ---------------------------------------------------------------


@pytest.fixture(scope="session")
def upstream() -> Iterator[FakeUpstream]:
    fake = FakeUpstream()
    yield fake
    fake.close()


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def server(request: pytest.FixtureRequest, upstream: FakeUpstream) -> Iterator[MemoridServer]:
    """The real memorid, once per storage backend; every test using it runs
    on both."""
    if request.param == "postgres":
        pg: PostgresCluster = request.getfixturevalue("postgres")
        url = pg.create_database()
    else:
        url = "sqlite"
    running = start_memorid(upstream, url, request.param)
    yield running
    running.stop()


@pytest.fixture(scope="session")
def sqlite_server(upstream: FakeUpstream) -> Iterator[MemoridServer]:
    """One more memorid on SQLite, for tests that need only one backend."""
    running = start_memorid(upstream, "sqlite", "sqlite")
    yield running
    running.stop()


@pytest.fixture
def client(server: MemoridServer) -> Iterator[memorid.Client]:
    with memorid.Client(server.target, api_key=API_KEY) as c:
        yield c


@pytest.fixture
async def aclient(server: MemoridServer) -> AsyncIterator[memorid.AsyncClient]:
    async with memorid.AsyncClient(server.target, api_key=API_KEY) as c:
        yield c


@pytest.fixture
def entity() -> str:
    """A fresh entity id, so tests sharing a server never see each other."""
    return f"user-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def model_name() -> str:
    """A fresh upstream model name, so each test has its own fake script."""
    return f"gpt-test-{uuid.uuid4().hex[:8]}"
