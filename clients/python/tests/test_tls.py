"""TLS: the client against the real memorid behind a TLS-terminating proxy
(memorid itself serves plaintext; deployments put TLS at the proxy or the
ingress), with a CA of the test's own."""

from __future__ import annotations

import socket
import ssl
import subprocess
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import memorid
from tests.fixtures import API_KEY, MemoridServer


@dataclass
class TlsProxy:
    port: int
    ca_file: Path


def _make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    ca_key, ca_cert = directory / "ca.key", directory / "ca.pem"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.pem"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=memorid test CA",
        "-keyout", str(ca_key), "-out", str(ca_cert))
    run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(csr))
    run("x509", "-req", "-in", str(csr), "-CA", str(ca_cert), "-CAkey", str(ca_key), "-CAcreateserial",
        "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return ca_cert, cert, key


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@pytest.fixture(scope="module")
def tls_proxy(sqlite_server: MemoridServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsProxy]:
    ca_cert, cert, key = _make_certificates(tmp_path_factory.mktemp("tls"))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])  # gRPC insists on HTTP/2 by ALPN
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                return
            try:
                tls = context.wrap_socket(raw, server_side=True)
            except (ssl.SSLError, OSError):
                raw.close()  # e.g. a client that does not trust the CA
                continue
            backend = socket.create_connection(("127.0.0.1", sqlite_server.port))
            threading.Thread(target=_pump, args=(tls, backend), daemon=True).start()
            threading.Thread(target=_pump, args=(backend, tls), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield TlsProxy(listener.getsockname()[1], ca_cert)
    stop.set()
    listener.close()


def test_tls_with_a_ca_file_and_no_insecure_key_warning(tls_proxy: TlsProxy, entity: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = memorid.Client(f"https://127.0.0.1:{tls_proxy.port}", api_key=API_KEY, ca_file=tls_proxy.ca_file)
    assert not [w for w in caught if issubclass(w.category, memorid.InsecureCredentialsWarning)]
    with client:
        scope = client.attribution(entity)
        stored = scope.attribute([{"role": "user", "content": "I use TLS."}, {"role": "assistant", "content": "Good."}])
        assert scope.get_session(stored.session_id).turns[0].turn_id == stored.turn_id
        assert client.health()


async def test_async_tls_with_root_certificates(tls_proxy: TlsProxy, entity: str) -> None:
    roots = tls_proxy.ca_file.read_bytes()
    async with memorid.AsyncClient(
        f"127.0.0.1:{tls_proxy.port}", tls=True, root_certificates=roots, api_key=API_KEY, keepalive_time=30
    ) as client:
        assert (await client.attribution(entity).list_facts()).facts == ()


def test_tls_trusts_the_system_roots_only_by_default(tls_proxy: TlsProxy, entity: str) -> None:
    # The test CA is in no system bundle, so the handshake is refused.
    with memorid.Client(f"https://127.0.0.1:{tls_proxy.port}", api_key=API_KEY, timeout=3) as client:
        with pytest.raises(memorid.UnavailableError):
            client.attribution(entity).list_facts()
