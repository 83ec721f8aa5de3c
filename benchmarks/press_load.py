"""A lean load generator for the interaction benchmark, run as its own process.

Keeping the clients out of the bot's and the fakes' processes means their CPU does not
count as the bot's latency, and keep-alive HTTP/1.1 written by hand over asyncio streams
costs far less per request than a full client library, so 50 of them stay cheap.

    python -m benchmarks.press_load < job.json > result.json

The job: {"host", "port", "mode": "press" | "get", "concurrency", "per_client",
"path", "body", "secret"}. The result: {"latencies": [s, ...], "statuses": {code: n},
"wall": s}.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import sys
import time
from typing import Any


def signed_post(host: str, port: int, path: str, body: bytes, secret: str) -> bytes:
    """A POST as Slack sends it: form body, timestamp and v0 signature headers."""
    timestamp = str(int(time.time()))
    base = b"v0:" + timestamp.encode() + b":" + body
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\nX-Slack-Request-Timestamp: {timestamp}\r\n"
        f"X-Slack-Signature: {signature}\r\n\r\n"
    )
    return head.encode() + body


def plain_get(host: str, port: int, path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode()


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    writer.write(request)
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    if length:
        await reader.readexactly(length)
    return status


async def run(job: dict[str, Any]) -> dict[str, Any]:
    host, port = job["host"], int(job["port"])
    concurrency, per_client = int(job["concurrency"]), int(job["per_client"])
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def request() -> bytes:
        if job["mode"] == "get":
            return plain_get(host, port, job["path"])
        return signed_post(host, port, job["path"], job["body"].encode(), job["secret"])

    connections = [await asyncio.open_connection(host, port) for _ in range(concurrency)]
    ready = asyncio.Event()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await ready.wait()
        for _ in range(per_client):
            data = request()
            started = time.perf_counter()
            status = await _exchange(reader, writer, data)
            latencies.append(time.perf_counter() - started)
            statuses[status] = statuses.get(status, 0) + 1

    tasks = [asyncio.create_task(client(r, w)) for r, w in connections]
    await asyncio.sleep(0)
    started = time.perf_counter()
    ready.set()
    await asyncio.gather(*tasks)
    wall = time.perf_counter() - started
    for _, writer in connections:
        writer.close()
    return {"latencies": latencies, "statuses": statuses, "wall": wall}


def main() -> None:
    job = json.load(sys.stdin)
    json.dump(asyncio.run(run(job)), sys.stdout)


if __name__ == "__main__":
    main()
