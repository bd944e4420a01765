"""The parsing subprocess. ``run(path, fmt, limits)`` starts ``python -m layers.ingest.worker``
with GDAL drivers other than the few we read switched off (``GDAL_SKIP``) and no network access
for GDAL; it reads a JSON request on stdin, limits its own address space, CPU time, file size
and open files before it imports a parser, and writes a JSON answer (WKB hex + attributes) on
stdout. A crash, a hang or memory exhaustion in a parser ends that process only, and the caller
gets an :class:`IngestError`.

The child is started without a ``preexec_fn``, so CPython spawns it with ``vfork``: the server's
pages (gigabytes of loaded layers) are never copied, and a server short of memory can still
start parsers. At most ``limits.parsers`` run at once per process; a file waits up to
``limits.queue_s`` for a slot (and at most four per slot wait), then the caller gets
:class:`ParsersBusy` (503, Retry-After).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import threading
from functools import lru_cache
from pathlib import Path

from layers.ingest.errors import IngestError, ParsersBusy, UploadTooLarge, reason
from layers.ingest.limits import Limits

ALLOWED_DRIVERS = {"GPKG", "ESRI Shapefile", "KML", "LIBKML", "DXF", "XLSX", "Memory", "MEM", "SQLite"}


@lru_cache
def gdal_skip() -> str:
    import pyogrio

    return " ".join(sorted(d for d in pyogrio.list_drivers() if d not in ALLOWED_DRIVERS and " " not in d))


def _env() -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "PYTHONPATH", "HOME")}
    return {
        **keep,
        "GDAL_SKIP": gdal_skip(),
        "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
        "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".none-allowed",
        "GDAL_HTTP_TIMEOUT": "1",
        "GDAL_HTTP_MAX_RETRY": "0",
        "OGR_SQLITE_ALLOW_EXTERNAL_ACCESS": "NO",
        "DXF_CLOSED_LINE_AS_POLYGON": "TRUE",
        "OGR_XLSX_HEADERS": "FORCE",
        "OGR_XLSX_FIELD_TYPES": "AUTO",
        "PYTHONDONTWRITEBYTECODE": "1",
        "no_proxy": "*", "http_proxy": "http://0.0.0.0:9", "https_proxy": "http://0.0.0.0:9",
    }


def _limit_self(limits: Limits) -> None:
    """Run in the child, before any parser is imported."""
    mem = limits.memory_mb * 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
    cpu = int(limits.timeout_s) + 1
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_FSIZE, (limits.max_uncompressed_bytes, limits.max_uncompressed_bytes))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    os.nice(10)  # the server's own requests come first when parsers and requests share the cores


class _Slots:
    """``n`` parser slots. A file waits for one at most ``queue_s``; when ``4 n`` files already
    wait, the next is refused at once, so waiting uploads never hold every request thread."""

    def __init__(self, n: int):
        self.n, self.free = n, threading.BoundedSemaphore(n)
        self.waiting, self.lock = 0, threading.Lock()

    def acquire(self, timeout: float) -> bool:
        with self.lock:
            if self.waiting >= 4 * self.n:
                return False
            self.waiting += 1
        try:
            return self.free.acquire(timeout=timeout)
        finally:
            with self.lock:
                self.waiting -= 1

    def release(self) -> None:
        self.free.release()


_slots: dict[int, _Slots] = {}
_slots_lock = threading.Lock()


def _slot(limits: Limits) -> _Slots:
    with _slots_lock:
        return _slots.setdefault(limits.parsers, _Slots(limits.parsers))


def run(path: Path, fmt: str, limits: Limits, table: bool = False) -> dict:
    """Parse ``path`` (a server-named file in a private folder) as ``fmt`` in a subprocess:
    parcels, or (``table``) the header and rows of a CSV or XLSX."""
    request = json.dumps({"path": str(path), "format": fmt, "limits": limits.as_dict(), "table": table})
    slot = _slot(limits)
    if not slot.acquire(timeout=limits.queue_s):
        raise ParsersBusy(f"all {limits.parsers} file parsers are busy and none came free in time "
                          f"(at most {limits.queue_s:g} s, {4 * limits.parsers} files waiting; setting "
                          "upload_parsers); try again shortly")
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "layers.ingest.worker"], input=request.encode(), capture_output=True,
            timeout=limits.timeout_s, env=_env(), cwd=path.parent, start_new_session=True, check=False,
        )
    except subprocess.TimeoutExpired:
        raise IngestError(f"parsing the file took longer than {limits.timeout_s:.0f} s and was stopped") from None
    finally:
        slot.release()
    if proc.returncode != 0:
        if proc.returncode < 0:
            sig = signal.Signals(-proc.returncode).name
            why = {"SIGXCPU": "used too much CPU time", "SIGKILL": "was killed (memory or time limit)",
                   "SIGSEGV": "crashed", "SIGXFSZ": "tried to write too much"}.get(sig, f"stopped by {sig}")
        else:
            tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:] or [""]
            why = "ran out of memory" if "MemoryError" in tail[0] else f"failed ({tail[0][:200]})"
        raise IngestError(f"the file could not be parsed: the parser {why}")
    try:
        answer = json.loads(proc.stdout)
    except ValueError:
        raise IngestError("the file could not be parsed: the parser gave no answer") from None
    if not answer.get("ok"):
        cls = UploadTooLarge if answer.get("kind") == "UploadTooLarge" else IngestError
        raise cls(answer.get("message", "unreadable file"))
    return answer


def _parse(request: dict) -> dict:
    import shapely

    from layers.ingest.formats import READERS

    limits = Limits(**request["limits"])
    if request.get("table"):
        from layers.ingest.formats import read_table

        columns, rows = read_table(Path(request["path"]), request["format"], limits)
        return {"ok": True, "columns": columns, "rows": rows}
    raw = READERS[request["format"]](Path(request["path"]), limits)
    if not raw.geometries:
        raise IngestError("the file holds no polygon parcels")
    return {
        "ok": True,
        "crs": raw.crs,
        "crs_source": raw.crs_source,
        "warnings": raw.warnings,
        "parcels": [{"wkb": shapely.to_wkb(g, hex=True), "properties": p}
                    for g, p in zip(raw.geometries, raw.properties)],
    }


def main() -> None:
    request = json.loads(sys.stdin.read())
    _limit_self(Limits(**request["limits"]))
    try:
        answer = _parse(request)
    except IngestError as exc:
        answer = {"ok": False, "kind": type(exc).__name__, "message": str(exc)}
    except MemoryError:
        answer = {"ok": False, "kind": "UploadTooLarge", "message": "the file needs more memory to parse than allowed"}
    except RecursionError:
        answer = {"ok": False, "kind": "IngestError", "message": "the file is nested too deeply"}
    except Exception as exc:  # a reader's own error (GDAL, SQLite, XML): said for people, no paths
        answer = {"ok": False, "kind": "IngestError",
                  "message": f"the file cannot be read: {reason(exc, Path(request['path']))}"}
    sys.stdout.write(json.dumps(answer, ensure_ascii=False))


if __name__ == "__main__":
    main()
