"""Serving on every core (app/serve.py): layers loaded once, workers forked; a switch made
through one worker reaches every worker; one job runner per instance; no worker outlives the
supervisor, even when it is killed."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.request

import httpx

from tests.conftest import ADMIN_KEY, server_process


def _fresh(url: str, path: str) -> dict:
    """GET on a new connection (so the kernel may hand it to either worker)."""
    with urllib.request.urlopen(url + path, timeout=10) as r:
        return json.loads(r.read())


def _by_worker(url: str, path: str, within_s: float = 30.0) -> dict[int, dict]:
    """What each worker answers, asked on new connections until two have answered (a worker
    that is still starting — on a loaded machine, seconds after the first — is waited for)."""
    seen: dict[int, dict] = {}
    deadline = time.monotonic() + within_s
    while len(seen) < 2 and time.monotonic() < deadline:
        h = _fresh(url, "/healthz")
        seen[h["pid"]] = {"health": h, "body": _fresh(url, path)}
        if len(seen) < 2:
            time.sleep(0.05)
    return seen


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False


def test_workers_share_the_layers_and_every_switch_reaches_them(tmp_path):
    with server_process(tmp_path, ZONING_WORKERS="2", ZONING_ADMIN_KEY=ADMIN_KEY, ZONING_LAYER_SYNC_S="0.5") as (url, proc):
        seen = _by_worker(url, "/v1/layers/access_lists")
        assert len(seen) == 2, "two workers answer"
        assert sorted(w["health"]["runs_jobs"] for w in seen.values()) == [False, True]  # one job runner
        assert all(p != proc.pid for p in seen)  # the supervisor itself serves nothing
        old = {w["body"]["version"] for w in seen.values()}
        assert len(old) == 1
        # a new version of the access list, published through whichever worker takes it
        table = httpx.get(url + "/v1/control-units/ZH64010530001", timeout=10).json()
        assert table["lists"][0]["items"]
        with httpx.Client(base_url=url, timeout=60, headers={"X-API-Key": ADMIN_KEY}) as c:
            body = "item_id,scope,text,level,dimension,verdict\nT-1,ZH64010530001,测试条目。,unit,空间布局约束,conditional\n"
            r = c.post("/v1/layers/access_lists/versions", files={"file": ("t.csv", body.encode(), "text/csv")})
            assert r.status_code == 201, r.text
            new = r.json()["version"]
        deadline = time.monotonic() + 20
        while True:
            seen = _by_worker(url, "/v1/layers/access_lists")
            versions = {w["body"]["version"] for w in seen.values()}
            if len(seen) == 2 and versions == {new}:
                break
            assert time.monotonic() < deadline, f"workers still at {versions}"
            time.sleep(0.3)
        workers = list(seen)
        os.kill(proc.pid, signal.SIGKILL)  # the supervisor dies hard: its workers go with it
        proc.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in workers):
            assert time.monotonic() < deadline, "a worker outlived the supervisor"
            time.sleep(0.1)
