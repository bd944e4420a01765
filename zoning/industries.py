"""The industry catalogue (GB/T 4754-2017 classes), read from ``industries.yaml``."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field

from zoning.errors import UnknownIndustry

INDUSTRIES_FILE = Path(__file__).with_name("industries.yaml")
ENERGY_INTENSIVE_PREFIXES = ("C25", "C26", "C30", "C31", "C32", "D44")  # 高耗能六大行业
_CODE = re.compile(r"[A-T]\d{4}")


class Industry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(pattern=_CODE.pattern)
    zh: str
    en: str
    two_high: str | None = Field(None, description="两高 sector group (环环评〔2021〕45号), if any")
    renewable: str | None = Field(None, description="pv | wind for renewable generation")

    @property
    def energy_intensive(self) -> bool:
        return self.code.startswith(ENERGY_INTENSIVE_PREFIXES)


class IndustryCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: str
    standard: str
    industries: list[Industry]

    def get(self, code: str) -> Industry:
        norm = normalise_code(code)
        for ind in self.industries:
            if ind.code == norm:
                return ind
        raise UnknownIndustry(
            f"unknown industry code {code!r}: use a GB/T 4754-2017 class from GET /v1/industries, "
            "e.g. C3120 (炼钢) or D4416 (太阳能发电)"
        )


def normalise_code(code: str) -> str:
    """Accept 'C3120', 'c3120' or ' C3120 '; codes are section letter + 4 digits."""
    return code.strip().upper()


def load_industries(path: Path = INDUSTRIES_FILE) -> IndustryCatalogue:
    return IndustryCatalogue.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
