"""The access lists (生态环境准入清单) the judge reads, item by item.

A list is a layer of kind ``access_list`` (its table: :mod:`layers.lists`). For every control
unit a site touches, each item whose scope covers the unit applies to the project when its
industries, actions and products match it; an item with no industry coding applies to every
project as a requirement it must meet (a ``conditional`` reason). Items still marked
``suggested`` (proposed by ``zoning lists suggest``) are never applied. The generic rules by
unit class (``zoning/rules/control_units.yaml``) stay as the national floor.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np

from layers.lists import CLASS_TOKENS, LEVELS, UNIT_CODE, adcode_prefix, split_cell
from layers.store import LayerInfo, LayerStore
from zoning.industries import IndustryCatalogue, covers
from zoning.scale import Threshold

LEVEL_ZH = {"national": "国家", "province": "省级", "region": "区域", "city": "市级", "unit": "单元"}
BINDS = "project owners and the EIA approving authorities (the unit's 生态环境准入清单)"


@dataclass(frozen=True)
class Item:
    item_id: str
    level: str
    scope: tuple[str, ...]
    dimension: str
    industries: tuple[str, ...]
    actions: tuple[str, ...]
    products: tuple[str, ...]
    verdict: str
    text: str
    source: str
    status: str
    scale: Threshold | None = None

    @property
    def coded(self) -> bool:
        return bool(self.industries)

    def as_dict(self) -> dict:
        return {"item_id": self.item_id, "level": self.level, "scope": list(self.scope),
                "dimension": self.dimension, "industries": list(self.industries), "actions": list(self.actions),
                "products": list(self.products), "scale": str(self.scale) if self.scale else None,
                "verdict": self.verdict, "text": self.text,
                "source": self.source, "status": self.status}


@dataclass(frozen=True)
class Unit:
    """What a scope is tested against: the unit's code, class digit and county adcode."""

    code: str
    cls: str
    adcode: str

    @classmethod
    def of(cls, code: str, props: dict) -> Unit:
        if UNIT_CODE.match(code):  # ZH + county adcode + class digit + serial
            return cls(code, code[8], code[2:8])
        return cls(code, CLASS_TOKENS.get(str(props.get("unit_class", "")).strip(), ""),
                   str(props.get("county_adcode") or ""))


class AccessList:
    """One version of a list, indexed by what its scopes name."""

    def __init__(self, info: LayerInfo, records: list[dict]):
        self.info = info
        self.items = tuple(
            Item(item_id=str(r["item_id"]), level=r["level"], scope=tuple(split_cell(r["scope"])),
                 dimension=r["dimension"], industries=tuple(split_cell(r["industries"])),
                 actions=tuple(split_cell(r["actions"])), products=tuple(split_cell(r["products"])),
                 verdict=r["verdict"], text=r["text"], source=r.get("source") or "", status=r.get("status") or "reviewed",
                 scale=Threshold.parse(r["scale"]) if r.get("scale") else None)
            for r in records)
        self._by_unit: dict[str, list[int]] = {}
        self._by_area: dict[tuple[str, str], list[int]] = {}  # (adcode prefix or "*", class or "")
        for i, item in enumerate(self.items):
            for token in item.scope:
                place, _, cls = token.partition("/")
                if UNIT_CODE.match(place):
                    self._by_unit.setdefault(place, []).append(i)
                elif place in CLASS_TOKENS and not cls:
                    self._by_area.setdefault(("*", CLASS_TOKENS[place]), []).append(i)
                else:
                    key = "*" if place == "*" else adcode_prefix(place)
                    self._by_area.setdefault((key, CLASS_TOKENS.get(cls, "")), []).append(i)

    @property
    def everywhere(self) -> list[Item]:
        """The items whose scope is ``*``: they apply wherever a site is, in a unit or not."""
        return [self.items[i] for i in self._by_area.get(("*", ""), ())]

    def covering(self, unit: Unit) -> list[Item]:
        """The items whose scope covers the unit, national level first, then by item id."""
        found = set(self._by_unit.get(unit.code, ()))
        for place in ("*", unit.adcode[:2], unit.adcode[:4], unit.adcode):
            for cls in ("", unit.cls):
                found.update(self._by_area.get((place, cls), ()))
        rank = {lv: n for n, lv in enumerate(LEVELS)}
        return sorted((self.items[i] for i in found), key=lambda it: (rank.get(it.level, 9), it.item_id))


_compiled: dict[tuple[str, str], AccessList] = {}
_compile_lock = threading.Lock()  # guards _compiled
_one_compile = threading.Lock()  # concurrent first judgments wait for one compile, not run four


def access_lists(store: LayerStore) -> list[AccessList]:
    """The access lists in force in ``store`` (each version compiled once, a few kept)."""
    out = []
    for info in store.layers_of_kind("access_list"):
        key = (info.id, info.version)
        with _compile_lock:
            hit = _compiled.get(key)
        if hit is None:
            with _one_compile:
                with _compile_lock:
                    hit = _compiled.get(key)
                if hit is None:
                    frame = store.attributes(info.id, np.arange(info.count))
                    hit = AccessList(info, frame.to_dict(orient="records"))
                    with _compile_lock:
                        _compiled[key] = hit
                        while len(_compiled) > 16:
                            _compiled.pop(next(iter(_compiled)))
        out.append(hit)
    return out


def applies(item: Item, options: tuple[tuple[str, str | None], ...], action: str,
            industries: IndustryCatalogue) -> list[tuple[str, str | None]]:
    """The completions (class, product) of the project the item takes; every one for an
    uncoded item (a requirement); empty: the item does not apply. An item's products narrow
    only the classes they belong to (``C31;C3011`` with ``clinker`` takes all steel and only
    clinker of cement)."""
    if item.status == "suggested" or (item.actions and action not in item.actions):
        return []
    classes = industries.product_classes
    return [(code, product) for code, product in options
            if (not item.industries or covers(item.industries, code))
            and (not item.products or product in item.products
                 or not any(code in classes.get(p, ()) for p in item.products))]


def unit_list(store: LayerStore, code: str) -> dict | None:
    """A control unit in force (class, subtype, area, admin) with every list item covering it;
    None when no control-unit layer holds the code."""
    from layers.crs import area_m2

    for info in store.layers_of_kind("control_unit"):
        row = store.index_of(info.id, code)
        if row is None:
            continue
        props = store.attributes(info.id, np.array([row])).iloc[0].to_dict()
        geom = store.geometries(info.id, np.array([row]))[0]
        unit = Unit.of(code, props)
        lists = [{"layer": {"id": al.info.id, "version": al.info.version, "synthetic": al.info.synthetic},
                  "items": [it.as_dict() for it in al.covering(unit)]} for al in access_lists(store)]
        return {"code": code, "layer": {"id": info.id, "version": info.version, "synthetic": info.synthetic},
                "properties": props, "unit_class": unit.cls, "county_adcode": unit.adcode,
                "area_m2": round(float(area_m2(np.array([geom]))[0]), 1), "lists": lists}
    return None
