"""The ``zoning`` command: a thin door beside the HTTP API, calling the same functions.

    zoning serve [--host H] [--port P]
    zoning build-sample [--force]
    zoning assess SITE.geojson --industry C3120 [--action new] [--product …] [--edition 2023]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import asdict
from pathlib import Path


def _serve(args) -> int:
    import uvicorn

    host = args.host or os.environ.get("HOST", "127.0.0.1")
    port = int(args.port or os.environ.get("PORT", "8000"))
    print(f"zoning service: http://{host}:{port}/  (API docs: http://{host}:{port}/docs)", flush=True)
    uvicorn.run("app.main:create_app", factory=True, host=host, port=port, log_level="info")
    return 0


def _build_sample(args) -> int:
    from layers.sample.build import main as build_main

    return build_main(["--force"] if args.force else [])


def _assess(args) -> int:
    from app.main import load_services
    from app.settings import get_settings
    from zoning.errors import ZoningError
    from zoning.judge import Project, judge
    from zoning.site import parse_site

    try:
        site_obj = json.loads(Path(args.site).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.site}: {exc}", file=sys.stderr)
        return 2
    settings = get_settings()
    services = load_services(settings)
    try:
        result = judge(services.store, services.rules, services.industries, parse_site(site_obj),
                       Project(args.industry, args.action, args.product),
                       edition=args.edition or settings.key_region_edition)
    except ZoningError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    json.dump(asdict(result), sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="zoning", description="Zoning and siting service")
    sub = ap.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve", help="serve the HTTP API")
    s.add_argument("--host")
    s.add_argument("--port")
    s.set_defaults(func=_serve)
    b = sub.add_parser("build-sample", help="build the embedded sample data")
    b.add_argument("--force", action="store_true")
    b.set_defaults(func=_build_sample)
    a = sub.add_parser("assess", help="judge a project at a GeoJSON site")
    a.add_argument("site")
    a.add_argument("--industry", required=True)
    a.add_argument("--action", default="new", choices=["new", "expand", "rebuild"])
    a.add_argument("--product")
    a.add_argument("--edition", choices=["2018", "2023"])
    a.set_defaults(func=_assess)
    args = ap.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
