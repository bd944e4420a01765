"""The domain's vocabulary, declared once: verdicts, project actions, key-region editions.
Rules files, the judge, the HTTP models, the CLI and the reports all read them from here."""

from __future__ import annotations

from typing import Literal, get_args

Verdict = Literal["prohibited", "undetermined", "conditional", "permitted"]
RuleVerdict = Literal["prohibited", "conditional", "permitted"]  # what a rule may declare
Action = Literal["new", "expand", "rebuild"]
Edition = Literal["2018", "2023"]  # the key air-pollution regions: 国发〔2018〕22号, 国发〔2023〕24号

VERDICTS: tuple[str, ...] = get_args(Verdict)
ACTIONS: tuple[str, ...] = get_args(Action)
EDITIONS: tuple[str, ...] = get_args(Edition)
DEFAULT_EDITION: Edition = "2023"

# the verdict of an answer is its most severe reason's: a certain prohibition outranks an open
# question (a needed layer does not cover the site), which outranks conditions and permission
SEVERITY: dict[str, int] = {"permitted": 0, "conditional": 1, "undetermined": 2, "prohibited": 3}
ACTION_NAMES: dict[str, tuple[str, str]] = {"new": ("新建", "new"), "expand": ("扩建", "expansion"),
                                            "rebuild": ("改建", "rebuild")}
