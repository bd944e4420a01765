"""Structuring help for access lists published as prose (``zoning lists suggest``).

Most provinces publish their lists as text: one row per unit, a whole dimension's text in a
cell. :func:`suggest` cuts each cell into items (sentences and numbered clauses), proposes the
industries each item names from a dictionary of industry terms (``zoning/list_terms.yaml``:
钢铁, 焦化, 水泥熟料, 平板玻璃, 化工, 燃煤锅炉, 畜禽养殖 …), the verdict from its verbs (禁止 /
严格控制 / 限制 / 鼓励) and the actions (新建 / 扩建 / 改建), and writes the canonical table
(:mod:`layers.lists`) with every row marked ``suggested``: nothing is applied until an editor
reviews the rows (status ``reviewed``) and publishes the table. What it could not structure (no
industry term, or no verb) is reported, item by item, and kept as an uncoded requirement.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd
import yaml

from layers.lists import COLUMNS, DIMENSIONS, UNIT_CODE, WIDE_COLUMNS

TERMS_FILE = Path(__file__).with_name("list_terms.yaml")
# a clause ends at 。；; or before a numbered marker: 1. 1、 （1） (1) ①
_CUT = re.compile(r"(?<=[。；;])|(?=(?:\d{1,2}[.、．]|[（(]\d{1,2}[）)]|[①-⑳]))")
_EXCEPT = re.compile(r"[（(](?:不含|除)[^）)]*[）)]")  # 不含光伏玻璃: an exception, not a term


@dataclass(frozen=True)
class Terms:
    version: str
    verbs: dict[str, tuple[str, ...]]
    actions: dict[str, tuple[str, ...]]
    terms: dict[str, dict]
    ignore: tuple[str, ...] = ()


@lru_cache
def load_terms(path: Path = TERMS_FILE) -> Terms:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    return Terms(raw["version"], {k: tuple(v) for k, v in raw["verbs"].items()},
                 {k: tuple(v) for k, v in raw["actions"].items()}, raw["terms"], tuple(raw.get("ignore") or ()))


@dataclass
class Proposal:
    industries: list[str] = field(default_factory=list)
    products: list[str] = field(default_factory=list)
    actions: list[str] = field(default_factory=list)
    verdict: str | None = None
    terms: list[str] = field(default_factory=list)

    @property
    def structured(self) -> bool:
        return bool(self.industries) and self.verdict is not None


def propose(text: str, terms: Terms | None = None) -> Proposal:
    """Industries, products, actions and verdict one item's text names."""
    terms = terms or load_terms()
    rest = _EXCEPT.sub("", text)
    for phrase in terms.ignore:
        rest = rest.replace(phrase, "\u3000")
    out = Proposal()
    for term in sorted(terms.terms, key=len, reverse=True):  # longest first, each span once
        if term in rest:
            rest = rest.replace(term, "\u3000")
            spec = terms.terms[term]
            out.terms.append(term)
            out.industries += [c for c in spec.get("industries", []) if c not in out.industries]
            out.products += [p for p in spec.get("products", []) if p not in out.products]
    for verdict, verbs in terms.verbs.items():  # strongest first
        if any(v in text for v in verbs):
            out.verdict = verdict
            break
    out.actions = [a for a, words in terms.actions.items() if any(w in text for w in words)]
    return out


def clauses(text: str) -> list[str]:
    """A cell's text cut into items."""
    parts = [re.sub(r"^(?:\d{1,2}[.、．]|[（(]\d{1,2}[）)]|[①-⑳])\s*", "", p).strip() for p in _CUT.split(text or "")]
    return [p for p in parts if len(p.strip("。；; ")) >= 4]


@dataclass
class Suggestion:
    items: pd.DataFrame  # the canonical table, every row `suggested`
    unstructured: list[dict]  # {row, item_id, text, why}
    rows: int

    @property
    def share(self) -> float:
        return 1 - len(self.unstructured) / len(self.items) if len(self.items) else 0.0

    def report(self) -> dict:
        return {"rows": self.rows, "items": len(self.items), "structured": len(self.items) - len(self.unstructured),
                "share_structured": round(self.share, 3), "terms_version": load_terms().version,
                "unstructured": self.unstructured}


def _column(columns: list[str], rows: list[list[str]], wanted: tuple[str, ...]) -> int | None:
    """The first column whose header holds the first of ``wanted`` any header holds (编码
    before 单元: 环境管控单元名称 is not the code), else one whose values are unit codes."""
    for w in wanted:
        for i, c in enumerate(columns):
            if w in c:
                return i
    # else the column whose values look like unit codes
    for i in range(len(columns)):
        if rows and all(UNIT_CODE.match(str(r[i]).strip()) for r in rows[:20] if str(r[i]).strip()):
            return i
    return None


def suggest(columns: list[str], rows: list[list[str]], source: str = "") -> Suggestion:
    """Structure a prose list: one row per unit (a unit code column and the four dimension
    columns, named as the dimensions or as their canonical fields), or one row per item (a
    scope column and a text column named 条目内容 / 管控要求 / 内容 / text, and optionally
    管控维度)."""
    scope_at = _column(columns, rows, ("编码", "编号", "代码", "scope", "适用范围", "单元"))
    dims = {i: WIDE_COLUMNS[c.strip()] for i, c in enumerate(columns) if c.strip() in WIDE_COLUMNS}
    text_at = next((i for i, c in enumerate(columns) if c.strip() in ("条目内容", "管控要求", "内容", "准入要求", "text")),
                   None)
    dim_at = next((i for i, c in enumerate(columns) if c.strip() in ("管控维度", "维度", "dimension")), None)
    if scope_at is None or (not dims and text_at is None):
        raise ValueError(f"cannot tell the unit (scope) column and the text columns among {columns[:20]}: "
                         f"name them 环境管控单元编码 and {' / '.join(DIMENSIONS)} (or 条目内容)")
    terms = load_terms()
    out, unstructured = [], []
    for n, row in enumerate(rows, start=2):
        scope = str(row[scope_at]).strip()
        cells = ([(dims[i], row[i]) for i in sorted(dims)] if dims
                 else [((str(row[dim_at]).strip() if dim_at is not None else "") or DIMENSIONS[0], row[text_at])])
        for d, (dimension, cell) in enumerate(cells, start=1):
            for k, text in enumerate(clauses(str(cell)), start=1):
                p = propose(text, terms)
                item_id = f"{scope}-{DIMENSIONS.index(dimension) + 1 if dimension in DIMENSIONS else d}-{k:02d}"
                out.append({"item_id": item_id, "level": "unit" if UNIT_CODE.match(scope) else "",
                            "scope": scope, "dimension": dimension,
                            "industries": ";".join(p.industries) if p.structured else "",
                            "actions": ";".join(p.actions) if p.structured else "",
                            "products": ";".join(p.products) if p.structured else "",
                            "verdict": p.verdict if p.structured else "conditional", "text": text,
                            "source": source, "status": "suggested"})
                if not p.structured:
                    why = "no industry term" if not p.industries else "no verb that gives a verdict"
                    unstructured.append({"row": n, "item_id": item_id, "text": text, "why": why})
    return Suggestion(pd.DataFrame(out, columns=list(COLUMNS)), unstructured, len(rows))
