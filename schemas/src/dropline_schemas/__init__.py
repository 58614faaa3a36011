"""Dropline's shared event contracts: the envelope, the topics and the events."""

from . import topics
from .envelope import Contract, EventEnvelope
from .events import *  # noqa: F403
from .events import ALL_EVENTS, EVENTS_BY_TYPE, parse_event

__all__ = ["topics", "Contract", "EventEnvelope", "ALL_EVENTS", "EVENTS_BY_TYPE", "parse_event"]
