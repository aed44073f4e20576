"""Fake upstream model servers that speak the real wire formats.

One HTTP/1.1 server (stdlib, a thread per connection) answers:
- `POST /v1/chat/completions`: OpenAI Chat Completions, streamed (SSE frames
  exactly as the API sends them: a role frame, content frames, a finish
  frame, a usage frame with `choices: []` when `stream_options.include_usage`
  is set, then `data: [DONE]`) or whole. Requests whose `response_format` is
  memorid's extraction schema (`json_schema` named `memories`) are answered
  by a rule-based extraction model: each first-person sentence of the turn's
  user text becomes a fact ("I prefer async Python" → "prefers async
  Python"), a fact equal to a known one is answered `same`.
- `POST /v1/embeddings`: deterministic bag-of-words vectors (words hashed
  into 256 dimensions, crudely stemmed, L2-normalized), base64 or floats as
  asked, so texts sharing words are close.
- `POST /v1/messages`: Anthropic Messages, streamed (typed `event:` / `data:`
  SSE events in the API's order, pings included) or whole.

Chat answers follow a `Script` chosen by the request's model name, so tests
running side by side never share a script; knobs: text pieces, delay, an
HTTP error before the stream, an error event or a cut-off mid-stream, a stall
until the client hangs up, and a gate that holds each piece until the test
releases it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import re
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DIMENSIONS = 256
_STOP_WORDS = {
    "a", "an", "the", "i", "my", "me", "is", "am", "are", "to", "of", "and", "in", "on", "for",
    "with", "what", "do", "does", "you", "your", "it", "that", "this", "be", "at", "about", "user",
}


@dataclass
class Reject:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Script:
    pieces: list[str] = field(default_factory=lambda: ["Hello", ", ", "world"])
    finish_reason: str = "stop"
    usage: tuple[int, int, int] | None = (11, 3, 0)
    """(prompt, completion, cached) tokens."""
    delay: float = 0.0
    """Seconds before each content frame (and before a whole answer)."""
    reject: Reject | None = None
    error_after: int | None = None
    """After this many content frames, an error frame/event and the end."""
    cut_after: int | None = None
    """After this many content frames, end the body without its end marker."""
    stall_after: int | None = None
    """After this many content frames, send nothing until the client hangs up."""
    gate: threading.Semaphore | None = None
    """Content frame n ≥ 1 waits for a release."""
    tool_calls: list[tuple[str, str, list[str]]] = field(default_factory=list)
    """(id, name, argument pieces), sent after the text."""


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def model(self) -> str:
        return str(self.body.get("model", ""))

    @property
    def is_extraction(self) -> bool:
        fmt = self.body.get("response_format") or {}
        return fmt.get("type") == "json_schema" and (fmt.get("json_schema") or {}).get("name") == "memories"


def _stem(word: str) -> str:
    return word[:5]


def words(text: str) -> list[str]:
    return [_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOP_WORDS]


def pseudo_vector(text: str) -> list[float]:
    """Bag of (stemmed) words hashed into DIMENSIONS, L2-normalized; a text
    with no content words gets a fixed vector of its own."""
    vector = [0.0] * DIMENSIONS
    tokens = words(text) or ["<empty>"]
    for token in tokens:
        digest = hashlib.blake2b(token.encode(), digest_size=8).digest()
        index = int.from_bytes(digest[:4], "little") % DIMENSIONS
        sign = 1.0 if digest[4] & 1 else -1.0
        vector[index] += sign
    norm = math.sqrt(sum(v * v for v in vector)) or 1.0
    return [v / norm for v in vector]


_VERBS = {"am": "is", "have": "has", "do": "does", "go": "goes", "'m": "is"}


def third_person(sentence: str) -> str | None:
    """"I prefer async Python" → "prefers async Python"; None if the
    sentence is not about the speaker."""
    s = sentence.strip().rstrip(".!?").strip()
    m = re.match(r"^(?:I'm|I am)\s+(.+)$", s)
    if m:
        return f"is {m.group(1)}"
    m = re.match(r"^I\s+(\w+)\s*(.*)$", s)
    if m:
        verb, rest = m.group(1), m.group(2)
        if verb.lower() in _VERBS:
            verb = _VERBS[verb.lower()]
        elif verb.endswith(("s", "sh", "ch", "x")):
            verb += "es"
        elif verb.endswith("y") and verb[-2:-1] not in "aeiou":
            verb = verb[:-1] + "ies"
        else:
            verb += "s"
        return f"{verb} {rest}".strip()
    m = re.match(r"^My\s+(.+)$", s)
    if m:
        return m.group(1)
    return None


def _category(fact: str) -> str:
    first = fact.split(" ", 1)[0]
    if first in ("prefers", "likes", "loves", "hates", "dislikes", "enjoys", "wants"):
        return "preference"
    if first in ("is", "lives", "has"):
        return "attribute"
    if first in ("uses", "knows", "speaks", "works", "writes"):
        return "skill"
    return "other"


def extraction_answer(request: dict[str, Any]) -> str:
    """What memorid's extraction model would answer for this request."""
    context = ""
    for message in request.get("messages", []):
        if message.get("role") == "user":
            context = message.get("content") or ""
    known: dict[str, str] = {}
    for line in context.splitlines():
        m = re.match(r"^- (f\d+): (.*)$", line)
        if m:
            known[m.group(2).strip().lower()] = m.group(1)
    turn = context.split("The turn:\n", 1)[-1]
    user_lines: list[str] = []
    speaking = False
    for line in turn.splitlines():
        if line.startswith("user: "):
            speaking = True
            user_lines.append(line[len("user: "):])
        elif line.startswith("assistant: "):
            speaking = False
        elif speaking:
            user_lines.append(line)
    facts = []
    for sentence in re.split(r"(?<=[.!?])\s+|\n", " ".join(user_lines)):
        content = third_person(sentence)
        if not content:
            continue
        existing = known.get(content.lower(), "")
        facts.append(
            {
                "content": content,
                "category": _category(content),
                "action": "same" if existing else "new",
                "existing_id": existing,
            }
        )
    return json.dumps({"facts": facts, "triples": [], "process_attributes": [], "summary": " ".join(user_lines)[:200]})


class FakeUpstream:
    """The fake servers on one port; `base_url` for OpenAI-style clients
    (`.../v1`), `anthropic_url` for Anthropic-style ones."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[Script]] = {}
        self._requests: list[Recorded] = []
        self._hangups: dict[str, threading.Event] = {}
        self._finished: dict[str, int] = {}
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = _Server(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-upstream", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def script(self, model: str, *scripts: Script) -> None:
        """Answer chats for `model` (as the upstream sees it) with these
        scripts, one request each; the last one answers every request after."""
        with self._lock:
            self._scripts[model] = list(scripts)
            self._hangups[model] = threading.Event()

    def _script_for(self, model: str) -> Script:
        with self._lock:
            scripts = self._scripts.get(model)
            if not scripts:
                return Script()
            return scripts.pop(0) if len(scripts) > 1 else scripts[0]

    def requests(self, model: str | None = None, path: str | None = None, extraction: bool | None = None) -> list[Recorded]:
        with self._lock:
            found = list(self._requests)
        return [
            r
            for r in found
            if (model is None or r.model == model)
            and (path is None or r.path == path)
            and (extraction is None or r.is_extraction == extraction)
        ]

    def wait_for_hangup(self, model: str, timeout: float) -> bool:
        """True once a stream of `model` saw its client hang up early."""
        with self._lock:
            event = self._hangups.setdefault(model, threading.Event())
        return event.wait(timeout)

    def finished_streams(self, model: str) -> int:
        with self._lock:
            return self._finished.get(model, 0)

    def _record(self, path: str, headers: dict[str, str], body: dict[str, Any]) -> None:
        with self._lock:
            self._requests.append(Recorded(path, headers, body))

    def _hung_up(self, model: str) -> None:
        with self._lock:
            self._hangups.setdefault(model, threading.Event()).set()

    def _stream_finished(self, model: str) -> None:
        with self._lock:
            self._finished[model] = self._finished.get(model, 0) + 1


class _Server(ThreadingHTTPServer):
    # The default backlog of 5 resets connections when a test opens many at once.
    request_queue_size = 512
    daemon_threads = True


class _ClientGone(Exception):
    pass


class _Handler(BaseHTTPRequestHandler):
    fake: FakeUpstream
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # --- plumbing ----------------------------------------------------------

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _start_sse(self) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream; charset=utf-8")
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        if self._client_gone():
            raise _ClientGone
        try:
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError) as error:
            raise _ClientGone from error

    def _end_chunks(self) -> None:
        try:
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _client_gone(self) -> bool:
        readable, _, _ = select.select([self.connection], [], [], 0)
        if not readable:
            return False
        try:
            return self.connection.recv(1, socket.MSG_PEEK) == b""
        except (ConnectionResetError, OSError):
            return True

    def _pause(self, seconds: float) -> None:
        """Sleeps, watching for the client to hang up."""
        end = time.monotonic() + seconds
        while True:
            if self._client_gone():
                raise _ClientGone
            left = end - time.monotonic()
            if left <= 0:
                return
            time.sleep(min(0.02, left))

    def _stall(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self._client_gone():
                raise _ClientGone
            time.sleep(0.02)
        raise _ClientGone

    def _gate(self, script: Script, n: int) -> None:
        if script.gate is not None and n > 0:
            deadline = time.monotonic() + 30
            while not script.gate.acquire(timeout=0.02):
                if self._client_gone() or time.monotonic() > deadline:
                    raise _ClientGone

    def _chunk_ack(self, script: Script, n: int) -> None:
        self._gate(script, n)
        if script.delay:
            self._pause(script.delay)

    def do_POST(self) -> None:  # noqa: N802 (the stdlib's name)
        length = int(self.headers.get("content-length", "0"))
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            self._json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        path = self.path.split("?", 1)[0]
        self.fake._record(path, headers, body)
        model = str(body.get("model", ""))
        try:
            if path == "/v1/embeddings":
                self._embeddings(body)
            elif path == "/v1/chat/completions":
                self._openai(body, model)
            elif path == "/v1/messages":
                self._anthropic(body, model)
            else:
                self._json(404, {"error": {"message": f"no route {path}", "type": "not_found"}})
        except _ClientGone:
            self.fake._hung_up(model)
            self.close_connection = True

    # --- embeddings -----------------------------------------------------------

    def _embeddings(self, body: dict[str, Any]) -> None:
        inputs = body.get("input", [])
        if isinstance(inputs, str):
            inputs = [inputs]
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, text in enumerate(inputs):
            vector = pseudo_vector(str(text))
            embedding: Any = (
                base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode() if as_base64 else vector
            )
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        self._json(
            200,
            {"object": "list", "data": data, "model": body.get("model"), "usage": {"prompt_tokens": 0, "total_tokens": 0}},
        )

    # --- OpenAI ---------------------------------------------------------------

    def _openai(self, body: dict[str, Any], model: str) -> None:
        stream = bool(body.get("stream"))
        recorded = Recorded("/v1/chat/completions", {}, body)
        if recorded.is_extraction:
            script = Script(pieces=[extraction_answer(body)], usage=(50, 20, 0))
        else:
            script = self.fake._script_for(model)
        if script.reject is not None:
            self._json(script.reject.status, script.reject.body, script.reject.headers)
            return
        created = int(time.time())
        if not stream:
            if script.delay:
                self._pause(script.delay)
            message: dict[str, Any] = {"role": "assistant", "content": "".join(script.pieces), "refusal": None, "annotations": []}
            if script.tool_calls:
                message["tool_calls"] = [
                    {"id": cid, "type": "function", "function": {"name": name, "arguments": "".join(args)}}
                    for cid, name, args in script.tool_calls
                ]
            prompt, completion, cached = script.usage or (0, 0, 0)
            self._json(
                200,
                {
                    "id": "chatcmpl-fake", "object": "chat.completion", "created": created, "model": model,
                    "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": script.finish_reason}],
                    "usage": {
                        "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                        "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                        "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                      "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
                    },
                    "service_tier": "default",
                    "system_fingerprint": "fp_fake",
                },
            )
            return
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

        def chunk(delta: dict[str, Any], finish: str | None) -> bytes:
            frame: dict[str, Any] = {
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                "service_tier": "default", "system_fingerprint": "fp_fake",
                "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
            }
            if include_usage:
                frame["usage"] = None
            return f"data: {json.dumps(frame)}\n\n".encode()

        self._start_sse()
        self._chunk(chunk({"role": "assistant", "content": "", "refusal": None}, None))
        for n, piece in enumerate(script.pieces):
            if script.stall_after == n:
                self._stall()
            if script.error_after == n:
                error = {"error": {"message": "The server had an error while processing your request.",
                                   "type": "server_error", "param": None, "code": None}}
                self._chunk(f"data: {json.dumps(error)}\n\n".encode())
                self._end_chunks()
                return
            if script.cut_after == n:
                self._end_chunks()
                return
            self._chunk_ack(script, n)
            self._chunk(chunk({"content": piece}, None))
        for index, (cid, name, args) in enumerate(script.tool_calls):
            self._chunk(chunk({"tool_calls": [{"index": index, "id": cid, "type": "function",
                                               "function": {"name": name, "arguments": ""}}]}, None))
            for piece in args:
                self._chunk(chunk({"tool_calls": [{"index": index, "function": {"arguments": piece}}]}, None))
        self._chunk(chunk({}, script.finish_reason))
        if include_usage and script.usage is not None:
            prompt, completion, cached = script.usage
            usage = {
                "id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": created, "model": model,
                "service_tier": "default", "system_fingerprint": "fp_fake", "choices": [],
                "usage": {
                    "prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion,
                    "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                    "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0,
                                                  "accepted_prediction_tokens": 0, "rejected_prediction_tokens": 0},
                },
            }
            self._chunk(f"data: {json.dumps(usage)}\n\n".encode())
        self._chunk(b"data: [DONE]\n\n")
        self._end_chunks()
        self.fake._stream_finished(model)

    # --- Anthropic ------------------------------------------------------------

    def _anthropic(self, body: dict[str, Any], model: str) -> None:
        script = self.fake._script_for(model)
        if script.reject is not None:
            self._json(script.reject.status, script.reject.body, script.reject.headers)
            return
        stop_reason = {"stop": "end_turn", "length": "max_tokens", "tool_calls": "tool_use"}.get(
            script.finish_reason, script.finish_reason
        )
        prompt, completion, cached = script.usage or (0, 0, 0)
        if not body.get("stream"):
            if script.delay:
                self._pause(script.delay)
            content: list[dict[str, Any]] = [{"type": "text", "text": "".join(script.pieces)}]
            for cid, name, args in script.tool_calls:
                content.append({"type": "tool_use", "id": cid, "name": name, "input": json.loads("".join(args) or "{}")})
            self._json(
                200,
                {
                    "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": content,
                    "stop_reason": stop_reason, "stop_sequence": None,
                    "usage": {"input_tokens": prompt, "output_tokens": completion,
                              "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached},
                },
            )
            return

        def event(name: str, data: dict[str, Any]) -> bytes:
            return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()

        self._start_sse()
        self._chunk(event("message_start", {"type": "message_start", "message": {
            "id": "msg_fake", "type": "message", "role": "assistant", "model": model, "content": [],
            "stop_reason": None, "stop_sequence": None,
            "usage": {"input_tokens": prompt, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": cached}}}))
        self._chunk(event("content_block_start", {"type": "content_block_start", "index": 0,
                                                  "content_block": {"type": "text", "text": ""}}))
        self._chunk(event("ping", {"type": "ping"}))
        for n, piece in enumerate(script.pieces):
            if script.stall_after == n:
                self._stall()
            if script.error_after == n:
                self._chunk(event("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}))
                self._end_chunks()
                return
            if script.cut_after == n:
                self._end_chunks()
                return
            self._chunk_ack(script, n)
            self._chunk(event("content_block_delta", {"type": "content_block_delta", "index": 0,
                                                      "delta": {"type": "text_delta", "text": piece}}))
        self._chunk(event("content_block_stop", {"type": "content_block_stop", "index": 0}))
        for index, (cid, name, args) in enumerate(script.tool_calls, start=1):
            self._chunk(event("content_block_start", {"type": "content_block_start", "index": index,
                                                      "content_block": {"type": "tool_use", "id": cid, "name": name, "input": {}}}))
            for piece in args:
                self._chunk(event("content_block_delta", {"type": "content_block_delta", "index": index,
                                                          "delta": {"type": "input_json_delta", "partial_json": piece}}))
            self._chunk(event("content_block_stop", {"type": "content_block_stop", "index": index}))
        self._chunk(event("message_delta", {"type": "message_delta",
                                            "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                                            "usage": {"output_tokens": completion}}))
        self._chunk(event("message_stop", {"type": "message_stop"}))
        self._end_chunks()
        self.fake._stream_finished(model)
