"""The /map page in headless Chromium: seconds from navigation to the first fully drawn map
(MapLibre's first `idle`), tiles fetched and bytes, for a few views; cold (empty server tile
cache) against warm (the same views again, server cache full, browser cache off).

    python bench/map_page.py [--runs 3]

Prints figures, not pass/fail. Needs Debian's chromium (`make browser`).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import time

import _serve

CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--use-angle=swiftshader",
                 "--enable-unsafe-swiftshader", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWS = {
    "both provinces z5.3": "#5.3/37.6/109.5",
    "太原 z9": "#9/37.87/112.55",
    "太原 z13": "#13/37.87/112.55",
    "宁夏 z8 + GHI raster": "#8/38.2/106.2",
}


def serve() -> tuple[subprocess.Popen, str]:
    return _serve.serve()


def load(browser, url: str, fragment: str, raster: bool) -> tuple[float, int, int]:
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.route("**/*", lambda route: route.continue_(headers={**route.request.headers, "cache-control": "no-cache"}))
    tiles = []
    page.on("response", lambda r: tiles.append(r) if "/tiles/" in r.url and r.url.endswith((".mvt", ".png")) else None)
    t0 = time.perf_counter()
    page.goto(f"{url}/map{fragment}")
    page.wait_for_function("document.body.dataset.ready", timeout=120_000)
    if raster:
        page.locator("#chk-ghi").check()
        page.evaluate("() => new Promise(r => { zoningMap.map.once('idle', r); zoningMap.map.triggerRepaint(); })")
    seconds = time.perf_counter() - t0
    size = sum(len(r.body()) for r in tiles if r.status == 200)
    context.close()
    return seconds, len(tiles), size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = serve()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            print(f"{'view':<24}{'cold s':>8}{'warm s':>8}{'warm/cold':>10}{'tiles':>7}{'KB':>8}")
            for label, fragment in VIEWS.items():
                raster = "raster" in label
                cold = load(browser, url, fragment, raster)  # first visit: server renders every tile
                warm = [load(browser, url, fragment, raster)[0] for _ in range(args.runs)]
                w = statistics.median(warm)
                print(f"{label:<24}{cold[0]:>8.2f}{w:>8.2f}{w / cold[0]:>10.2f}{cold[1]:>7}{cold[2] / 1024:>8.0f}")
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=20)


if __name__ == "__main__":
    main()
