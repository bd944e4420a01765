"""Rules as data: the YAML files in ``zoning/rules/``, one per family, validated on load.

A rule says when it fires (``when``: industry code prefixes, project action, product
keywords, request parameters, and a spatial test against a layer *kind* with attribute
tests), what verdict it gives, and the clause it rests on. Find any rule with one grep of its
id (e.g. ``grep -rn key_region.capacity_ban zoning/rules``).
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from functools import cached_property
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from layers.catalog import LayerKind
from zoning.errors import InvalidParameter
from zoning.scale import Threshold
from zoning.vocabulary import Action, RuleVerdict

PARAMS = ("edition",)  # request parameters a rule may test or reference as $name
# What a project claims about itself; a rule may test them (`when.flags`). Each is false until
# the caller claims it, and the answer shows it.
FLAGS = ("captive", "capacity_replacement", "major_project")

RULES_DIR = Path(__file__).with_name("rules")

Scalar = str | int | float | bool
_PREFIX = re.compile(r"[A-T](\d{2}(\d{1,2})?)?")  # a GB/T 4754 code at any level


class Text(BaseModel):
    model_config = ConfigDict(extra="forbid")
    zh: str
    en: str


class Clause(BaseModel):
    """The text a rule rests on. ``text_field`` quotes the hit feature's own attribute (a
    control unit's access list) instead of fixed text; ``document`` may then use
    ``{field}`` placeholders filled from the same feature."""

    model_config = ConfigDict(extra="forbid")
    document: str
    number: str | None = None
    article: str
    binds: str = Field(description="whom the text binds: every unit and person, project owners, the "
                                   "approving authorities …, as the document itself says")
    text: str | None = None
    text_field: str | None = None
    quote_checked: bool = Field(
        False,
        description="true only for a text matched word for word against a public copy (source)",
    )
    source: str | None = Field(None, description="address of the copy the quote was matched against")
    note: str | None = Field(None, description="what was checked, what was not, what superseded what")

    @model_validator(mode="after")
    def _one_text(self) -> Clause:
        if (self.text is None) == (self.text_field is None):
            raise ValueError("a clause needs exactly one of text / text_field")
        if self.quote_checked and not self.source:
            raise ValueError("quote_checked: true needs the source the quote was matched against")
        return self


class FeatureTest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: LayerKind
    where: dict[str, Scalar | list[Scalar]] = Field(default_factory=dict)

    @field_validator("where")
    @classmethod
    def _params_known(cls, v):
        for value in v.values():
            if isinstance(value, str) and value.startswith("$") and value[1:] not in PARAMS:
                raise ValueError(f"unknown parameter {value}; known: {['$' + p for p in PARAMS]}")
        return v


class When(BaseModel):
    model_config = ConfigDict(extra="forbid")
    industry: list[str] | None = Field(None, description="GB/T 4754 code prefixes, any matches")
    industry_not: list[str] = Field(default_factory=list, description="prefixes that never match")
    action: list[Action] | None = None
    product: list[str] | None = Field(
        None, description="product keys (zoning/industries.yaml) the rule takes; an unstated "
                          "product counts as each product of the class")
    product_not: list[str] = Field(default_factory=list, description="product keys that never match")
    flags: dict[str, bool] = Field(default_factory=dict, description="project claims required")
    params: dict[str, str] = Field(default_factory=dict, description="request parameters required")
    scale: str | None = Field(
        None, description="a size condition on the project's capacity, e.g. '<=35 蒸吨/h' (zoning.scale): "
                          "the rule applies to projects of that size, and is undetermined without one")
    intersects: FeatureTest | None = None
    not_within: FeatureTest | None = None

    @field_validator("industry", "industry_not")
    @classmethod
    def _prefixes(cls, v):
        for p in v or []:
            if not _PREFIX.fullmatch(p):
                raise ValueError(f"{p!r} is not a GB/T 4754 code prefix (e.g. C31, C3110)")
        return v

    @field_validator("flags", "params")
    @classmethod
    def _known_names(cls, v, info):
        known, what = (FLAGS, "project flags") if info.field_name == "flags" else (PARAMS, "request parameters")
        unknown = set(v) - set(known)
        if unknown:
            raise ValueError(f"unknown {what} {sorted(unknown)}; known: {list(known)}")
        return v

    @field_validator("scale")
    @classmethod
    def _scale(cls, v):
        if v is not None:
            try:
                Threshold.parse(v)
            except InvalidParameter as exc:
                raise ValueError(str(exc)) from None
        return v

    @cached_property
    def threshold(self) -> Threshold | None:
        return Threshold.parse(self.scale) if self.scale else None

    @property
    def spatial(self) -> FeatureTest | None:
        return self.intersects or self.not_within


class Rule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[a-z_]+\.[a-z0-9_]+$")
    verdict: RuleVerdict
    summary: Text
    when: When
    clause: Clause
    family: str = ""


class RuleFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    family: str
    version: str
    rules: list[Rule]


class RuleSet(BaseModel):
    """All rule families, with one version string for the whole set."""

    files: list[RuleFile]
    digest: str

    @cached_property
    def rules(self) -> list[Rule]:
        return [r.model_copy(update={"family": f.family}) for f in self.files for r in f.rules]

    @property
    def version(self) -> str:
        newest = max(f.version for f in self.files)
        return f"{newest}+{self.digest[:10]}"

    def rule(self, rule_id: str) -> Rule:
        for r in self.rules:
            if r.id == rule_id:
                return r
        raise KeyError(rule_id)


def rule_files(directory: Path = RULES_DIR) -> dict[str, bytes]:
    """The rules files of a folder: file name -> bytes."""
    return {p.name: p.read_bytes() for p in sorted(directory.glob("*.yaml"))}


def parse_rule_file(name: str, raw: bytes) -> RuleFile:
    try:
        return RuleFile.model_validate(yaml.safe_load(raw))
    except Exception as exc:
        raise ValueError(f"rules file {name}: {exc}") from exc


def load_rules(directory: Path = RULES_DIR) -> RuleSet:
    """Load and validate every ``*.yaml`` in ``directory``; the set's version combines the
    families' declared versions with a digest of the files' bytes."""
    files = rule_files(directory)
    if not files:
        raise ValueError(f"no rules files in {directory}")
    return rules_from(files)


def rules_from(files: dict[str, bytes]) -> RuleSet:
    """A rule set from file name -> YAML bytes (a folder, or versions from the history)."""
    if not files:
        raise ValueError("no rules files")
    parsed, digest = [], hashlib.sha256()
    for name in sorted(files):
        raw = files[name]
        digest.update(name.encode() + b"\0" + raw)
        parsed.append(parse_rule_file(name, raw))
    ids = Counter(r.id for f in parsed for r in f.rules)
    dup = sorted(i for i, n in ids.items() if n > 1)
    if dup:
        raise ValueError(f"duplicate rule ids: {dup}")
    return RuleSet(files=parsed, digest=digest.hexdigest())
