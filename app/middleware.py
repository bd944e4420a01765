"""ASGI middleware: a request-body size limit enforced while the body streams in."""

from __future__ import annotations

import orjson


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
                return await self._reject(send, limit)
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
            await self._reject(send, limit)

    async def _reject(self, send, limit: int):
        body = orjson.dumps(
            {"error": "PayloadTooLarge", "detail": f"request body exceeds {limit} bytes"}
        )
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass


def _malloc_trim():
    """glibc's malloc_trim, or None where the C library has none (musl, macOS)."""
    import ctypes
    import ctypes.util

    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        trim = libc.malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes, trim.restype = [ctypes.c_size_t], ctypes.c_int
    return lambda: trim(0)


class ReleaseMemory:
    """After a request that took more than ``after_s`` (a big site, an upload, a siting run),
    give the memory glibc keeps in its arenas back to the system, off the event loop: freed
    blocks otherwise stay in the process and the server never returns to its baseline."""

    def __init__(self, app, after_s: float = 0.05):
        self.app, self.after_s, self.trim = app, after_s, _malloc_trim()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or self.trim is None:
            return await self.app(scope, receive, send)
        import time

        import anyio

        t0 = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            if time.perf_counter() - t0 > self.after_s:
                await anyio.to_thread.run_sync(self.trim)
