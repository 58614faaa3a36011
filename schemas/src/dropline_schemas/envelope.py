"""The one envelope every Dropline event travels in.

Every event on every topic is a JSON object with the same top-level fields, so an
operator reading a topic with ordinary Kafka tools (kcat, kafka-console-consumer)
sees the event id, its type and version, when it happened, the order's story
(correlation id) and what caused it (causation id) before the payload itself.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

P = TypeVar("P", bound=BaseModel)


def utcnow() -> datetime:
    return datetime.now(UTC)


def read_tolerantly(cls: type[BaseModel], raw: str | bytes | bytearray | Mapping[str, Any]):
    """`cls` from JSON text or a dict, ignoring fields it does not declare (at every level) and enforcing
    every field it requires."""
    if isinstance(raw, Mapping):
        return cls.model_validate(raw, extra="ignore")
    return cls.model_validate_json(raw, extra="ignore")


class Contract(BaseModel):
    """Base for payload models; values are immutable.

    Producers are strict: building a payload with a field it does not declare fails (extra="forbid"),
    so a typo never leaves a service. Consumers are tolerant: `read()` ignores fields they do not know
    yet and still enforces every field they require — so a producer deployed before its consumers with
    one new optional field is read by them, not dead-lettered (docs/architecture.md, ADR 29). Anything
    read back from outside the process (a topic, a database column, a job's payload) goes through
    `read()`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    @classmethod
    def read(cls, raw: str | bytes | bytearray | Mapping[str, Any]) -> Self:
        return read_tolerantly(cls, raw)


class EventEnvelope(BaseModel, Generic[P]):
    """Fields common to every event; `data` is the typed payload. Strict to build, tolerant to `read()`,
    like `Contract`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

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

    @model_validator(mode="after")
    def _is_this_event(self) -> Self:
        """A class reads only its own event: another type, or another version of it (a new class on a new
        topic), is not this contract whatever fields it shares."""
        if self.event_type_name and (self.event_type, self.schema_version) != \
                (self.event_type_name, self.schema_version_number):
            raise ValueError(f"{self.event_type} v{self.schema_version} is not "
                             f"{self.event_type_name} v{self.schema_version_number}")
        return self

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

    @classmethod
    def read(cls, raw: str | bytes | bytearray | Mapping[str, Any]) -> Self:
        return read_tolerantly(cls, raw)

    def caused(self) -> dict[str, str]:
        """Keyword arguments that make a follow-up event part of the same story."""
        return {"tenant_id": self.tenant_id, "correlation_id": self.correlation_id,
                "causation_id": str(self.event_id)}
