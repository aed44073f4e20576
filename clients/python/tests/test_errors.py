"""Every error type, raised from a real server status; mid-stream failures;
cancellation; retries."""

from __future__ import annotations

import threading
import time
import uuid

import grpc
import pytest

import memorid
from tests.fixtures import API_KEY, MemoridServer, PostgresCluster, free_port, start_memorid
from tests.upstream import FakeUpstream, Reject, Script

USER = [{"role": "user", "content": "hello"}]


def _reject(status: int, kind: str, headers: dict[str, str] | None = None) -> Script:
    return Script(reject=Reject(status, {"error": {"message": f"fake {status}", "type": kind, "param": None, "code": None}}, headers or {}))


def test_invalid_argument_names_the_field(client: memorid.Client, entity: str) -> None:
    with pytest.raises(memorid.InvalidArgumentError) as empty:
        client.attribution(entity).chat("openai/gpt-4o-mini", []).collect()
    assert empty.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert empty.value.reason == "INVALID_ARGUMENT" and empty.value.domain == "memorid"
    assert [v.field for v in empty.value.violations] == ["messages"]

    with pytest.raises(memorid.InvalidArgumentError) as role:
        client.attribution(entity).attribute([{"role": "user", "content": "x"}, {"role": "robot", "content": "y"}])
    assert role.value.violations[0].field == "messages[1].role"

    with pytest.raises(memorid.InvalidArgumentError) as long_id:
        client.attribution("x" * 200).recall("anything")
    assert long_id.value.violations[0].field == "attribution.entity_id"
    assert "128" in long_id.value.violations[0].description

    with pytest.raises(memorid.InvalidArgumentError) as bad_id:
        client.attribution(entity).delete_fact("not-a-uuid")
    assert bad_id.value.violations[0].field == "fact_id"


async def test_async_errors_are_typed_the_same(aclient: memorid.AsyncClient, entity: str) -> None:
    with pytest.raises(memorid.InvalidArgumentError) as empty:
        await aclient.attribution(entity).chat("openai/gpt-4o-mini", []).collect()
    assert [v.field for v in empty.value.violations] == ["messages"]
    with pytest.raises(memorid.NotFoundError):
        await aclient.attribution(entity).get_session("no-such-session")


def test_unauthenticated(server: MemoridServer, entity: str) -> None:
    with memorid.Client(server.target, api_key="wrong-key") as wrong:
        with pytest.raises(memorid.UnauthenticatedError) as caught:
            wrong.attribution(entity).list_facts()
    assert caught.value.reason == "UNAUTHENTICATED"
    with memorid.Client(server.target) as anonymous:
        with pytest.raises(memorid.UnauthenticatedError):
            anonymous.attribution(entity).chat("openai/gpt-4o-mini", USER).collect()


def test_not_found(client: memorid.Client, entity: str) -> None:
    with pytest.raises(memorid.NotFoundError) as session:
        client.attribution(entity).get_session("no-such-session")
    assert session.value.reason == "NOT_FOUND"
    with pytest.raises(memorid.NotFoundError):
        client.attribution(entity).delete_fact(str(uuid.uuid4()))


def test_upstream_rate_limit_is_quota_exceeded_with_retry_after(
    client: memorid.Client, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, _reject(429, "requests", {"retry-after": "7"}))
    with pytest.raises(memorid.QuotaExceededError) as caught:
        client.attribution(entity).chat(f"openai/{model_name}", USER).collect()
    error = caught.value
    assert error.code == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert error.reason == "UPSTREAM_RATE_LIMITED"
    assert error.retry_after == 7.0


@pytest.mark.parametrize(
    ("status", "error_class", "reason"),
    [
        (500, memorid.UpstreamUnavailableError, "UPSTREAM_UNAVAILABLE"),
        (401, memorid.UpstreamUnauthenticatedError, "UPSTREAM_UNAUTHENTICATED"),
        (404, memorid.NotFoundError, "UPSTREAM_NOT_FOUND"),
        (400, memorid.UpstreamRejectedError, "UPSTREAM_REJECTED"),
        (504, memorid.DeadlineExceededError, "DEADLINE_EXCEEDED"),
    ],
)
def test_upstream_failures_before_the_first_token(
    client: memorid.Client,
    upstream: FakeUpstream,
    entity: str,
    model_name: str,
    status: int,
    error_class: type[memorid.MemoridError],
    reason: str,
) -> None:
    upstream.script(model_name, _reject(status, "server_error"))
    stream = client.attribution(entity).chat(f"openai/{model_name}", USER)
    with pytest.raises(error_class) as caught:
        stream.start()
    assert caught.value.reason == reason
    assert stream.text == ""


def test_an_error_mid_stream_raises_after_the_deltas_already_yielded(
    client: memorid.Client, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["one", " two", " three"], error_after=2))
    seen: list[str] = []
    with pytest.raises(memorid.UpstreamUnavailableError) as caught:
        for event in client.attribution(entity).chat(f"openai/{model_name}", USER):
            if isinstance(event, memorid.ChatDelta):
                seen.append(event.text)
    assert seen == ["one", " two"]
    assert caught.value.reason == "UPSTREAM_UNAVAILABLE"


async def test_async_stream_cut_off_raises_after_its_deltas(
    aclient: memorid.AsyncClient, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["a", "b", "c"], cut_after=1))
    stream = aclient.attribution(entity).chat(f"openai/{model_name}", USER)
    seen: list[str] = []
    with pytest.raises(memorid.UpstreamUnavailableError):
        async for text in stream.text_deltas():
            seen.append(text)
    assert seen == ["a"]
    assert stream.completed is None


def test_a_passed_deadline_is_deadline_exceeded(
    client: memorid.Client, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["slow"], delay=3.0))
    started = time.monotonic()
    with pytest.raises(memorid.DeadlineExceededError):
        client.attribution(entity).chat(f"openai/{model_name}", USER, timeout=0.5).collect()
    assert time.monotonic() - started < 2.5


def test_breaking_out_of_the_stream_stops_the_upstream_request(
    client: memorid.Client, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["first", "never sent"], stall_after=1))
    scope = client.attribution(entity)
    session_id = ""
    for event in scope.chat(f"openai/{model_name}", USER):
        if isinstance(event, memorid.ChatStarted):
            session_id = event.session_id
        if isinstance(event, memorid.ChatDelta):
            break  # dropping the stream cancels the call
    assert upstream.wait_for_hangup(model_name, timeout=10), "memorid kept the upstream request open"
    # memorid stores what had arrived, as an interrupted turn.
    deadline = time.monotonic() + 10
    while True:
        (turn,) = scope.get_session(session_id).turns
        if turn.status == "interrupted" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert turn.status == "interrupted"
    assert turn.messages[-1].content == "first"


async def test_async_cancel_stops_the_upstream_request(
    aclient: memorid.AsyncClient, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["first", "never sent"], stall_after=1))
    async with aclient.attribution(entity).chat(f"openai/{model_name}", USER) as stream:
        async for event in stream:
            if isinstance(event, memorid.ChatDelta):
                break
    assert upstream.wait_for_hangup(model_name, timeout=10)
    with pytest.raises(StopAsyncIteration):
        await stream.__anext__()


def test_connection_refused_is_unavailable_without_a_reason(entity: str) -> None:
    with memorid.Client(f"127.0.0.1:{free_port()}", timeout=2) as nowhere:
        with pytest.raises(memorid.UnavailableError) as caught:
            nowhere.attribution(entity).list_facts()
    assert caught.value.code == grpc.StatusCode.UNAVAILABLE and caught.value.reason == ""
    assert not isinstance(caught.value, memorid.UpstreamUnavailableError)


def test_unary_retries_reach_a_server_that_comes_up(upstream: FakeUpstream, entity: str) -> None:
    port = free_port()
    retry = memorid.RetryPolicy(max_attempts=40, initial_backoff=0.05, max_backoff=0.2)
    late: list[MemoridServer] = []
    starter = threading.Timer(0.5, lambda: late.append(start_memorid(upstream, "sqlite", "sqlite", port=port)))
    starter.start()
    try:
        with memorid.Client(f"127.0.0.1:{port}", api_key=API_KEY, retry=retry, timeout=30) as c:
            assert c.attribution(entity).list_facts().facts == ()
            # Attribute resends only unanswered turns, under the same keys.
            (stored,) = c.attribute([memorid.AttributeTurn(memorid.Attribution(entity), USER)])
            assert not stored.duplicate
    finally:
        starter.join()
        for s in late:
            s.stop()


def test_without_a_policy_nothing_is_retried(entity: str) -> None:
    with memorid.Client(f"127.0.0.1:{free_port()}", timeout=5) as c:
        started = time.monotonic()
        with pytest.raises(memorid.UnavailableError):
            c.attribution(entity).list_facts()
    assert time.monotonic() - started < 2


def test_a_stream_that_yielded_is_never_retried(
    server: MemoridServer, upstream: FakeUpstream, entity: str, model_name: str
) -> None:
    upstream.script(model_name, Script(pieces=["one", "two"], error_after=1))
    with memorid.Client(server.target, api_key=API_KEY, retry=memorid.RetryPolicy(initial_backoff=0.01)) as c:
        with pytest.raises(memorid.UpstreamUnavailableError):
            c.attribution(entity).chat(f"openai/{model_name}", USER).collect()
    assert len(upstream.requests(model=model_name)) == 1


def test_retry_policy_honours_the_servers_delay() -> None:
    policy = memorid.RetryPolicy(initial_backoff=0.1, max_backoff=1.0, max_retry_after=30)
    quota = memorid.QuotaExceededError("slow down", code=grpc.StatusCode.RESOURCE_EXHAUSTED, retry_after=7.0)
    assert policy.delay(1, quota) == 7.0
    too_long = memorid.QuotaExceededError("later", code=grpc.StatusCode.RESOURCE_EXHAUSTED, retry_after=90.0)
    assert policy.delay(1, too_long) is None
    unavailable = memorid.UnavailableError("down", code=grpc.StatusCode.UNAVAILABLE)
    delays = [policy.delay(n, unavailable) for n in (1, 2, 3)]
    assert all(d is not None for d in delays)
    assert 0.05 <= delays[0] <= 0.1 and 0.1 <= delays[1] <= 0.2 and 0.2 <= delays[2] <= 0.4  # type: ignore[operator]
    assert policy.delay(4, unavailable) is None  # max_attempts
    invalid = memorid.InvalidArgumentError("bad", code=grpc.StatusCode.INVALID_ARGUMENT)
    assert policy.delay(1, invalid) is None


def test_an_api_key_without_tls_warns(server: MemoridServer) -> None:
    with pytest.warns(memorid.InsecureCredentialsWarning, match="without TLS"):
        memorid.Client(server.target, api_key=API_KEY).close()


def test_a_database_outage_is_storage_unavailable_and_retried_until_it_is_back(
    upstream: FakeUpstream, entity: str
) -> None:
    cluster = PostgresCluster()
    running = start_memorid(upstream, cluster.create_database(), "postgres", storage_extra="acquire_timeout_secs = 1")
    try:
        with memorid.Client(running.target, api_key=API_KEY, timeout=10) as plain:
            scope = plain.attribution(entity)
            assert scope.list_facts().facts == ()
            cluster.stop()
            with pytest.raises(memorid.StorageUnavailableError) as caught:
                scope.list_facts()
            assert caught.value.code == grpc.StatusCode.UNAVAILABLE
            assert caught.value.reason == "STORAGE_UNAVAILABLE"

        retry = memorid.RetryPolicy(max_attempts=30, initial_backoff=0.1, max_backoff=0.5)
        restart = threading.Timer(1.0, cluster.start)
        with memorid.Client(running.target, api_key=API_KEY, timeout=30, retry=retry) as patient:
            restart.start()
            assert patient.attribution(entity).list_facts().facts == ()
        restart.join()
    finally:
        running.stop()
        cluster.remove()


def test_max_message_size_is_enforced_by_the_channel(server: MemoridServer, entity: str) -> None:
    with memorid.Client(server.target, api_key=API_KEY, max_message_size=1024) as small:
        small.attribution(entity).attribute([{"role": "user", "content": "short"}])
        with pytest.raises(memorid.MemoridError) as caught:
            small.attribution(entity).attribute([{"role": "user", "content": "x" * 4096}])
    assert caught.value.code == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_tonics_timeout_status_reads_as_deadline_exceeded() -> None:
    # tonic answers a grpc-timeout that passed before the response headers
    # with CANCELLED "Timeout expired" (see memorid.errors.from_status).
    error = memorid.errors.from_status(grpc.StatusCode.CANCELLED, "Timeout expired", None)
    assert isinstance(error, memorid.DeadlineExceededError)
    assert error.code == grpc.StatusCode.DEADLINE_EXCEEDED
    cancelled = memorid.errors.from_status(grpc.StatusCode.CANCELLED, "Cancelled by the client", None)
    assert isinstance(cancelled, memorid.RequestCancelledError)
