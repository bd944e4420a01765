"""The industry classification (GB/T 4754-2017 with its 2019 amendment) and the product
vocabulary: the complete code table ``gbt4754_2017.csv``, loaded as it is, and
``industries.yaml`` for what the table does not hold (English names, the classes' traits with
their sources, the codes the 2019 amendment changed, products, 2011 successors).

Any code at any level is valid: a section (``C``), a division (``C31``), a group (``C312``) or a
class (``C3120``); a code above class level stands for every class under it. A 2011-edition
code that the 2017 edition dropped is refused naming its successors.
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from zoning.errors import InvalidParameter, UnknownIndustry

INDUSTRIES_FILE = Path(__file__).with_name("industries.yaml")
TABLE_COUNTS = {"section": 20, "division": 97, "group": 473, "class": 1382}  # shared/data/README.md
_CODE = re.compile(r"[A-T](\d{2}(\d{1,2})?)?")
LEVELS = {1: "section", 3: "division", 4: "group", 5: "class"}


class Industry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=_CODE.pattern)
    zh: str
    en: str | None = None
    traits: dict[str, str | bool] = Field(
        default_factory=dict, description="trait -> value (true for a trait without values); "
                                          "every class under the code has it")
    changed_2019: str | None = Field(None, description="how the 2019 amendment changed this code's meaning")

    @property
    def level(self) -> str:
        return LEVELS[len(self.code)]

    @property
    def two_high(self) -> str | None:
        return self.traits.get("two_high")

    @property
    def renewable(self) -> str | None:
        return self.traits.get("renewable")

    @property
    def energy_intensive(self) -> bool:
        return bool(self.traits.get("energy_intensive"))


class Trait(BaseModel):
    """A rule-relevant trait of classes: the text it rests on and the codes it takes, either
    all of them (``codes``) or by value (``values``: value -> codes)."""

    model_config = ConfigDict(extra="forbid")
    key: str
    zh: str
    source: str
    codes: list[str] = Field(default_factory=list)
    values: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_form(self) -> Trait:
        if bool(self.codes) == bool(self.values):
            raise ValueError(f"trait {self.key}: give either codes or values")
        return self

    def of(self, code: str) -> str | bool | None:
        """The trait's value for ``code`` (true without values), if the code lies under it."""
        if self.codes:
            return True if code.startswith(tuple(self.codes)) else None
        return next((v for v, codes in self.values.items() if code.startswith(tuple(codes))), None)


class Product(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: str
    zh: str
    en: str
    classes: list[str]
    aliases: list[str] = Field(default_factory=list)

    def names(self) -> set[str]:
        return {n.casefold() for n in (self.key, self.zh, self.en, *self.aliases)}


class IndustryCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    standard: str
    industries: list[Industry]
    traits: list[Trait] = Field(default_factory=list)
    products: list[Product]
    successors_2011: dict[str, list[str]]

    @cached_property
    def counts(self) -> dict[str, int]:
        """Codes per level."""
        counts = {lvl: 0 for lvl in TABLE_COUNTS}
        for i in self.industries:
            counts[i.level] += 1
        return counts

    @property
    def coverage(self) -> str:
        """``complete`` when the table holds every code of the standard at every level."""
        return "complete" if self.counts == TABLE_COUNTS else "partial"

    @model_validator(mode="after")
    def _consistent(self) -> IndustryCatalogue:
        codes = [i.code for i in self.industries]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate industry codes")
        known = set(codes)
        for code in codes:
            parent = _parent(code)
            if parent and parent not in known:
                raise ValueError(f"{code} has no parent {parent} in the classification")
        for p in self.products:
            missing = set(p.classes) - known
            if missing:
                raise ValueError(f"product {p.key}: unknown classes {sorted(missing)}")
        for t in self.traits:
            missing = set(t.codes).union(*t.values.values()) - known
            if missing:
                raise ValueError(f"trait {t.key}: unknown codes {sorted(missing)}")
        for old, new in self.successors_2011.items():
            if old in known or not set(new) <= known:
                raise ValueError(f"2011 code {old}: must be dropped and its successors {new} known")
        return self

    @cached_property
    def by_code(self) -> dict[str, Industry]:
        return {i.code: i for i in self.industries}

    def get(self, code: str) -> Industry:
        norm = normalise_code(code)
        found = self.by_code.get(norm)
        if found is not None:
            return found
        successors = self.successors_2011.get(norm)
        if successors:
            names = "、".join(f"{c} {self.by_code[c].zh}" for c in successors)
            raise UnknownIndustry(
                f"{norm} is a GB/T 4754-2011 code; the 2017 edition replaced it with {names}")
        raise UnknownIndustry(
            f"unknown industry code {code!r}: use a GB/T 4754-2017 code at any level from "
            "GET /v1/industries, e.g. C31 (黑色金属冶炼和压延加工业), C3120 (炼钢), D4416 (太阳能发电)")

    def unknown_codes(self, codes: list[str]) -> list[dict]:
        """Codes an access list or rule cannot name: not GB/T 4754-2017 codes, 2011 codes, or
        codes the classification does not hold."""
        out = []
        for raw in codes:
            code = normalise_code(raw)
            if code in self.by_code:
                continue
            if not _CODE.fullmatch(code):
                why = "not a GB/T 4754-2017 code (a letter and 0, 2, 3 or 4 digits)"
            elif code in self.successors_2011:
                why = "a GB/T 4754-2011 code; use " + "、".join(self.successors_2011[code])
            elif code[:3] not in self.by_code:
                why = f"no division {code[:3]} in GB/T 4754-2017"
            else:
                why = f"no {LEVELS[len(code)]} {code} in GB/T 4754-2017 (its 2019 amendment included)"
            out.append({"code": raw, "why": why})
        return out

    def under(self, code: str) -> list[Industry]:
        """The code itself and every code below it (a range of the sorted codes)."""
        codes = self._sorted_codes
        lo = bisect.bisect_left(codes, code)
        hi = bisect.bisect_left(codes, code + "\uffff", lo)
        return [self.by_code[c] for c in codes[lo:hi]]

    @cached_property
    def _sorted_codes(self) -> list[str]:
        return sorted(self.by_code)

    def completions(self, code: str, product: str | None) -> tuple[tuple[str, str | None], ...]:
        """Every (class, product key) a project of ``code`` and ``product`` may be. A code above
        class level stands for each class under it; an unstated product for each product of the
        class's vocabulary. Memoised: it is asked for every judged site."""
        key = (code, product)
        if key not in self._completions:
            leaves = [i.code for i in self.under(code) if i.level == "class"]
            keys = {c: [p.key for p in self.products_of(c)] for c in leaves}
            self._completions[key] = tuple(
                (c, p) for c in leaves for p in ([product] if product else keys[c] or [None])
                if product is None or product in keys[c])
        return self._completions[key]

    @cached_property
    def product_classes(self) -> dict[str, tuple[str, ...]]:
        """Each product key's classes."""
        return {p.key: tuple(p.classes) for p in self.products}

    @cached_property
    def _completions(self) -> dict:
        return {}

    def search(self, q: str) -> list[Industry]:
        """Codes whose code, Chinese or English name contains ``q`` (case-insensitive)."""
        q = q.strip().casefold()
        return [i for i in self.industries
                if q in i.code.casefold() or q in i.zh.casefold() or q in (i.en or "").casefold()]

    def products_of(self, code: str) -> list[Product]:
        """The product vocabulary of a class, or of every class under a broader code."""
        return [p for p in self.products if any(c.startswith(code) for c in p.classes)]

    def product(self, code: str, value: str) -> Product:
        """The vocabulary entry ``value`` names for an industry ``code``; a 422 listing the
        vocabulary when it names none."""
        vocabulary = self.products_of(code)
        wanted = value.strip().casefold()
        for p in vocabulary:
            if wanted in p.names():
                return p
        if not vocabulary:
            raise InvalidParameter(
                f"industry {code} has no product vocabulary: the rules do not tell its products "
                "apart, so leave product out")
        listed = ", ".join(f"{p.key} ({p.zh})" for p in vocabulary)
        raise InvalidParameter(f"product {value!r} is not in the vocabulary of {code}: {listed}")


def covers(prefixes, code: str) -> bool:
    """Whether industry codes or prefixes (any level) name the class ``code``."""
    return code.startswith(tuple(prefixes))


def _parent(code: str) -> str | None:
    return {1: None, 3: code[:1], 4: code[:3], 5: code[:4]}[len(code)]


def normalise_code(code: str) -> str:
    """Accept 'C3120', 'c3120' or ' C3120 '."""
    return code.strip().upper()


def load_industries(path: Path = INDUSTRIES_FILE) -> IndustryCatalogue:
    """The classification: the code table the YAML names (read as it is), with the YAML's
    English names, traits, 2019 changes, products and 2011 successors."""
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    table = path.with_name(raw["table"]).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(table)))
    for row in rows:
        if LEVELS.get(len(row["code"])) != row["level"] or (row["parent"] or None) != _parent(row["code"]):
            raise ValueError(f"{raw['table']}: row {row} does not fit the code's level and parent")
    traits = [Trait(key=k, **v) for k, v in (raw.get("traits") or {}).items()]
    english, changed = raw.get("english") or {}, raw.get("changed_2019") or {}
    unknown = (set(english) | set(changed)) - {r["code"] for r in rows}
    if unknown:
        raise ValueError(f"{path.name}: codes not in {raw['table']}: {sorted(unknown)}")

    def traits_of(code: str) -> dict:
        found = {t.key: t.of(code) for t in traits}
        return {k: v for k, v in found.items() if v is not None}

    return IndustryCatalogue(
        version=raw["version"],
        standard=raw["standard"],
        industries=[Industry(code=r["code"], zh=r["name"], en=english.get(r["code"]), traits=traits_of(r["code"]),
                             changed_2019=changed.get(r["code"])) for r in rows],
        traits=traits,
        products=[Product(key=k, **v) for k, v in (raw.get("products") or {}).items()],
        successors_2011=raw.get("successors_2011") or {},
    )
