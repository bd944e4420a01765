"""Serving on every core: the layers are loaded once, then worker processes are forked.

``serve(settings, host, port)`` loads the layer store in this (the supervising) process and
builds what requests would otherwise build on first use (``ready_store``: the low-zoom tile
copies, ``layers.tiles.GENERAL``, and the access lists compiled), closes what a fork may not
share (database connections: ``LayerStore.before_fork``), freezes the loaded objects out of the
garbage collector's view (so no collection in a worker writes to — and so copies — their pages)
and forks ``settings.workers`` workers (0: one per core; 1: the same ready store served by one
uvicorn process, no fork). Each listens on the service's port with
``SO_REUSEPORT`` (the kernel spreads connections over them), opens its own connections and
state, and runs the version sync, so a layer or rules switch made by any worker (or another
instance) reaches all of them within ``layer_sync_s``. Only worker 0 runs the batch-job
runner: one per instance. A worker that dies is forked again (from the supervisor's layers;
the sync brings it to the versions in force); SIGTERM or SIGINT stops the workers and then the
supervisor, and no worker outlives it.
"""

from __future__ import annotations

import gc
import logging
import os
import signal
import socket
import sys
import time

from app.middleware import malloc_trim
from app.settings import Settings
from layers.store import cores
from layers.tiles import BANDS, GENERAL
from zoning.access_lists import access_lists

log = logging.getLogger("zoning")
QUICK_DEATH_S, MAX_QUICK_DEATHS = 10.0, 5  # a worker that dies this soon after its fork, this often


def worker_count(settings: Settings) -> int:
    """``settings.workers``, or one per core this process may run on (a container's cpuset)."""
    if settings.workers:
        return settings.workers
    return cores()


def _socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to the service's address with ``SO_REUSEPORT``: each worker listens on
    its own, and the kernel spreads new connections evenly over them (one shared socket let one
    worker accept most of a load generator's keep-alive connections, and keep them). Made with
    ``IPPROTO_TCP`` spelled out: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on sockets
    whose ``proto`` says TCP; with proto 0 (``socket.create_server``, uvicorn's ``--workers``) a
    response written in two parts waited for the client's delayed ACK — 40 ms a request."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    return sock


def _die_with_parent(parent: int) -> None:
    """Linux: SIGTERM this worker when the supervisor dies, even by SIGKILL (no orphan keeps
    the port)."""
    import ctypes

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the supervisor died before prctl took effect
        os._exit(0)


def _worker(index: int, settings: Settings, store, host: str, port: int, parent: int) -> None:
    """In the forked process: own connections, own state, the app, uvicorn on its own socket."""
    import uvicorn

    from app.main import create_app
    from app.service import assemble, open_layer_registry

    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    _die_with_parent(parent)
    store.after_fork(open_layer_registry(settings))
    mine = settings.model_copy(update={"run_jobs": settings.run_jobs and index == 0})
    app = create_app(mine, assemble(mine, store))
    sock = _socket(host, port)
    sock.listen(2048)
    config = uvicorn.Config(app, log_level="info", **uvicorn_options(settings))
    uvicorn.Server(config).run(sockets=[sock])


def uvicorn_options(settings: Settings) -> dict:
    """Keep-alive, and whose X-Forwarded-For is believed: only the configured proxies' (uvicorn's
    own default trusts 127.0.0.1, so any local client could rotate its address past the rate
    limit)."""
    proxies = ",".join(settings.trusted_proxies)
    return {"timeout_keep_alive": settings.keep_alive_s, "proxy_headers": bool(proxies),
            "forwarded_allow_ips": proxies or None}


def ready_store(settings: Settings):
    """The layer store, with what requests would otherwise build on first use built now: the
    low-zoom tile copies and the access lists in force (before a fork, shared by the workers)."""
    from app.service import open_store

    t0 = time.perf_counter()
    store = open_store(settings)
    log.info("loaded %d layers in %.1f s", len(store.layers()), time.perf_counter() - t0)
    t0 = time.perf_counter()
    GENERAL.warm(store)
    log.info("generalised the layers for zooms %s in %.1f s", BANDS, time.perf_counter() - t0)
    t0 = time.perf_counter()
    items = sum(len(lst.items) for lst in access_lists(store))
    log.info("compiled %d access-list items in %.1f s", items, time.perf_counter() - t0)
    # what loading freed (parsed files, geometries held once) goes back to the system, not into
    # every worker's copy of the heap (national set: 7.0 -> 5.9 GB)
    gc.collect()
    if (trim := malloc_trim()) is not None:
        trim()
    return store


def _serve_one(settings: Settings, host: str, port: int) -> int:
    """``ZONING_WORKERS=1``: the same ready store in one uvicorn process, no supervisor."""
    import uvicorn

    from app.main import create_app
    from app.service import assemble

    store = ready_store(settings)
    uvicorn.run(create_app(settings, assemble(settings, store)), host=host, port=port, log_level="info",
                **uvicorn_options(settings))
    return 0


def serve(settings: Settings, host: str, port: int) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(message)s")
    n = worker_count(settings)
    if n == 1:
        return _serve_one(settings, host, port)
    parent = os.getpid()
    store = ready_store(settings)
    log.info("forking %d workers", n)
    store.before_fork()
    if settings.gc_freeze:
        gc.collect()
        gc.freeze()
    # bound, never listening: holds the address (a port in use fails here, once) without
    # taking connections, which go to the workers' listening sockets
    sock = _socket(host, port)
    children: dict[int, tuple[int, float]] = {}  # pid -> (worker index, started)
    stopping, quick_deaths, exit_code = False, 0, 0

    def fork(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                sock.close()
                _worker(index, settings, store, host, port, parent)
            except BaseException:
                log.exception("worker %d failed", index)
                code = 1
            finally:
                os._exit(code)
        children[pid] = (index, time.monotonic())

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for i in range(n):
        fork(i)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        except InterruptedError:
            continue
        index, started = children.pop(pid, (None, 0.0))
        if index is not None and not stopping and time.monotonic() - started < QUICK_DEATH_S:
            quick_deaths += 1
            if quick_deaths >= MAX_QUICK_DEATHS:  # it cannot start: say so instead of forking for ever
                log.error("workers keep failing at start (%d times); stopping", quick_deaths)
                stop(signal.SIGTERM, None)
                exit_code = 1
        if index is not None and not stopping:
            log.warning("worker %d (pid %d) ended with status %d; starting it again", index, pid, status)
            time.sleep(0.5)
            fork(index)
    sock.close()
    return exit_code


if __name__ == "__main__":  # python -m app.serve: the same as python -m app
    from app.settings import get_settings

    sys.exit(serve(get_settings(), os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))))
