"""Typed errors carrying what the server sent.

Every memorid status carries a `google.rpc.ErrorInfo` (domain `memorid`, a
stable UPPER_SNAKE `reason`); invalid input also carries a `BadRequest`
naming the field, and rate limits and outages a `RetryInfo`. The client
reads them from the status' `grpc-status-details-bin` trailer and raises
the most specific class below, so code can catch by meaning
(`except QuotaExceededError as e: sleep(e.retry_after)`) or by gRPC code
(`e.code`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import google.rpc.error_details_pb2 as error_details_pb2
import google.rpc.status_pb2 as status_pb2

_DETAILS_KEY = "grpc-status-details-bin"


@dataclass(frozen=True)
class FieldViolation:
    """One bad request field: its path (e.g. `messages[2].role`) and why."""

    field: str
    description: str


class MemoridError(Exception):
    """Base of every error the client raises for a failed call."""

    code: grpc.StatusCode
    message: str
    reason: str
    """`ErrorInfo.reason`, e.g. `UPSTREAM_RATE_LIMITED`; empty when the
    status did not come from memorid (e.g. a connection failure)."""
    domain: str
    metadata: Mapping[str, str]
    violations: tuple[FieldViolation, ...]
    retry_after: float | None
    """Seconds the server asked to wait before retrying (`RetryInfo`)."""

    def __init__(
        self,
        message: str,
        *,
        code: grpc.StatusCode = grpc.StatusCode.UNKNOWN,
        reason: str = "",
        domain: str = "",
        metadata: Mapping[str, str] | None = None,
        violations: Sequence[FieldViolation] = (),
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason
        self.domain = domain
        self.metadata = dict(metadata or {})
        self.violations = tuple(violations)
        self.retry_after = retry_after

    def __str__(self) -> str:
        label = self.reason or self.code.name
        return f"{label}: {self.message}"

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code.name}, reason={self.reason!r}, message={self.message!r})"


class InvalidArgumentError(MemoridError):
    """The request was malformed; `violations` name the fields."""


class UpstreamRejectedError(InvalidArgumentError):
    """The upstream model rejected the request (HTTP 4xx other than 401/403/404/429)."""


class UnauthenticatedError(MemoridError):
    """The API key is missing or unknown."""


class PermissionDeniedError(MemoridError):
    pass


class NotFoundError(MemoridError):
    """The session, fact or (with reason `UPSTREAM_NOT_FOUND`) model does not exist."""


class QuotaExceededError(MemoridError):
    """RESOURCE_EXHAUSTED: the upstream is rate-limiting; `retry_after` says
    how long it asked to wait, when it said."""


class UnavailableError(MemoridError):
    """UNAVAILABLE: memorid, its database or its upstream cannot be reached
    right now; retrying later may help."""


class UpstreamUnavailableError(UnavailableError):
    """The upstream model failed (5xx, connection refused, or a stream cut
    off or errored mid-way)."""


class StorageUnavailableError(UnavailableError):
    """memorid's database is unreachable or its pool exhausted."""


class DeadlineExceededError(MemoridError):
    """The call's deadline passed (or the upstream timed out)."""


class FailedPreconditionError(MemoridError):
    pass


class UpstreamUnauthenticatedError(FailedPreconditionError):
    """The upstream refused memorid's own credentials: an operator problem."""


class RequestCancelledError(MemoridError):
    """The call was cancelled."""


class InternalError(MemoridError):
    pass


class InsecureCredentialsWarning(UserWarning):
    """An API key is about to be sent over a connection without TLS."""


_BY_REASON: dict[str, type[MemoridError]] = {
    "UPSTREAM_REJECTED": UpstreamRejectedError,
    "UPSTREAM_UNAVAILABLE": UpstreamUnavailableError,
    "STORAGE_UNAVAILABLE": StorageUnavailableError,
    "UPSTREAM_UNAUTHENTICATED": UpstreamUnauthenticatedError,
}

_BY_CODE: dict[grpc.StatusCode, type[MemoridError]] = {
    grpc.StatusCode.INVALID_ARGUMENT: InvalidArgumentError,
    grpc.StatusCode.OUT_OF_RANGE: InvalidArgumentError,
    grpc.StatusCode.UNAUTHENTICATED: UnauthenticatedError,
    grpc.StatusCode.PERMISSION_DENIED: PermissionDeniedError,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.RESOURCE_EXHAUSTED: QuotaExceededError,
    grpc.StatusCode.UNAVAILABLE: UnavailableError,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceededError,
    grpc.StatusCode.FAILED_PRECONDITION: FailedPreconditionError,
    grpc.StatusCode.CANCELLED: RequestCancelledError,
    grpc.StatusCode.INTERNAL: InternalError,
}


def _error_class(code: grpc.StatusCode, reason: str) -> type[MemoridError]:
    cls = _BY_REASON.get(reason)
    if cls is not None and issubclass(cls, _BY_CODE.get(code, MemoridError)):
        return cls
    return _BY_CODE.get(code, MemoridError)


def _details(trailers: Any) -> status_pb2.Status | None:
    for key, value in trailers or ():
        if key == _DETAILS_KEY and isinstance(value, bytes):
            try:
                return status_pb2.Status.FromString(value)
            except Exception:  # a garbled trailer must not hide the error itself
                return None
    return None


def from_status(code: grpc.StatusCode, message: str, trailers: Any) -> MemoridError:
    """The typed error for a failed call's code, message and trailing metadata."""
    reason = ""
    domain = ""
    metadata: dict[str, str] = {}
    violations: list[FieldViolation] = []
    retry_after: float | None = None
    status = _details(trailers)
    if status is not None:
        if status.message:
            message = status.message
        for any_detail in status.details:
            info = error_details_pb2.ErrorInfo()
            bad = error_details_pb2.BadRequest()
            retry = error_details_pb2.RetryInfo()
            # `Unpack` is false for a detail of another type.
            if any_detail.Unpack(info):
                reason, domain, metadata = info.reason, info.domain, dict(info.metadata)
            elif any_detail.Unpack(bad):
                violations.extend(FieldViolation(v.field, v.description) for v in bad.field_violations)
            elif any_detail.Unpack(retry):
                retry_after = retry.retry_delay.ToTimedelta().total_seconds() if retry.HasField("retry_delay") else None
    if code == grpc.StatusCode.CANCELLED and message == "Timeout expired" and not reason:
        # Workaround: tonic answers a call whose grpc-timeout passed before
        # the response headers with CANCELLED "Timeout expired" (a race with
        # the client's own DEADLINE_EXCEEDED); gRPC defines that case as
        # DEADLINE_EXCEEDED, so report it as such.
        code = grpc.StatusCode.DEADLINE_EXCEEDED
    cls = _error_class(code, reason)
    return cls(
        message,
        code=code,
        reason=reason,
        domain=domain,
        metadata=metadata,
        violations=violations,
        retry_after=retry_after,
    )


def from_rpc_error(error: grpc.RpcError) -> MemoridError:
    """The typed error for a `grpc.RpcError` (sync) or `grpc.aio.AioRpcError`."""
    code_fn = getattr(error, "code", None)
    code = code_fn() if callable(code_fn) else grpc.StatusCode.UNKNOWN
    details_fn = getattr(error, "details", None)
    message = (details_fn() if callable(details_fn) else None) or str(error)
    trailers_fn = getattr(error, "trailing_metadata", None)
    trailers = trailers_fn() if callable(trailers_fn) else None
    return from_status(code or grpc.StatusCode.UNKNOWN, message, trailers)
