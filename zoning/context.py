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
    as_of: str | None = None  # UTC text: judged as things stood then (layers not yet in existence say nothing)

    def existed(self, info) -> bool:
        """Whether a layer version was in existence at ``as_of``: its data's vintage is not later
        (a layer's first version in force is its catalog data, from its vintage)."""
        from layers.dates import start_of_day

        if self.as_of is None:
            return True
        return start_of_day(min(info.entry.vintage, info.entry.valid_from or info.entry.vintage)) <= self.as_of

    def versions(self) -> dict:
        """Every layer's version and the rules version: what an answer was judged with."""
        return {"rules": self.rules.version, "layers": {i.id: i.version for i in self.store.layers()}}
