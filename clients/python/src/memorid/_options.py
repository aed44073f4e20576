"""Connection settings shared by the sync and asyncio clients: target and TLS,
the API key header, channel options, deadlines and the retry policy."""

from __future__ import annotations

import os
import random
import ssl
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import grpc

from .errors import InsecureCredentialsWarning, MemoridError

_MiB = 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    """Opt-in retries of unary calls (and of Recall and Attribute before any
    answer arrived; Attribute resends with the same idempotency keys).
    A chat stream is never retried.

    The delay before attempt n+1 is `initial_backoff * multiplier**(n-1)`,
    capped at `max_backoff`, with its upper half jittered; when the server
    sent a `RetryInfo` delay (`error.retry_after`), the client waits at least
    that long, and does not retry at all if it is longer than
    `max_retry_after`. Retries stop when the call's timeout would pass
    before the next attempt could start."""

    max_attempts: int = 4
    initial_backoff: float = 0.25
    max_backoff: float = 8.0
    multiplier: float = 2.0
    max_retry_after: float = 60.0
    retry_on: frozenset[grpc.StatusCode] = field(
        default_factory=lambda: frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED})
    )

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.initial_backoff < 0 or self.max_backoff < 0 or self.multiplier < 1:
            raise ValueError("RetryPolicy backoffs must be ≥ 0 and its multiplier ≥ 1")

    def delay(self, attempt: int, error: MemoridError) -> float | None:
        """Seconds to wait before the next attempt after `attempt` failed
        with `error`, or None to give up."""
        if attempt >= self.max_attempts or error.code not in self.retry_on:
            return None
        backoff = min(self.max_backoff, self.initial_backoff * self.multiplier ** (attempt - 1))
        delay = backoff / 2 + random.uniform(0, backoff / 2)
        if error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            delay = max(delay, error.retry_after)
        return delay


def _system_roots() -> bytes | None:
    """The operating system's CA bundle, so TLS trusts what the machine
    trusts (gRPC would otherwise use the roots bundled in grpcio)."""
    paths = ssl.get_default_verify_paths()
    for candidate in (os.environ.get("SSL_CERT_FILE"), paths.cafile, paths.openssl_cafile):
        if candidate and os.path.isfile(candidate):
            with open(candidate, "rb") as f:
                return f.read()
    return None


@dataclass(frozen=True)
class Settings:
    target: str
    secure: bool
    credentials: grpc.ChannelCredentials | None
    options: tuple[tuple[str, Any], ...]
    metadata: tuple[tuple[str, str], ...]
    timeout: float | None
    chat_timeout: float | None
    retry: RetryPolicy | None


def settings(
    target: str,
    *,
    api_key: str | None,
    tls: bool | None,
    ca_file: str | os.PathLike[str] | None,
    root_certificates: bytes | None,
    tls_server_name: str | None,
    cert_file: str | os.PathLike[str] | None,
    key_file: str | os.PathLike[str] | None,
    timeout: float | None,
    chat_timeout: float | None,
    keepalive_time: float | None,
    keepalive_timeout: float,
    max_message_size: int,
    retry: RetryPolicy | None,
    user_agent: str | None,
    channel_options: Sequence[tuple[str, Any]],
) -> Settings:
    address = target
    scheme_tls: bool | None = None
    if "://" in target:
        scheme, _, address = target.partition("://")
        if scheme not in ("http", "https", "grpc", "grpcs"):
            raise ValueError(f"unsupported target scheme {scheme!r}: use host:port, http:// or https://")
        scheme_tls = scheme in ("https", "grpcs")
        address = address.rstrip("/")
        if ":" not in address.rsplit("]", 1)[-1]:
            address += ":443" if scheme_tls else ":80"
    if not address:
        raise ValueError("target must not be empty")
    if (cert_file is None) != (key_file is None):
        raise ValueError("a client certificate needs both cert_file and key_file")
    secure = bool(tls if tls is not None else (scheme_tls or ca_file or root_certificates or cert_file))
    if tls is False and (ca_file or root_certificates or cert_file):
        raise ValueError("ca_file / root_certificates / cert_file need tls")

    credentials = None
    if secure:
        roots = root_certificates
        if roots is None and ca_file is not None:
            with open(ca_file, "rb") as f:
                roots = f.read()
        if roots is None:
            roots = _system_roots()
        # A client certificate, for a server that requires one (mTLS).
        chain = key = None
        if cert_file is not None and key_file is not None:
            with open(cert_file, "rb") as f:
                chain = f.read()
            with open(key_file, "rb") as f:
                key = f.read()
        credentials = grpc.ssl_channel_credentials(root_certificates=roots, private_key=key, certificate_chain=chain)

    metadata: list[tuple[str, str]] = []
    if api_key:
        if not secure:
            warnings.warn(
                f"memorid: sending an API key to {address} without TLS; anyone on the path can read it "
                "(use an https:// target or tls=True outside a trusted network)",
                InsecureCredentialsWarning,
                stacklevel=3,
            )
        metadata.append(("authorization", f"Bearer {api_key}"))

    options: list[tuple[str, Any]] = [
        ("grpc.max_send_message_length", max_message_size),
        ("grpc.max_receive_message_length", max_message_size),
        ("grpc.primary_user_agent", user_agent or "memorid-python"),
    ]
    if keepalive_time is not None:
        options += [
            ("grpc.keepalive_time_ms", int(keepalive_time * 1000)),
            ("grpc.keepalive_timeout_ms", int(keepalive_timeout * 1000)),
            ("grpc.keepalive_permit_without_calls", 1),
            ("grpc.http2.max_pings_without_data", 0),
        ]
    if tls_server_name:
        options.append(("grpc.ssl_target_name_override", tls_server_name))
    options += list(channel_options)
    return Settings(
        target=address,
        secure=secure,
        credentials=credentials,
        options=tuple(options),
        metadata=tuple(metadata),
        timeout=timeout,
        chat_timeout=chat_timeout,
        retry=retry,
    )


DEFAULT_MAX_MESSAGE_SIZE = 64 * _MiB
DEFAULT_TIMEOUT = 30.0
WAIT_MARGIN = 10.0
"""Seconds a WaitForAugmentation call's deadline leaves beyond its wait."""


def remaining(deadline: float | None, now: float) -> float | None:
    return None if deadline is None else deadline - now


def health_status(payload: bytes) -> int:
    """`grpc.health.v1.HealthCheckResponse.status` from its wire bytes (field
    1, a varint; absent means UNKNOWN = 0). Decoded by hand so that the
    client needs no health-checking package for one enum."""
    if len(payload) >= 2 and payload[0] == 0x08:
        return payload[1] & 0x7F
    return 0
