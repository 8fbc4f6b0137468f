"""The HTTP ingest baseline: a bare FastAPI + uvicorn endpoint doing only what any endpoint must.

It reads the same structured CloudEvent body, parses it with the hub's own parser, and answers
202, in a child process as the hub runs: ``http_ingest_per_s`` over this is ``http_ingest_ratio``,
what authentication, validation, consent bookkeeping and the outbox commit cost on top.

``python -m bench.ingest_baseline PORT`` serves it.
"""

from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from hub.contracts import parse_structured

__all__ = ["baseline_server"]


def _app() -> FastAPI:
    app = FastAPI()

    @app.post("/v1/events", status_code=202)
    async def submit(request: Request) -> JSONResponse:
        event = parse_structured(await request.body())
        return JSONResponse(
            {"id": event.id, "type": event.type, "status": "accepted"}, status_code=202
        )

    return app


@asynccontextmanager
async def baseline_server() -> AsyncIterator[str]:
    """The baseline in a child process; yields its base URL."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bench.ingest_baseline",
        str(port),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        for _ in range(300):
            try:
                _, writer = await asyncio.open_connection("127.0.0.1", port)
            except OSError:
                if child.returncode is not None:
                    raise RuntimeError("the ingest baseline server exited") from None
                await asyncio.sleep(0.05)
                continue
            writer.close()
            break
        yield f"http://127.0.0.1:{port}"
    finally:
        child.terminate()
        await child.wait()


if __name__ == "__main__":
    uvicorn.run(
        _app(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False
    )
