"""Zip archives (zipped Shapefile, KMZ, XLSX) inspected member by member without ever being
extracted: limits on members, sizes and ratio; no absolute or parent paths, symlinks,
encryption or nested archives."""

from __future__ import annotations

import io
import stat
import zipfile

from layers.ingest.errors import IngestError, UploadTooLarge
from layers.ingest.limits import Limits

NESTED = (".zip", ".kmz", ".gz", ".tar", ".7z", ".rar", ".gpkg")


def check_zip(data: bytes, limits: Limits, allow_dirs: bool = True) -> list[zipfile.ZipInfo]:
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
        infos = zf.infolist()
    except (zipfile.BadZipFile, ValueError) as exc:
        raise IngestError(f"broken zip archive: {exc}") from None
    if len(infos) > limits.max_members:
        raise UploadTooLarge(f"zip has {len(infos)} entries; at most {limits.max_members}")
    total = 0
    for info in infos:
        name = info.filename
        if name.startswith(("/", "\\")) or ".." in name.replace("\\", "/").split("/") or ":" in name:
            raise IngestError(f"zip entry {name!r} has an absolute or parent path (zip slip)")
        if stat.S_ISLNK(info.external_attr >> 16):
            raise IngestError(f"zip entry {name!r} is a symbolic link")
        if info.flag_bits & 0x1:
            raise IngestError(f"zip entry {name!r} is encrypted")
        if info.is_dir():
            if not allow_dirs:
                raise IngestError(f"zip entry {name!r} is a folder")
            continue
        if name.lower().endswith(NESTED):
            raise IngestError(f"zip entry {name!r} is itself an archive; upload it directly")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise IngestError(f"zip entry {name!r} uses an unsupported compression method")
        total += info.file_size
        if info.file_size > limits.max_uncompressed_bytes or total > limits.max_uncompressed_bytes:
            raise UploadTooLarge(
                f"zip expands to more than {limits.max_uncompressed_bytes // 2**20} MB (zip bomb?)")
        if info.file_size > 1_000_000 and info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise UploadTooLarge(
                f"zip entry {name!r} expands {info.file_size / max(info.compress_size, 1):.0f}-fold; "
                f"at most {limits.max_ratio:.0f} (zip bomb?)")
    return infos


def read_member(data: bytes, info: zipfile.ZipInfo, limits: Limits) -> bytes:
    """One member's bytes, stopping at the declared size (a lying header cannot inflate more)."""
    with zipfile.ZipFile(io.BytesIO(data)) as zf, zf.open(info) as fh:
        out = fh.read(min(info.file_size, limits.max_uncompressed_bytes) + 1)
    if len(out) > info.file_size:
        raise UploadTooLarge(f"zip entry {info.filename!r} is larger than its header says")
    return out


def shapefile_members(infos: list[zipfile.ZipInfo]) -> dict[str, zipfile.ZipInfo]:
    """The .shp/.shx/.dbf (and optional .prj/.cpg) of the one Shapefile in the archive."""
    files = [i for i in infos if not i.is_dir()]
    shps = [i for i in files if i.filename.lower().endswith(".shp")]
    if not shps:
        raise IngestError("the zip holds no .shp file")
    if len(shps) > 1:
        raise IngestError(f"the zip holds {len(shps)} Shapefiles ({', '.join(i.filename for i in shps)}); "
                          "upload one per file")
    stem = shps[0].filename[:-4]
    parts = {}
    for i in files:
        if i.filename[: len(stem)] == stem and len(i.filename) == len(stem) + 4:
            parts[i.filename[-3:].lower()] = i
    missing = [e for e in ("shx", "dbf") if e not in parts]
    if missing:
        raise IngestError(f"the Shapefile {shps[0].filename!r} lacks its "
                          + " and ".join(f".{m}" for m in missing) + " file")
    return parts
