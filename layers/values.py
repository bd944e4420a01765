"""Attribute values as plain JSON-able Python, written once for every writer (answers, OGC
items, tiles, PostGIS JSONB, parsed uploads)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd


def plain(v):
    """numpy scalars unwrapped; NaN, infinities, pandas' NA and NaT as None; dates and times as
    ISO text; bytes as hex; lists and dicts as they are; anything else as its text."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or isinstance(v, bool | int | str | list | dict):
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, dt.date | dt.datetime | dt.time):
        return v.isoformat()
    if isinstance(v, bytes | bytearray):
        return bytes(v).hex()
    return str(v)
