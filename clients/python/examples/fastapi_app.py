"""A FastAPI app whose users have long-term memory, through memorid's Chat.

- `POST /chat/{user_id}`: one answer as JSON;
- `POST /chat/{user_id}/stream`: the answer as server-sent events, each delta
  relayed the moment memorid mirrors it (`text/event-stream`);
- `GET /memories/{user_id}?q=...`: what memorid remembers about the user.

A bearer-token dependency maps the caller to an entity (here a token table;
a real app verifies its session or JWT there) and refuses other users'
paths. One `AsyncClient`, opened in the lifespan, serves every request.
memorid's errors become HTTP statuses: a rate-limited upstream is 429 with
`Retry-After`, an unavailable one 503, bad input 422.

Run it:
    MEMORID_TARGET=localhost:50051 MEMORID_MODEL=openai/gpt-4o-mini \\
    APP_TOKENS='{"token-alice": "alice"}' uvicorn fastapi_app:app
    curl -N -H 'authorization: Bearer token-alice' -H 'content-type: application/json' \\
         -d '{"message": "I prefer answers in French."}' localhost:8000/chat/alice/stream
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel

import memorid


class ChatIn(BaseModel):
    message: str
    session_id: str = ""


class ChatOut(BaseModel):
    reply: str
    session_id: str
    turn_id: str


def _status(error: memorid.MemoridError) -> tuple[int, dict[str, str]]:
    if isinstance(error, memorid.QuotaExceededError):
        return 429, {"Retry-After": str(math.ceil(error.retry_after or 1))}
    if isinstance(error, memorid.InvalidArgumentError):
        return 422, {}
    if isinstance(error, memorid.NotFoundError):
        return 404, {}
    if isinstance(error, (memorid.UnavailableError, memorid.DeadlineExceededError)):
        return 503, {}
    return 502, {}


async def caller(request: Request, authorization: Annotated[str, Header()] = "") -> str:
    """The entity the bearer token belongs to (a real app verifies its
    session or JWT here)."""
    tokens: dict[str, str] = request.app.state.tokens
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or token not in tokens:
        raise HTTPException(401, "a valid bearer token is required", headers={"WWW-Authenticate": "Bearer"})
    return tokens[token]


Caller = Annotated[str, Depends(caller)]


def create_app(
    target: str | None = None,
    api_key: str | None = None,
    tokens: Mapping[str, str] | None = None,
    model: str | None = None,
) -> FastAPI:
    target = target or os.environ.get("MEMORID_TARGET", "localhost:50051")
    api_key = api_key or os.environ.get("MEMORID_API_KEY")
    tokens = dict(tokens if tokens is not None else json.loads(os.environ.get("APP_TOKENS", "{}")))
    model = model or os.environ.get("MEMORID_MODEL", "openai/gpt-4o-mini")

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # One client per process, shared by every request and task.
        app.state.memorid = memorid.AsyncClient(target, api_key=api_key, retry=memorid.RetryPolicy())
        yield
        await app.state.memorid.close()

    app = FastAPI(title="memorid FastAPI example", lifespan=lifespan)
    app.state.tokens = tokens

    @app.exception_handler(memorid.MemoridError)
    async def memorid_error(request: Request, error: memorid.MemoridError) -> JSONResponse:
        status, headers = _status(error)
        body: dict[str, Any] = {"reason": error.reason or error.code.name, "message": error.message}
        if error.violations:
            body["fields"] = [v.field for v in error.violations]
        return JSONResponse(body, status_code=status, headers=headers)

    def scope(request: Request, user_id: str, entity: str, session_id: str = "") -> memorid.AsyncAttributionScope:
        if user_id != entity:
            raise HTTPException(403, "that is another user's memory")
        client: memorid.AsyncClient = request.app.state.memorid
        return client.attribution(entity, process_id="fastapi-example", session_id=session_id)

    @app.post("/chat/{user_id}")
    async def chat(request: Request, user_id: str, body: ChatIn, entity: Caller) -> ChatOut:
        mem = scope(request, user_id, entity, body.session_id)
        result = await mem.chat(model, [{"role": "user", "content": body.message}]).collect()
        return ChatOut(reply=result.text, session_id=result.session_id, turn_id=result.turn_id)

    @app.post("/chat/{user_id}/stream")
    async def chat_stream(request: Request, user_id: str, body: ChatIn, entity: Caller) -> StreamingResponse:
        mem = scope(request, user_id, entity, body.session_id)
        stream = mem.chat(model, [{"role": "user", "content": body.message}])
        # Failures before the first token still become a proper HTTP status
        # (the exception handler above); after it, an `error` event.
        started = await stream.start()

        async def events() -> AsyncIterator[str]:
            yield f"event: started\ndata: {json.dumps({'session_id': started.session_id, 'turn_id': started.turn_id})}\n\n"
            try:
                async for event in stream:
                    if isinstance(event, memorid.ChatDelta) and event.text:
                        yield f"data: {json.dumps({'text': event.text})}\n\n"
                    elif isinstance(event, memorid.ChatCompleted):
                        yield f"event: done\ndata: {json.dumps({'finish_reason': event.finish_reason})}\n\n"
            except memorid.MemoridError as error:
                yield f"event: error\ndata: {json.dumps({'reason': error.reason, 'message': error.message})}\n\n"
            finally:
                stream.cancel()  # the browser went away: memorid stops the upstream

        return StreamingResponse(events(), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})

    @app.get("/memories/{user_id}")
    async def memories(request: Request, user_id: str, q: str, entity: Caller, limit: int = 5) -> list[str]:
        hits = await scope(request, user_id, entity).recall(q, limit=limit)
        return [hit.content for hit in hits]

    return app


app = create_app()
