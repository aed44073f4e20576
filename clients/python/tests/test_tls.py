"""TLS: the client against the real memorid serving TLS itself
(`server.tls`), with certificates from a CA of the test's own, and with a
client certificate where memorid requires one (`client_ca_file`)."""

from __future__ import annotations

import subprocess
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import memorid
from tests.fixtures import API_KEY, FakeUpstream, MemoridServer, ServerTls, start_memorid


@dataclass
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path
    stranger_key: Path


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def _ca(directory: Path, name: str) -> tuple[Path, Path]:
    key, cert = directory / f"{name}.key", directory / f"{name}.pem"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN={name}",
             "-keyout", str(key), "-out", str(cert))
    return cert, key


def _leaf(directory: Path, name: str, ca: tuple[Path, Path], usage: str) -> tuple[Path, Path]:
    key, csr, cert = directory / f"{name}.key", directory / f"{name}.csr", directory / f"{name}.pem"
    ext = directory / f"{name}.ext"
    ext.write_text(f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(csr))
    _openssl("x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]), "-CAcreateserial",
             "-days", "2", "-extfile", str(ext), "-out", str(cert))
    return cert, key


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    directory = tmp_path_factory.mktemp("pki")
    ca = _ca(directory, "memorid-test-ca")
    other = _ca(directory, "another-ca")
    server = _leaf(directory, "server", ca, "serverAuth")
    client = _leaf(directory, "client", ca, "clientAuth")
    stranger = _leaf(directory, "stranger", other, "clientAuth")
    return Pki(ca[0], *server, *client, *stranger)


@pytest.fixture(scope="module")
def tls_server(upstream: FakeUpstream, pki: Pki) -> Iterator[MemoridServer]:
    running = start_memorid(upstream, "sqlite", "sqlite-tls", tls=ServerTls(pki.server_cert, pki.server_key))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mtls_server(upstream: FakeUpstream, pki: Pki) -> Iterator[MemoridServer]:
    running = start_memorid(
        upstream, "sqlite", "sqlite-mtls", tls=ServerTls(pki.server_cert, pki.server_key, client_ca_file=pki.ca)
    )
    yield running
    running.stop()


def test_tls_with_a_ca_file_and_no_insecure_key_warning(tls_server: MemoridServer, pki: Pki, entity: str) -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = memorid.Client(f"https://127.0.0.1:{tls_server.port}", api_key=API_KEY, ca_file=pki.ca)
    assert not [w for w in caught if issubclass(w.category, memorid.InsecureCredentialsWarning)]
    with client:
        scope = client.attribution(entity)
        stored = scope.attribute([{"role": "user", "content": "I use TLS."}, {"role": "assistant", "content": "Good."}])
        assert scope.get_session(stored.session_id).turns[0].turn_id == stored.turn_id
        assert client.health()


async def test_async_tls_with_root_certificates(tls_server: MemoridServer, pki: Pki, entity: str) -> None:
    async with memorid.AsyncClient(
        f"127.0.0.1:{tls_server.port}", tls=True, root_certificates=pki.ca.read_bytes(), api_key=API_KEY,
        keepalive_time=30,
    ) as client:
        assert (await client.attribution(entity).list_facts()).facts == ()


def test_tls_trusts_the_system_roots_only_by_default(tls_server: MemoridServer, entity: str) -> None:
    # The test CA is in no system bundle, so the handshake is refused.
    with memorid.Client(f"https://127.0.0.1:{tls_server.port}", api_key=API_KEY, timeout=3) as client:
        with pytest.raises(memorid.UnavailableError):
            client.attribution(entity).list_facts()


def test_plaintext_is_refused_on_a_tls_port(tls_server: MemoridServer, entity: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", memorid.InsecureCredentialsWarning)
        with memorid.Client(f"127.0.0.1:{tls_server.port}", api_key=API_KEY, timeout=3) as client:
            with pytest.raises(memorid.UnavailableError):
                client.attribution(entity).list_facts()


def test_a_client_certificate_is_presented_where_memorid_requires_one(
    mtls_server: MemoridServer, pki: Pki, entity: str
) -> None:
    target = f"https://127.0.0.1:{mtls_server.port}"
    with memorid.Client(
        target, api_key=API_KEY, ca_file=pki.ca, cert_file=pki.client_cert, key_file=pki.client_key
    ) as client:
        assert client.attribution(entity).list_facts().facts == ()
    # Without a certificate, or with one from another CA, the call fails.
    for cert, key in ((None, None), (pki.stranger_cert, pki.stranger_key)):
        with memorid.Client(target, api_key=API_KEY, ca_file=pki.ca, cert_file=cert, key_file=key, timeout=3) as c:
            with pytest.raises(memorid.UnavailableError):
                c.attribution(entity).list_facts()


def test_a_client_certificate_needs_its_key() -> None:
    with pytest.raises(ValueError, match="cert_file and key_file"):
        memorid.Client("https://127.0.0.1:1", cert_file="client.pem")
