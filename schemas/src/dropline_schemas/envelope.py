"""The one envelope every Dropline event travels in.

Every event on every topic is a JSON object with the same top-level fields, so an
operator reading a topic with ordinary Kafka tools (kcat, kafka-console-consumer)
sees the event id, its type and version, when it happened, the order's story
(correlation id) and what caused it (causation id) before the payload itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

P = TypeVar("P", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Contract(BaseModel):
    """Base for payload models: unknown fields are kept out, values are immutable."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class EventEnvelope(BaseModel, Generic[P]):
    """Fields common to every event; `data` is the typed payload."""

    model_config = ConfigDict(frozen=True)

    # Set by each concrete event class: the type name and its schema version.
    event_type_name: ClassVar[str] = ""
    schema_version_number: ClassVar[int] = 1

    event_id: uuid.UUID = Field(default_factory=uuid.uuid4, description="Unique id; consumers dedupe on it.")
    event_type: str = Field(description="Past-tense event name, e.g. OrderPaid.")
    schema_version: int = Field(description="Version of `data`'s schema; additive changes only within one.")
    occurred_at: datetime = Field(default_factory=utcnow, description="When the fact happened (UTC).")
    producer: str = Field(description="Service that emitted the event.")
    tenant_id: str = Field(description="Retailer id the event belongs to.")
    correlation_id: str = Field(description="The story this event is part of (for orders: the store order).")
    causation_id: str | None = Field(default=None, description="Event id or request id that caused this event.")
    data: P

    @classmethod
    def create(cls, *, data: P, producer: str, tenant_id: str, correlation_id: str,
               causation_id: str | None = None, **extra):
        return cls(
            event_type=cls.event_type_name,
            schema_version=cls.schema_version_number,
            producer=producer,
            tenant_id=tenant_id,
            correlation_id=correlation_id,
            causation_id=causation_id,
            data=data,
            **extra,
        )

    def caused(self) -> dict[str, str]:
        """Keyword arguments that make a follow-up event part of the same story."""
        return {"tenant_id": self.tenant_id, "correlation_id": self.correlation_id,
                "causation_id": str(self.event_id)}
