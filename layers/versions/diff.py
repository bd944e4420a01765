"""What a new version changes: features added, removed and changed, by id."""

from __future__ import annotations

import numpy as np
import pandas as pd
import shapely

from layers.versions.validate import MAX_LISTED


def change_summary(old_ids: np.ndarray, old_frame: pd.DataFrame, old_geoms: np.ndarray,
                   new_ids: np.ndarray, new_frame: pd.DataFrame, new_geoms: np.ndarray) -> dict:
    """Added, removed and changed features by id (changed: geometry or any attribute)."""
    old = {str(i): k for k, i in enumerate(old_ids)}
    new = {str(i): k for k, i in enumerate(new_ids)}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    both = sorted(set(old) & set(new))
    cols = [c for c in new_frame.columns if c in old_frame.columns]
    changed, geometry_changed = [], []
    if both:
        oi = np.array([old[i] for i in both])
        ni = np.array([new[i] for i in both])
        og = shapely.normalize(old_geoms[oi])
        ng = shapely.normalize(new_geoms[ni])
        geo = ~shapely.equals_exact(og, ng, tolerance=1e-9)
        a = old_frame.iloc[oi][cols].astype(str).to_numpy()
        b = new_frame.iloc[ni][cols].astype(str).to_numpy()
        attr = (a != b).any(axis=1) if len(cols) else np.zeros(len(both), bool)
        changed = [both[k] for k in np.flatnonzero(geo | attr)]
        geometry_changed = [both[k] for k in np.flatnonzero(geo)]
    fields_added = sorted(set(new_frame.columns) - set(old_frame.columns))
    fields_removed = sorted(set(old_frame.columns) - set(new_frame.columns))
    return {"added": len(added), "removed": len(removed), "changed": len(changed),
            "geometry_changed": len(geometry_changed), "unchanged": len(both) - len(changed),
            "added_ids": added[:MAX_LISTED], "removed_ids": removed[:MAX_LISTED],
            "changed_ids": changed[:MAX_LISTED], "fields_added": fields_added, "fields_removed": fields_removed}
