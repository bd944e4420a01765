"""The /map page and its assets. MapLibre GL JS is served from ``app/web/vendor`` (copied
from the npm package at set-up); nothing is fetched from a CDN."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from app.routing import StrictRoute
from layers.errors import NotFound, Unavailable

WEB_DIR = Path(__file__).resolve().parent.parent / "web"
VENDOR_DIR = WEB_DIR / "vendor"
ASSETS = ("map.js", "map.css")

class MapAssetsMissing(Unavailable):
    """The map page's JavaScript was not installed with the service."""

    status, retry_after = 503, None


router = APIRouter(route_class=StrictRoute, tags=["map"], include_in_schema=False)


@router.get("/map")
def map_page():
    if not (VENDOR_DIR / "maplibre-gl.js").is_file():
        raise MapAssetsMissing(f"MapLibre GL JS is not installed in {VENDOR_DIR}; run `make web` "
                               "(npm ci in app/web, then copies the dist files)")
    return FileResponse(WEB_DIR / "map.html", media_type="text/html",
                        headers={"Cache-Control": "no-cache"})


@router.get("/map/assets/{name}")
def asset(name: str):
    if name not in ASSETS:
        raise NotFound(f"no asset {name!r}")
    return FileResponse(WEB_DIR / name, headers={"Cache-Control": "no-cache"})


@router.get("/")
def root():
    return RedirectResponse("/map")


def mount(app: FastAPI) -> None:
    app.include_router(router)
    app.mount("/map/vendor", StaticFiles(directory=VENDOR_DIR, check_dir=False), name="vendor")
