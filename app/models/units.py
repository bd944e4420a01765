"""GET /v1/control-units/{code}: a control unit with its whole access list."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from app.models.common import ListItemOut, _Out


class VersionRefOut(_Out):
    id: str
    version: str
    synthetic: bool


class UnitListOut(_Out):
    layer: VersionRefOut = Field(description="the access list and its version in force")
    items: list[ListItemOut] = Field(description="every item whose scope covers the unit, national level first")


class ControlUnitOut(_Out):
    code: str
    layer: VersionRefOut = Field(description="the control-unit layer and its version in force")
    unit_class: str = Field(description="1 优先保护 / 2 重点管控 / 3 一般管控")
    county_adcode: str
    area_m2: float = Field(description="geodesic area in the local Gauss-Krüger zone")
    properties: dict[str, Any]
    lists: list[UnitListOut]
    as_of: str | None = None
    synthetic: bool
