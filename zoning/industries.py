"""The industry classification (GB/T 4754-2017) and the product vocabulary, from
``industries.yaml``.

Any code at any level is valid: a section (``C``), a division (``C31``), a group (``C312``) or a
class (``C3120``); a code above class level stands for every class under it. A 2011-edition
code that the 2017 edition dropped is refused naming its successors.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from zoning.errors import InvalidParameter, UnknownIndustry

INDUSTRIES_FILE = Path(__file__).with_name("industries.yaml")
ENERGY_INTENSIVE_PREFIXES = ("C25", "C26", "C30", "C31", "C32", "D44")  # 高耗能六大行业
_CODE = re.compile(r"[A-T](\d{2}(\d{1,2})?)?")
LEVELS = {1: "section", 3: "division", 4: "group", 5: "class"}


class Industry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=_CODE.pattern)
    zh: str
    en: str | None = None
    two_high: str | None = Field(None, description="两高 sector group (环环评〔2021〕45号), if any")
    renewable: str | None = Field(None, description="pv | wind for renewable generation")

    @property
    def level(self) -> str:
        return LEVELS[len(self.code)]

    @property
    def energy_intensive(self) -> bool:
        return self.code.startswith(ENERGY_INTENSIVE_PREFIXES)


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
    coverage: str
    industries: list[Industry]
    products: list[Product]
    successors_2011: dict[str, list[str]]

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
        under no division the classification has. (A well-formed code below a known division
        that this partial table lacks is accepted: the table ships the groups and classes the
        rules name, not all 1,380 classes.)"""
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
                continue
            out.append({"code": raw, "why": why})
        return out

    def under(self, code: str) -> list[Industry]:
        """The code itself and every code below it."""
        return [i for i in self.industries if i.code.startswith(code)]

    def completions(self, code: str, product: str | None) -> tuple[tuple[str, str | None], ...]:
        """Every (class, product key) a project of ``code`` and ``product`` may be. A code above
        class level stands for each class under it (itself where the table has none below it);
        an unstated product for each product of the class's vocabulary. Memoised: it is asked
        for every judged site."""
        key = (code, product)
        if key not in self._completions:
            leaves = [i.code for i in self.under(code) if i.level == "class"] or [code]
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
    """Whether industry codes or prefixes name a class ``code``: the class is under one of
    them, or one lies below it (a finer code than this partial table holds)."""
    return any(code.startswith(p) or p.startswith(code) for p in prefixes)


def _parent(code: str) -> str | None:
    return {1: None, 3: code[:1], 4: code[:3], 5: code[:4]}[len(code)]


def normalise_code(code: str) -> str:
    """Accept 'C3120', 'c3120' or ' C3120 '."""
    return code.strip().upper()


def load_industries(path: Path = INDUSTRIES_FILE) -> IndustryCatalogue:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    attrs = raw.get("attributes") or {}
    return IndustryCatalogue(
        version=raw["version"],
        standard=raw["standard"],
        coverage=raw["coverage"],
        industries=[Industry(code=c, zh=zh, en=en, **attrs.get(c, {})) for c, zh, en in raw["codes"]],
        products=[Product(key=k, **v) for k, v in (raw.get("products") or {}).items()],
        successors_2011=raw.get("successors_2011") or {},
    )
