"""Layer and rules versions: publish, history, rollback."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ValidationReportOut(BaseModel):
    ok: bool = True
    errors: list[dict[str, Any]] = []
    warnings: list[dict[str, Any]] = []
    counts: dict[str, Any] = {}


class _VersionFields(BaseModel):
    """What a layer version is: its data's date, source file and checksum, size and changes."""

    vintage: str
    source_name: str | None = None
    source_sha256: str | None = None
    feature_count: int
    summary: dict[str, Any]


class LayerVersionOut(_VersionFields):
    layer_id: str
    version: str
    previous: str | None = None
    dry_run: bool = False
    actor: str
    report: ValidationReportOut
    note: str | None = None
    event: dict[str, Any] | None = None


class _EventOut(BaseModel):
    """One entry of a version history."""

    seq: int
    action: Literal["baseline", "publish", "rollback"]
    at: str
    actor: str
    note: str | None = None


class LayerEventOut(_EventOut, _VersionFields):
    version: str
    created: str
    published_by: str


class LayerHistoryOut(BaseModel):
    layer_id: str
    version_in_force: str
    history: list[LayerEventOut]


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    version: str = Field(min_length=1, max_length=100)
    note: str | None = Field(None, max_length=500)


class RollbackOut(BaseModel):
    layer_id: str
    version: str
    previous: str
    event: dict[str, Any]


class RulesVersionOut(BaseModel):
    file: str
    family: str | None = None
    declared_version: str | None = None
    sha256: str
    rules_version: str
    summary: dict[str, list[str]] = {}
    dry_run: bool = False
    seq: int | None = None


class RulesEventOut(_EventOut):
    file: str
    sha256: str
    declared_version: str
    family: str


class RulesHistoryOut(BaseModel):
    rules_version: str
    history: list[RulesEventOut]


class RulesRollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    note: str | None = Field(None, max_length=500)
