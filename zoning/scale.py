"""Project scale: a capacity with its unit, and the thresholds rules and list items set on it.

A capacity is a value in one of the units the law writes thresholds in (``t/a``, ``万t/a``,
``t/d``, ``t/h``, ``蒸吨/h`` for boilers, ``MW``, ``m³/d`` …). Units of one quantity convert into
each other (``万t/a`` → ``t/a``, ``kW`` → ``MW``); units of different quantities never do: an
annual output is not a daily melting capacity, and a boiler's steam rating is not a mass flow
of product. A threshold (``<=35 蒸吨/h``, ``>=300 万t/a``) that the project's capacity cannot be
compared with — none given, or given in another quantity — leaves the question open, and the
judge answers ``undetermined`` naming what is missing, never ``permitted``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from zoning.errors import InvalidParameter

# unit -> (quantity, factor to the quantity's base unit); the first unit of a quantity is its base
UNITS: dict[str, tuple[str, float]] = {
    "t/a": ("annual output", 1.0), "万t/a": ("annual output", 1e4),
    "t/d": ("daily capacity", 1.0),
    "t/h": ("hourly capacity", 1.0),
    "蒸吨/h": ("boiler steam rating", 1.0),
    "MW": ("power", 1.0), "kW": ("power", 1e-3), "GW": ("power", 1e3),
    "m³/d": ("daily volume", 1.0), "万m³/d": ("daily volume", 1e4),
    "m³/a": ("annual volume", 1.0), "万m³/a": ("annual volume", 1e4),
}
UNIT_ALIASES = {
    "吨/年": "t/a", "t/yr": "t/a", "万吨/年": "万t/a", "吨/天": "t/d", "吨/日": "t/d", "吨/小时": "t/h",
    "蒸吨/小时": "蒸吨/h", "t_steam/h": "蒸吨/h", "兆瓦": "MW", "千瓦": "kW", "吉瓦": "GW",
    "m3/d": "m³/d", "立方米/日": "m³/d", "立方米/天": "m³/d", "万m3/d": "万m³/d", "万立方米/日": "万m³/d",
    "m3/a": "m³/a", "立方米/年": "m³/a", "万m3/a": "万m³/a", "万立方米/年": "万m³/a",
}
_BASE = {q: u for u, (q, _) in reversed(UNITS.items())}  # quantity -> its first (base) unit
_NUMBER = r"\d+(?:\.\d+)?"
_CAPACITY = re.compile(rf"^\s*({_NUMBER})\s*(\S+)\s*$")
_THRESHOLD = re.compile(rf"^\s*(<=|≤|<|>=|≥|>)\s*({_NUMBER})\s*(\S+)\s*$")
_OPS = {"<=": "at_most", "≤": "at_most", "<": "below", ">=": "at_least", "≥": "at_least", ">": "above"}
_OP_TEXT = {"at_most": "≤", "below": "<", "at_least": "≥", "above": ">"}


CAPACITY_HELP = "规模: a number and a unit, e.g. '35 蒸吨/h', '120 万t/a', '100 MW' (units: " + ", ".join(UNITS) + ")"


def capacity_of(text: str | None) -> Capacity | None:
    """A capacity from a form field or a command line (None when empty)."""
    return Capacity.parse(text) if text and text.strip() else None


def unit_of(text: str) -> str:
    """The canonical unit a unit name stands for; a 4xx naming the units known otherwise."""
    unit = text.strip()
    unit = UNIT_ALIASES.get(unit, unit)
    if unit not in UNITS:
        raise InvalidParameter(f"unknown capacity unit {text!r}; known: {', '.join(UNITS)}")
    return unit


@dataclass(frozen=True)
class Capacity:
    """How big a project is: a finite non-negative value in a known unit."""

    value: float
    unit: str

    def __post_init__(self):
        if not isinstance(self.value, int | float) or isinstance(self.value, bool) \
                or not math.isfinite(self.value) or self.value < 0:
            raise InvalidParameter(f"capacity value must be a finite number >= 0; got {self.value!r}")
        object.__setattr__(self, "unit", unit_of(self.unit))

    @classmethod
    def parse(cls, text: str) -> Capacity:
        """``"35 蒸吨/h"``, ``"120万t/a"``: a capacity from a form field or a command line."""
        m = _CAPACITY.match(text or "")
        if not m:
            raise InvalidParameter(f"capacity must be a number and a unit, e.g. '35 蒸吨/h' or '120 万t/a'; "
                                   f"got {text[:60]!r}")
        return cls(float(m.group(1)), m.group(2))

    @property
    def quantity(self) -> str:
        return UNITS[self.unit][0]

    def in_base(self) -> float:
        return self.value * UNITS[self.unit][1]

    def as_dict(self) -> dict:
        return {"value": self.value, "unit": self.unit}

    def __str__(self) -> str:
        return f"{self.value:g} {self.unit}"


@dataclass(frozen=True)
class Threshold:
    """A size condition: the rule or item applies to projects whose capacity is ``op`` ``value``
    ``unit`` (``at_most`` 35 蒸吨/h: boilers of 35 t/h and less)."""

    op: str
    value: float
    unit: str

    @classmethod
    def parse(cls, text: str) -> Threshold:
        """``"<=35 蒸吨/h"``, ``"≥300万t/a"``."""
        m = _THRESHOLD.match(text or "")
        if not m:
            raise InvalidParameter(f"a size condition must be <=, <, >= or > a number and a unit, "
                                   f"e.g. '<=35 蒸吨/h'; got {text[:60]!r}")
        return cls(_OPS[m.group(1)], float(m.group(2)), unit_of(m.group(3)))

    @property
    def quantity(self) -> str:
        return UNITS[self.unit][0]

    def __str__(self) -> str:
        return f"{_OP_TEXT[self.op]}{self.value:g} {self.unit}"

    def check(self, capacity: Capacity | None) -> bool | str:
        """True: the project is of the size the condition names; False: it is not; a string:
        the project's size cannot be compared, saying what is missing."""
        if capacity is None:
            return (f"this applies to projects of {self} ({self.quantity}); the project gives no capacity, "
                    f"so send capacity in {_BASE[self.quantity]}")
        if capacity.quantity != self.quantity:
            return (f"this applies to projects of {self} ({self.quantity}); the project's capacity "
                    f"{capacity} is a {capacity.quantity}, which does not convert: send it in {_BASE[self.quantity]}")
        have, limit = capacity.in_base(), self.value * UNITS[self.unit][1]
        return {"at_most": have <= limit, "below": have < limit,
                "at_least": have >= limit, "above": have > limit}[self.op]

    def zh(self, capacity: Capacity | None) -> str:
        """What is missing, in Chinese."""
        if capacity is None:
            return f"本条适用于规模{self}的项目，项目未给出规模（{_BASE[self.quantity]}），无法判定"
        return f"本条适用于规模{self}的项目，项目规模{capacity}与之单位不可换算，请以{_BASE[self.quantity]}给出"


def scale_problem(text: str) -> str | None:
    """Why a size condition does not parse (None: it does)."""
    try:
        Threshold.parse(text)
    except InvalidParameter as exc:
        return str(exc)
    return None
