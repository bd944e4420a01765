"""Hostile and broken uploads (tests/hostile/files, built by make_corpus.py, plus two large
ones made here): each gets a clear 4xx naming the problem, nothing is stored or left on disk,
and the service stays healthy."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

import pytest

from tests.hostile.make_corpus import SQ, fc, large_cases

FILES = Path(__file__).parent / "hostile" / "files"

# file → (status, words the detail must contain, crs parameter)
CASES: dict[str, tuple[int, str, str | None]] = {
    "zip_slip.zip": (422, "zip slip", None),
    "zip_absolute_path.zip": (422, "absolute or parent path", None),
    "zip_bomb.zip": (413, "zip bomb", None),
    "zip_high_ratio.zip": (413, "fold", None),
    "zip_nested.zip": (422, "itself an archive", None),
    "zip_symlink.zip": (422, "symbolic link", None),
    "zip_many_members.zip": (413, "entries", None),
    "zip_encrypted.zip": (422, "encrypted", None),
    "shp_missing_shx.zip": (422, ".shx", None),
    "shp_two_shapefiles.zip": (422, "2 Shapefiles", None),
    "zip_without_shapefile.zip": (422, "no .shp", None),
    "xxe.kml": (422, "DTD", None),
    "billion_laughs.kml": (422, "DTD", None),
    "xxe_inside.kmz": (422, "DTD", None),
    "url_instead_of_json.geojson": (415, "format", None),
    "vsicurl_geometry.geojson": (422, "no geometry", None),
    "crs_link.geojson": (422, "linked CRSs are not followed", None),
    "deep_nesting.geojson": (422, "nested", None),
    "nan.geojson": (422, "NaN", None),
    "infinity.geojson": (422, "NaN or infinity", None),
    "bowtie.geojson": (422, "Self-intersection", None),
    "unclosed_ring.geojson": (422, "closed", None),
    "empty.geojson": (422, "empty", None),
    "empty_collection.geojson": (422, "no polygon parcels", None),
    "json_named_kml.kml": (415, "its content is geojson", None),
    "point_not_parcel.geojson": (422, "Polygon or MultiPolygon", None),
    "gk_metres_as_degrees.geojson": (422, "EPSG:4526", None),
    "huge_numbers.geojson": (422, "cannot be degrees", None),
    "landtxt_zone_mismatch.txt": (422, "带号=39", None),
    "landtxt_xian80.txt": (422, "西安80", None),
    "csv_text_coordinates.csv": (422, "not numbers", None),
    "csv_wrong_zone_for_crs.csv": (422, "zone 39", "EPSG:4527"),
    "plain_sqlite.gpkg": (415, "not a GeoPackage", None),
    "random_bytes.shp": (415, "format", None),
    "gpkg_points_only.gpkg": (422, "no polygon layer", None),
    "dxf_open_polyline.dxf": (422, "closed", None),
    "xlsx_with_dtd.xlsx": (422, "DTD", None),
    "gk_empty_multipolygon.geojson": (422, "empty", None),
    "kml_many_folders.kml": (413, "3,000 folders", None),
    "gpkg_recursive_view.gpkg": (422, "SQLite steps", None),
    "kml_truncated.kml": (422, "cannot be read: ERROR parsing kml upload.kml", None),
    "gpkg_truncated.gpkg": (422, "malformed", None),
}
LARGE = {
    "csv_million_parcels.csv": (413, "more than 10000 parcels", None),
    "too_many_features.geojson": (413, "10001 features", None),
    "million_vertices.geojson": (413, "vertices", None),
}


def test_the_corpus_is_complete():
    on_disk = {p.name for p in FILES.iterdir()}
    assert on_disk == set(CASES), on_disk ^ set(CASES)
    assert len(CASES) + len(LARGE) >= 30


def _upload_dirs() -> set[str]:
    return {p.name for p in Path(tempfile.gettempdir()).glob("upload-*")}


@pytest.fixture
def private_tmp(tmp_path, monkeypatch):
    """Uploads go to a temporary folder of this test only, so other processes using /tmp at
    the same time cannot disturb the "nothing left on disk" check."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


def _post(client, name: str, data: bytes, crs: str | None, path: str = "/v1/sites"):
    form = {"crs": crs} if crs else {}
    if path == "/v1/assess/upload":
        form["industry"] = "C3120"
    return client.post(path, files={"file": (name, data)}, data=form)


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_file_gets_a_clear_4xx(client, name, private_tmp):
    status, words, crs = CASES[name]
    before_dirs, before_records = _upload_dirs(), client.app.state.services.records.count()
    r = _post(client, name, (FILES / name).read_bytes(), crs, path="/v1/assess/upload")
    assert r.status_code == status, r.text
    assert words in r.json()["detail"], r.json()
    assert str(private_tmp) not in r.text and "upload-" not in r.text  # no server paths in the answer
    assert client.app.state.services.records.count() == before_records  # nothing stored
    assert _upload_dirs() == before_dirs == set()  # nothing left on disk


@pytest.mark.parametrize("name", sorted(LARGE))
def test_large_hostile_files(client, name):
    status, words, crs = LARGE[name]
    r = _post(client, name, large_cases()[name], crs)
    assert r.status_code == status and words in r.json()["detail"], r.text


def test_the_service_is_healthy_after_the_corpus(live_server):
    """The whole corpus against the real server process, then it still answers."""
    import httpx

    with httpx.Client(base_url=live_server, timeout=60) as http:
        for name, (status, _, crs) in CASES.items():
            r = http.post("/v1/sites", files={"file": (name, (FILES / name).read_bytes())},
                          data={"crs": crs} if crs else {})
            assert r.status_code == status, (name, r.text)
        assert http.get("/healthz").json()["status"] == "ok"


def test_parser_limits_stop_a_runaway_parse(tmp_path):
    """Memory and time limits end the parsing subprocess, not the server."""
    from layers.ingest import IngestError, Limits, read_upload

    big = large_cases()["million_vertices.geojson"]
    with pytest.raises(IngestError, match="memory|killed|stopped|could not be parsed"):
        read_upload(big, "big.geojson", limits=Limits(memory_mb=160, max_vertices=2_000_000,
                                                      max_vertices_per_feature=2_000_000))
    with pytest.raises(IngestError, match="longer than"):
        read_upload(big, "big.geojson", limits=Limits(timeout_s=0.3, max_vertices=2_000_000,
                                                      max_vertices_per_feature=2_000_000))


def test_oversized_upload_is_refused_before_parsing(client):
    from app.settings import Settings

    limit = Settings().upload_max_bytes
    r = client.post("/v1/sites", files={"file": ("big.geojson", b" " * (limit + 70_000))})
    assert r.status_code == 413


def test_parsers_are_bounded_then_503_with_retry_after(client, monkeypatch):
    """With every parser slot taken, a file waits ``queue_s`` and then gets a 503 naming the
    limit, with Retry-After; once a slot is free, uploads work again."""
    from layers.ingest import worker

    settings = client.app.state.services.settings
    monkeypatch.setattr(settings, "upload_parsers", 1)
    monkeypatch.setattr(settings, "upload_queue_s", 0.2)
    slot = worker._slot(settings.upload_limits())
    data = fc({"type": "Polygon", "coordinates": [SQ]})
    assert slot.acquire(timeout=5)  # a long parse holds the only slot
    try:
        r = _post(client, "site.geojson", data, None)
        assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
        assert "parsers are busy" in r.json()["detail"] and "upload_parsers" in r.json()["detail"]
    finally:
        slot.release()
    assert _post(client, "site.geojson", data, None).status_code == 200  # parsed again


def test_waiting_files_are_bounded():
    """At most four files wait per parser slot; the next is refused at once, so waiting
    uploads cannot hold every request thread."""
    import threading

    from layers.ingest.worker import _Slots

    slots = _Slots(1)
    assert slots.acquire(timeout=1)  # the slot is taken
    waiters = [threading.Thread(target=slots.acquire, kwargs={"timeout": 2}) for _ in range(4)]
    for t in waiters:
        t.start()
    deadline = time.monotonic() + 2
    while slots.waiting < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    t0 = time.monotonic()
    assert not slots.acquire(timeout=5) and time.monotonic() - t0 < 0.5  # refused at once
    slots.release()
    for t in waiters:
        t.join()


def test_parsers_start_without_copying_the_server(monkeypatch):
    """The parser is spawned (vfork), never forked with a preexec_fn: a server holding
    gigabytes of layers must still be able to start one."""
    import subprocess

    from layers.ingest import Limits, read_upload

    seen = []
    real = subprocess.Popen.__init__

    def spy(self, *args, **kwargs):
        seen.append(kwargs.get("preexec_fn"))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(subprocess.Popen, "__init__", spy)
    read_upload(fc({"type": "Polygon", "coordinates": [SQ]}), "site.geojson", limits=Limits())
    assert seen == [None]


def test_a_truncated_geopackage_is_refused_without_the_readers_sql(client):
    data = (Path(__file__).parents[1] / "data" / "sample" / "industrial_parks.gpkg").read_bytes()
    r = client.post("/v1/sites", files={"file": ("t.gpkg", data[: len(data) // 2])})
    assert r.status_code == 422
    assert "damaged or truncated" in r.text and "SELECT" not in r.text and "sqlite3_" not in r.text, r.text


def test_error_messages_are_bounded():
    from app.errors import MAX_DETAIL, error_response

    body = error_response("/v1/x", 422, "X", "y" * 100_000).body
    assert len(body) < MAX_DETAIL + 100
