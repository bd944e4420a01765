"""Batch jobs."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class JobOut(BaseModel):
    id: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    created: str
    started: str | None
    finished: str | None
    total: int = Field(description="sites in the job")
    done: int = Field(description="sites judged so far")
    chunks_done: int
    chunks_total: int
    chunk_size: int
    rate: float | None = Field(description="sites per second of judging")
    eta_s: float | None = Field(description="seconds to go at that rate")
    error: str | None
    params: dict[str, Any]
    upload: dict[str, Any]
    links: dict[str, str]
