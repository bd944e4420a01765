"""Start a server for a bench on a free loopback port and wait until it answers."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request


def serve(args: list[str] | None = None, env: dict | None = None, stdout=subprocess.DEVNULL,
          timeout_s: float = 60) -> tuple[subprocess.Popen, str]:
    """``python -m app`` (or ``python <args>`` with ``{port}`` filled in) → (process, base URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, *[a.format(port=port) for a in (args or ["-m", "app"])]]
    proc = subprocess.Popen(cmd, env={**os.environ, **(env or {}), "HOST": "127.0.0.1", "PORT": str(port)},
                            stdout=stdout, stderr=subprocess.STDOUT if stdout is not subprocess.DEVNULL else stdout)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            urllib.request.urlopen(f"{url}/healthz", timeout=1)
            return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("server did not start")
