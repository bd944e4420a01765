"""What a judgment is made with: one object instead of a (store, rules, industries) triple."""

from __future__ import annotations

from dataclasses import dataclass

from layers.store import LayerStore
from zoning.industries import IndustryCatalogue
from zoning.rules import RuleSet


@dataclass(frozen=True)
class Judging:
    """The layers (a store pinned for one request or task), the rules in force and the
    industry catalogue. :func:`zoning.judge.judge`, :func:`zoning.siting.siting`, the upload
    and batch judgments take one."""

    store: LayerStore
    rules: RuleSet
    industries: IndustryCatalogue

    def versions(self) -> dict:
        """Every layer's version and the rules version: what an answer was judged with."""
        return {"rules": self.rules.version, "layers": {i.id: i.version for i in self.store.layers()}}
