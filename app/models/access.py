"""API keys and the audit log."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class KeyIn(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)
    name: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    role: Literal["reader", "editor", "admin"]


class KeyOut(BaseModel):
    name: str
    role: Literal["reader", "editor", "admin"]
    prefix: str
    created: str
    created_by: str
    revoked: str | None = None


class NewKeyOut(BaseModel):
    name: str
    role: Literal["reader", "editor", "admin"]
    key: str = Field(description="shown once: only its SHA-256 is stored")


class AuditEntryOut(BaseModel):
    seq: int
    at: str
    actor: str
    role: str | None = None
    action: str
    target: str | None = None
    input_sha256: str | None = None
    result: dict[str, Any]
    hash: str


class AuditOut(BaseModel):
    intact: bool = Field(description="the hash chain recomputes from the first entry")
    broken_at: int | None = None
    entries: list[AuditEntryOut]
