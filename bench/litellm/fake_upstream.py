#!/usr/bin/env python3
"""Manual check tool for the LiteLLM benchmark setup (standard library only).

Not part of the benchmark harness: it exists to check by hand that the
LiteLLM proxy streams what an OpenAI-compatible upstream sends, and to get a
rough requests/s figure. Two subcommands:

  serve  a fake OpenAI-compatible upstream on 127.0.0.1:PORT. POST
         /v1/chat/completions with "stream": true answers as SSE: one frame
         per content token (--chunks, default 20; the first also carries the
         role), a frame with finish_reason "stop", a usage frame (empty
         choices), then "data: [DONE]". Without stream it answers one JSON
         chat.completion. HTTP/1.1 keep-alive, chunked transfer encoding.

  load   a closed-loop load: CONCURRENCY connections each send streamed chat
         requests back to back for DURATION seconds (keep-alive), check that
         every response has all content frames, finish_reason "stop", usage
         and [DONE], and print requests/s and latency percentiles.

  python3 fake_upstream.py serve --port 18080 &
  python3 fake_upstream.py load --url http://127.0.0.1:14000/v1/chat/completions \
      --key sk-bench --concurrency 16 --duration 10
"""

import argparse
import asyncio
import json
import sys
import time

# ---------------------------------------------------------------- upstream


def sse_frames(model, chunks):
    base = {"id": "chatcmpl-fake", "object": "chat.completion.chunk", "created": int(time.time()), "model": model}

    def frame(choices, **extra):
        return b"data: " + json.dumps(dict(base, choices=choices, **extra), separators=(",", ":")).encode() + b"\n\n"

    for i in range(chunks):
        delta = {"content": f"tok{i} "}
        if i == 0:
            delta["role"] = "assistant"
        yield frame([{"index": 0, "delta": delta, "finish_reason": None}])
    yield frame([{"index": 0, "delta": {}, "finish_reason": "stop"}])
    yield frame([], usage={"prompt_tokens": 10, "completion_tokens": chunks, "total_tokens": 10 + chunks})
    yield b"data: [DONE]\n\n"


async def read_request(reader):
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            k, v = line.split(":", 1)
            headers[k.strip().lower()] = v.strip()
    body = b""
    if "content-length" in headers:
        body = await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += data[:-2]
    return method, path, headers, body


def simple_response(status, body, ctype="application/json"):
    return (
        f"HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {len(body)}\r\n\r\n".encode() + body
    )


async def handle(reader, writer, args):
    try:
        while True:
            try:
                method, path, headers, body = await read_request(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                return
            if method == "POST" and path.rstrip("/").endswith("/chat/completions"):
                req = json.loads(body or b"{}")
                model = req.get("model", "bench")
                if req.get("stream"):
                    writer.write(
                        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                        b"cache-control: no-cache\r\ntransfer-encoding: chunked\r\n\r\n"
                    )
                    for frame in sse_frames(model, args.chunks):
                        writer.write(b"%x\r\n%s\r\n" % (len(frame), frame))
                        await writer.drain()
                        if args.delay_ms:
                            await asyncio.sleep(args.delay_ms / 1000)
                    writer.write(b"0\r\n\r\n")
                else:
                    text = "".join(f"tok{i} " for i in range(args.chunks))
                    out = {
                        "id": "chatcmpl-fake",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": model,
                        "choices": [
                            {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
                        ],
                        "usage": {"prompt_tokens": 10, "completion_tokens": args.chunks, "total_tokens": 10 + args.chunks},
                    }
                    writer.write(simple_response("200 OK", json.dumps(out).encode()))
            elif method == "GET" and path.rstrip("/").endswith("/models"):
                out = {"object": "list", "data": [{"id": "bench", "object": "model", "owned_by": "fake"}]}
                writer.write(simple_response("200 OK", json.dumps(out).encode()))
            else:
                writer.write(simple_response("404 Not Found", b'{"error":"not found"}'))
            await writer.drain()
            if headers.get("connection", "").lower() == "close":
                return
    finally:
        writer.close()


async def serve(args):
    server = await asyncio.start_server(lambda r, w: handle(r, w, args), args.host, args.port, backlog=1024)
    print(f"fake upstream on http://{args.host}:{args.port}/v1", flush=True)
    async with server:
        await server.serve_forever()


# ---------------------------------------------------------------- load


async def read_chunked_sse(reader):
    """Reads one chunked (or length-delimited) response body; returns bytes."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = head.split(b" ", 2)[1]
    lower = head.lower()
    if b"transfer-encoding: chunked" in lower:
        body = bytearray()
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += data[:-2]
        return status, bytes(body)
    for line in lower.split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return status, await reader.readexactly(int(line.split(b":")[1]))
    return status, await reader.read()


def check_stream(body, chunks):
    frames = [f[6:] for f in body.split(b"\n\n") if f.startswith(b"data: ")]
    if not frames or frames[-1] != b"[DONE]":
        return "no [DONE]"
    content, finish, usage = [], None, None
    for f in frames[:-1]:
        obj = json.loads(f)
        for ch in obj.get("choices") or []:
            c = (ch.get("delta") or {}).get("content")
            if c:
                content.append(c)
            if ch.get("finish_reason"):
                finish = ch["finish_reason"]
        if obj.get("usage"):
            usage = obj["usage"]
    if "".join(content) != "".join(f"tok{i} " for i in range(chunks)):
        return f"content mismatch ({len(content)} pieces)"
    if finish != "stop":
        return f"finish_reason {finish!r}"
    if not usage:
        return "no usage"
    return None


def check_json(body, chunks):
    obj = json.loads(body)
    text = obj["choices"][0]["message"]["content"]
    if text != "".join(f"tok{i} " for i in range(chunks)):
        return "content mismatch"
    return None if obj.get("usage") else "no usage"


async def client(args, host, port, path, payload, deadline, stats):
    reader, writer = await asyncio.open_connection(host, port)
    auth = f"authorization: Bearer {args.key}\r\n" if args.key else ""
    req = (
        f"POST {path} HTTP/1.1\r\nhost: {host}:{port}\r\ncontent-type: application/json\r\n{auth}"
        f"content-length: {len(payload)}\r\n\r\n"
    ).encode() + payload
    try:
        while time.monotonic() < deadline:
            t0 = time.monotonic()
            writer.write(req)
            status, body = await read_chunked_sse(reader)
            dt = time.monotonic() - t0
            err = None if status == b"200" else f"HTTP {status.decode()}: {body[:200]!r}"
            err = err or (check_json(body, args.chunks) if args.no_stream else check_stream(body, args.chunks))
            if err:
                stats["errors"].append(err)
                if len(stats["errors"]) == 1:
                    print("first error:", err, file=sys.stderr)
            else:
                stats["lat"].append(dt)
    finally:
        writer.close()


def tree_cpu_seconds(root):
    """user+system CPU seconds of process `root` and all its descendants (Linux /proc)."""
    import os

    tick = os.sysconf("SC_CLK_TCK")
    stats = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(d)] = (int(fields[1]), int(fields[11]) + int(fields[12]))  # ppid, utime+stime
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0))[1]
        todo.extend(p for p, (pp, _) in stats.items() if pp == pid)
    return total / tick


async def load(args):
    from urllib.parse import urlsplit

    u = urlsplit(args.url)
    body = {"model": args.model, "messages": [{"role": "user", "content": "hello"}]}
    if not args.no_stream:
        body["stream"] = True
        # without it LiteLLM (like OpenAI) drops the usage frame
        body["stream_options"] = {"include_usage": True}
    payload = json.dumps(body).encode()
    # one warm-up request per connection is not counted
    stats = {"lat": [], "errors": []}
    await client(args, u.hostname, u.port, u.path, payload, time.monotonic() + 0.001, stats)
    if stats["errors"]:
        print("warm-up failed:", stats["errors"][0], file=sys.stderr)
        sys.exit(1)
    stats = {"lat": [], "errors": []}
    cpu0 = tree_cpu_seconds(args.pid) if args.pid else None
    t0 = time.monotonic()
    deadline = t0 + args.duration
    await asyncio.gather(
        *(client(args, u.hostname, u.port, u.path, payload, deadline, stats) for _ in range(args.concurrency))
    )
    wall = time.monotonic() - t0
    lat = sorted(stats["lat"])
    n = len(lat)

    def pct(p):
        return lat[min(n - 1, int(p * n))] * 1000 if n else float("nan")

    print(
        f"{n} ok, {len(stats['errors'])} errors in {wall:.1f} s: {n / wall:.0f} {'plain' if args.no_stream else 'streamed'} req/s; "
        f"latency ms p50 {pct(0.5):.1f} p90 {pct(0.9):.1f} p99 {pct(0.99):.1f}"
    )
    if cpu0 is not None and n:
        cpu = tree_cpu_seconds(args.pid) - cpu0
        print(
            f"pid {args.pid} and children: {cpu:.1f} CPU s, {1000 * cpu / n:.1f} CPU ms per request "
            f"(= {n / cpu:.0f} req/s per fully used core)"
        )
    sys.exit(1 if stats["errors"] or not n else 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=18080)
    s.add_argument("--chunks", type=int, default=20)
    s.add_argument("--delay-ms", type=float, default=0.0, help="pause between SSE frames")
    lo = sub.add_parser("load")
    lo.add_argument("--url", required=True, help="e.g. http://127.0.0.1:14000/v1/chat/completions")
    lo.add_argument("--key", default="", help="bearer token (the proxy's master key)")
    lo.add_argument("--model", default="bench")
    lo.add_argument("--chunks", type=int, default=20, help="content frames the upstream sends")
    lo.add_argument("--concurrency", type=int, default=16)
    lo.add_argument("--duration", type=float, default=10.0)
    lo.add_argument("--no-stream", action="store_true", help="plain JSON requests instead of SSE")
    lo.add_argument("--pid", type=int, help="also report the CPU time this process tree used per request")
    args = ap.parse_args()
    if args.cmd == "load" and not (0 < args.duration <= 600):
        ap.error("--duration must be in (0, 600] seconds")
    try:
        import uvloop  # noqa: F401  (not required; faster when present)

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(serve(args) if args.cmd == "serve" else load(args))


if __name__ == "__main__":
    main()
