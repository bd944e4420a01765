"""The command line and a real server process, as a newcomer would use them."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

from tests.conftest import TANGSHAN, square


def test_cli_assess(tmp_path):
    site = tmp_path / "site.geojson"
    site.write_text(json.dumps(square(*TANGSHAN)), encoding="utf-8")
    out = subprocess.run([sys.executable, "-m", "app.cli", "assess", str(site), "--industry", "C3120"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["verdict"] == "prohibited"
    bad = subprocess.run([sys.executable, "-m", "app.cli", "assess", str(site), "--industry", "Q0000"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "unknown industry" in bad.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_boots_and_answers_healthz():
    port = _free_port()
    env = {**os.environ, "HOST": "127.0.0.1", "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, "-m", "app"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        first = proc.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in first
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as r:
                    body = json.loads(r.read())
                break
            except OSError:
                assert time.monotonic() < deadline, "server did not come up in 60 s"
                assert proc.poll() is None, "server exited"
                time.sleep(0.2)
        assert body["status"] == "ok" and body["layers"] > 0
    finally:
        proc.terminate()
        proc.wait(timeout=20)
