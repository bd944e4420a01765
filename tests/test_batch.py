"""Batch judgment: many sites at once give exactly the answers of one-by-one calls."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zlib

import numpy as np

from tests.conftest import TAIYUAN, square
from zoning.judge import Project, judge, judge_many
from zoning.site import parse_site


def _sites(n: int, seed: int):
    rng = np.random.default_rng(seed)
    pts = np.column_stack([rng.uniform(104.3, 114.5, n), rng.uniform(34.6, 40.8, n)])
    out = []
    for k, (x, y) in enumerate(pts):
        if k % 3 == 0:
            out.append(parse_site({"type": "Point", "coordinates": [x, y]}))
        else:
            out.append(parse_site(square(x, y, 0.003 + 0.01 * (k % 5))))
    # edge cases: a site across the province border (coverage edge), one in China outside the
    # sample layers (Urumqi), and sites with holes (candidates come from their outline)
    out.append(parse_site(square(110.55, 36.0, 0.2)))
    out.append(parse_site(square(87.6, 43.8, 0.01)))
    out.append(parse_site(square(*TAIYUAN)))
    for x, y in pts[:6]:
        out.append(parse_site(holed_square(x, y, 0.2, 12)))
    return out


def holed_square(x: float, y: float, w: float, k: int) -> dict:
    """A w-degree square with k x k small square holes."""
    outer = square(x, y, w / 2)["coordinates"][0]
    x0, y0, d = x - w / 2, y - w / 2, w / k
    holes = [[[x0 + (i + .3) * d, y0 + (j + .3) * d], [x0 + (i + .3) * d, y0 + (j + .7) * d],
              [x0 + (i + .7) * d, y0 + (j + .7) * d], [x0 + (i + .7) * d, y0 + (j + .3) * d],
              [x0 + (i + .3) * d, y0 + (j + .3) * d]] for i in range(k) for j in range(k)]
    return {"type": "Polygon", "coordinates": [outer, *holes]}


def test_batch_equals_single_calls(judging):
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    for industry, edition in (("C3120", "2023"), ("D4416", "2023"), ("C2511", "2018"), ("D4415", "2023")):
        sites = _sites(120, seed=zlib.crc32(industry.encode()))
        one = [judge(judging, s, Project(industry), edition=edition, now=now) for s in sites]
        many = judge_many(judging, sites, Project(industry), edition=edition, now=now)
        assert [dataclasses.asdict(a) for a in one] == [dataclasses.asdict(b) for b in many]


def test_batch_of_one_and_empty(judging):
    assert judge_many(judging, [], Project("C3120")) == []
    s = parse_site(square(*TAIYUAN))
    [a] = judge_many(judging, [s], Project("C3120"))
    assert a.verdict == judge(judging, s, Project("C3120")).verdict


def test_concurrent_requests_do_not_crash(tmp_path):
    """Tiles, judgments and item filters from 8 threads at once over the shared prepared
    geometries (GEOS prepared geometries are not thread-safe: this crashed once). Run in a
    subprocess so a segfault fails the test instead of killing the suite."""
    import subprocess
    import sys

    code = """
from concurrent.futures import ThreadPoolExecutor
import morecantile
from layers.catalog import DEFAULT_CATALOG
from layers.query import parse_filter
from layers.store import EmbeddedStore
from layers.tiles import render
from tests.conftest import square
from zoning.industries import load_industries
from zoning.context import Judging
from zoning.judge import Project, judge
from zoning.rules import load_rules
from zoning.site import parse_site
s = EmbeddedStore.open(DEFAULT_CATALOG); rules, inds = load_rules(), load_industries()
ids = [i.id for i in s.layers()]
tiles = list(morecantile.tms.get("WebMercatorQuad").tiles(105, 35, 114, 40.5, [6, 7]))
sites = [parse_site(square(105 + 0.4 * k, 35.5 + 0.2 * k, 0.02)) for k in range(24)]
flt = parse_filter("S_INTERSECTS(geometry, POLYGON((112 37, 113 37, 113 38, 112 38, 112 37)))")
jobs = [lambda t=t: render(s, ids, t.z, t.x, t.y) for t in tiles]
jobs += [lambda x=x: judge(Judging(s, rules, inds), x, Project("C3120")) for x in sites]
jobs += [lambda: s.select("control_units", cql=flt, limit=5) for _ in range(8)]
with ThreadPoolExecutor(8) as ex:
    list(ex.map(lambda f: f(), jobs))
print("ok")
"""
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0 and "ok" in r.stdout, (r.returncode, r.stderr[-2000:])


def test_overlay_many_equals_overlay_hit_by_hit(store):
    """Below the judgment: every layer's hits per site (ids, areas, shares, coverage and every
    attribute column read through the batch's row views) equal single-site overlays."""
    from zoning.overlay import overlay, overlay_many

    sites = _sites(60, seed=11)
    many = overlay_many(store, sites)
    for site, got in zip(sites, many):
        want = overlay(store, site)
        assert got.keys() == want.keys()
        for lid, w in want.items():
            g = got[lid]
            assert (list(g.ids), g.covered, len(g)) == (list(w.ids), w.covered, len(w)), lid
            np.testing.assert_allclose(g.overlap_m2, w.overlap_m2, rtol=1e-9, equal_nan=True)
            np.testing.assert_allclose(g.share, w.share, rtol=1e-9, equal_nan=True)
            assert set(g.attrs) == set(w.attrs) and all(k in g.attrs for k in w.attrs)
            for k in w.attrs:
                assert list(g.attrs[k]) == list(w.attrs[k]), (lid, k)
            assert [g.row(i) for i in range(len(g))] == [w.row(i) for i in range(len(w))]
    assert sum(len(h) for o in many for h in o.values()) > 100
