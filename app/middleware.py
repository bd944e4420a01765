"""ASGI middleware: a request-body size limit enforced while the body streams in, rate limits
per caller, and freed memory handed back to the system after slow requests."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import hashlib
import time
from collections import OrderedDict

import anyio
from starlette.requests import Request

from app.auth import key_from
from app.errors import service_error_response
from layers.errors import TooLarge, TooManyRequests


class BodySizeLimit:
    """``max_bytes`` for every request, ``upload_max_bytes`` for the file-upload paths and
    ``version_max_bytes`` for new layer and rules versions (paths ending in ``/versions``)."""

    def __init__(self, app, max_bytes: int, upload_paths: tuple[str, ...] = (), upload_max_bytes: int = 0,
                 version_max_bytes: int = 0):
        self.app = app
        self.max_bytes = max_bytes
        self.upload_paths = upload_paths
        self.upload_max_bytes = upload_max_bytes
        self.version_max_bytes = version_max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        path = scope.get("path", "")
        limit = self.upload_max_bytes if path in self.upload_paths else self.max_bytes
        if self.version_max_bytes and scope.get("method") == "POST" and path.endswith("/versions"):
            limit = self.version_max_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                return await self._reject(scope, receive, send, limit)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(scope, receive, send, limit)

    async def _reject(self, scope, receive, send, limit: int):
        exc = PayloadTooLarge(f"request body exceeds {limit} bytes")
        await service_error_response(scope.get("path", ""), exc)(scope, receive, send)


class PayloadTooLarge(TooLarge):
    status = 413


class _TooLarge(Exception):
    pass


def malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class ReleaseMemory:
    """After a request that took more than ``after_s`` (a big site, an upload, a siting run),
    give the memory glibc keeps in its arenas back to the system: freed blocks otherwise stay
    in the process and the server never returns to its baseline. The trim runs in the
    background, never in a request's way, at most once every ``every_s`` and once more after
    the last slow request: under load every request is slow (it queues), and a trim per
    request of the national set's heap cost a third of the server's CPU (32 clients on
    ``/v1/here``: 78 -> 115 requests/s without them)."""

    def __init__(self, app, after_s: float = 0.05, every_s: float = 0.5):
        self.app, self.after_s, self.every_s, self.trim = app, after_s, every_s, malloc_trim()
        self._due = False
        self._trimmer: asyncio.Task | None = None

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.trim is None:
            return await self.app(scope, receive, send)
        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            if time.perf_counter() - t0 > self.after_s:
                self._due = True
                loop = asyncio.get_running_loop()  # a task of a loop that has closed never ends
                if self._trimmer is None or self._trimmer.done() or self._trimmer.get_loop() is not loop:
                    self._trimmer = loop.create_task(self._trim_while_due())

    async def _trim_while_due(self) -> None:
        while self._due:
            self._due = False
            await anyio.to_thread.run_sync(self.trim)
            await anyio.sleep(self.every_s)


UNLIMITED = ("/tiles/", "/map")  # a map view fetches dozens of (cached) tiles at once


class RateLimit:
    """Requests per minute per caller (tiles and the map page's assets aside), a token bucket
    each: ``per_min_anonymous`` per client address without a key, ``per_min_key`` per API key
    (0 switches either off). Over the limit a 429 says which limit and when to retry
    (Retry-After). Per process; at most ``max_callers`` buckets are kept (the least recently
    seen go first)."""

    def __init__(self, app, per_min_anonymous: int, per_min_key: int, max_callers: int = 100_000):
        self.app, self.max_callers = app, max_callers
        self.rates = {"anonymous": per_min_anonymous, "key": per_min_key}
        self.buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def _caller(self, scope) -> tuple[str, str]:
        key = key_from(Request(scope))
        if key:
            return "key", hashlib.sha256(key.encode("utf-8", "surrogateescape")).hexdigest()[:16]
        client = scope.get("client")
        return "anonymous", client[0] if client else "?"

    def _take(self, kind: str, who: str) -> float:
        """0 when the request may go ahead, else the seconds until a token is back."""
        rate = self.rates[kind] / 60.0
        now = time.monotonic()
        tokens, seen = self.buckets.pop((kind, who), (float(self.rates[kind]), now))
        tokens = min(float(self.rates[kind]), tokens + (now - seen) * rate)
        wait = 0.0 if tokens >= 1 else (1 - tokens) / rate
        self.buckets[(kind, who)] = (tokens - 1 if wait == 0 else tokens, now)
        while len(self.buckets) > self.max_callers:
            self.buckets.popitem(last=False)
        return wait

    async def __call__(self, scope, receive, send):
        path = scope.get("path", "")
        if scope["type"] != "http" or path == "/healthz" or path.startswith(UNLIMITED):
            return await self.app(scope, receive, send)
        kind, who = self._caller(scope)
        if not self.rates[kind]:
            return await self.app(scope, receive, send)
        wait = self._take(kind, who)
        if wait == 0:
            return await self.app(scope, receive, send)
        setting = "rate_limit_anonymous_per_min" if kind == "anonymous" else "rate_limit_key_per_min"
        exc = TooManyRequests(f"more than {self.rates[kind]} requests a minute from this "
                              f"{'address' if kind == 'anonymous' else 'API key'} ({setting})")
        exc.retry_after = max(1, int(wait + 0.999))
        await service_error_response(path, exc)(scope, receive, send)
