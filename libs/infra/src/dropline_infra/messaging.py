"""Kafka: the broker factory, topic creation, and the idempotent consumer every service uses.

Delivery semantics of `subscribe` (stated once, here):
- consumer group = the service name plus the handler (e.g. order-ingest.store_webhook); offsets are committed only after the handler's
  transaction committed (AckPolicy.NACK_ON_ERROR: on an exception the consumer seeks back);
- the handler runs in one unit of work together with the inbox row for the event id, so a
  redelivered event has no second effect;
- a message that is not a valid event, or that keeps failing with an unexpected error, is
  recorded in `dead_letters` and sent to dropline.dead-letter.v1 with its reason, then acked
  (one bad message must not stop the partition); database or broker outages are retried
  without limit, because they are not the message's fault.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.kafka.opentelemetry import KafkaTelemetryMiddleware
from opentelemetry import context, propagate, trace
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from dropline_schemas import topics as T
from dropline_schemas.envelope import EventEnvelope
from dropline_schemas.events import MessageDeadLetteredData, MessageDeadLetteredV1, parse_event

from .db import Database, UnitOfWork, utcnow
from .models import DeadLetter
from .observability import bound, get_logger
from .settings import ServiceSettings

NOTICE_PAYLOAD_MAX = 100_000  # characters of a dead-lettered message kept in its notice (the table keeps it whole)
log = get_logger(__name__)
tracer = trace.get_tracer("dropline.consumer")


class PermanentError(Exception):
    """The message can never succeed as it is (bad data, broken invariant): dead-letter it."""


class RetryLater(Exception):
    """Something this event needs is not there yet (e.g. catalog lagging): try again shortly."""


def make_broker(settings: ServiceSettings, tracer_provider=None) -> KafkaBroker:
    kwargs: dict[str, Any] = {}
    if settings.kafka_idempotent_producer:
        kwargs["enable_idempotence"] = True
    return KafkaBroker(
        settings.kafka_bootstrap_servers.split(","),
        client_id=f"dropline-{settings.service_name}",
        acks="all",
        linger_ms=5,
        security=settings.kafka_security(),
        middlewares=[KafkaTelemetryMiddleware(tracer_provider=tracer_provider)],
        graceful_timeout=10.0,
        # FastStream's own log lines go through the root handler (JSON), not its coloured default. Its
        # per-message "Received" / "Processed" lines are DEBUG: two lines per message per consumer were
        # most of every service's log volume and a good share of its CPU (bench/pipeline.py). Failures
        # are still logged at ERROR, and LOG_LEVEL=DEBUG brings the per-message lines back.
        logger=logging.getLogger("dropline.broker"),
        log_level=logging.DEBUG,
        **kwargs,
    )


async def ensure_topics(settings: ServiceSettings, wanted: tuple[T.Topic, ...] = T.ALL_TOPICS) -> None:
    """Create any missing topic with its partition count (idempotent; off when topics are managed)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap_servers.split(","),
                                client_id=f"dropline-{settings.service_name}-admin")
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [NewTopic(t.name, num_partitions=t.partitions,
                            replication_factor=settings.kafka_topic_replication_factor)
                   for t in wanted if t.name not in existing]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):  # another service created it at the same moment
                await admin.create_topics(missing)
    finally:
        await admin.close()


Handler = Callable[[UnitOfWork, EventEnvelope], Awaitable[None]]
# Called once per batch, in the batch's transaction, with the events about to be handled (not the
# duplicates), before the first handler: e.g. to lock and load every row the batch will update in one query.
Prepare = Callable[[UnitOfWork, list[EventEnvelope]], Awaitable[None]]


def _order_id(event: EventEnvelope) -> str | None:
    data = event.data
    return getattr(data, "order_id", None) or getattr(getattr(data, "order", None), "order_id", None)


class Consumers:
    """Registers idempotent subscribers for one service."""

    def __init__(self, broker: KafkaBroker, db: Database, settings: ServiceSettings):
        self.broker = broker
        self.db = db
        self.settings = settings
        self.group = settings.service_name
        # consumer name -> (its topics, handler, event type): what a replayed dead letter goes through
        self.registered: dict[str, tuple[tuple[T.Topic, ...], Handler, type[EventEnvelope] | None]] = {}

    def subscribe(self, topic: T.Topic | tuple[T.Topic, ...], handler: Handler, *,
                  event_type: type[EventEnvelope] | None = None, name: str | None = None,
                  prepare: Prepare | None = None) -> None:
        """Subscribe `handler` to one topic, or to several through ONE consumer (each consumer costs a
        group join at start). `event_type` None = any Dropline event, parsed by its `event_type` field."""
        topic_list = topic if isinstance(topic, tuple) else (topic,)
        consumer = f"{self.group}.{name or handler.__name__.removeprefix('on_')}"

        batch_size = self.settings.consumer_batch_max_records
        self.registered[consumer] = (topic_list, handler, event_type)

        async def _subscriber(message: KafkaMessage) -> None:
            records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
            items = [(next((t for t in topic_list if t.name == getattr(r, "topic", None)), topic_list[0]),
                      r.value or b"", r) for r in records]
            await self.process_batch(consumer, items, handler, event_type, prepare=prepare)

        _subscriber.__name__ = f"on_{consumer.replace('.', '_').replace('-', '_')}"
        # One consumer group per (service, handler), named after the service: consumers of different
        # topics in one group would rebalance each other for nothing. The subscriber takes what the
        # consumer has fetched, up to `batch_size` records (getmany returns at once when any are there,
        # so a lone message waits for nothing), and the raw bytes as they came: the event is decoded
        # once, by pydantic, not first by FastStream's JSON decoder.
        self.broker.subscriber(*(t.name for t in topic_list), group_id=consumer, ack_policy=AckPolicy.NACK_ON_ERROR,
                               auto_offset_reset="earliest", title=consumer, batch=True, max_records=batch_size,
                               batch_timeout_ms=200, decoder=_raw_bodies,
                               session_timeout_ms=self.settings.kafka_session_timeout_ms,
                               heartbeat_interval_ms=self.settings.kafka_heartbeat_interval_ms)(_subscriber)

    async def replay(self, consumer: str, topic_name: str, raw: bytes) -> str:
        """Put a message (a dead letter's) through `consumer` again, as if it came again from the topic:
        'applied', 'duplicate' (applied before: nothing done) or 'dead-lettered' (again, with the new reason)."""
        if consumer not in self.registered:
            raise LookupError(f"no consumer {consumer} in {self.group}: it was renamed or removed")
        topics, handler, event_type = self.registered[consumer]
        topic = next((t for t in topics if t.name == topic_name), None)
        if topic is None:
            raise LookupError(f"consumer {consumer} does not read {topic_name} any more")
        return await self.process(consumer, topic, raw, handler, event_type)

    async def process_batch(self, consumer: str, items: list[tuple[T.Topic, bytes, Any]], handler: Handler,
                            event_type: type[EventEnvelope] | None, *, prepare: Prepare | None = None) -> list[str]:
        """Apply a batch of messages (in partition order) in ONE transaction: one inbox read for all
        their event ids, each handler in turn, the inbox rows and every effect committed together, and
        one offset commit by the caller. A record that is not a valid event is dead-lettered inside that
        transaction (no handler ran for it). If a handler fails — a poison event, a missing
        prerequisite, a constraint, an outage — that transaction is rolled back as a whole and the
        batch is applied again message by message through `process`, each in its own transaction with
        its own retries and dead-lettering: the failing message is dealt with alone and the others
        commit. Returns each message's outcome ('applied', 'duplicate' or 'dead-lettered')."""
        if len(items) == 1:
            topic, raw, record = items[0]
            return [await self.process(consumer, topic, raw, handler, event_type, record)]
        try:
            return await self._apply_together(consumer, items, handler, event_type, prepare)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001  (any failure: replay one by one, where each is classified)
            log.info("batch not applied as a whole; applying its messages one by one", consumer=consumer,
                     size=len(items), reason=f"{type(exc).__name__}: {str(exc)[:300]}")
        return [await self.process(consumer, topic, raw, handler, event_type, record)
                for topic, raw, record in items]

    async def _apply_together(self, consumer: str, items: list[tuple[T.Topic, bytes, Any]], handler: Handler,
                              event_type: type[EventEnvelope] | None, prepare: Prepare | None) -> list[str]:
        events: list[EventEnvelope | str] = []
        for _topic, raw, _record in items:
            try:
                events.append(event_type.read(raw) if event_type else parse_event(raw))
            except (ValidationError, ValueError) as exc:
                events.append(f"invalid event: {exc}")  # dead-lettered in the batch's transaction
        outcomes: list[str] = []
        async with self.db.uow() as uow:
            done = await uow.seen_many(consumer, [str(e.event_id) for e in events if not isinstance(e, str)])
            if prepare is not None:
                todo = {str(e.event_id): e for e in events if not isinstance(e, str) and str(e.event_id) not in done}
                await prepare(uow, list(todo.values()))
            for (topic, raw, record), event in zip(items, events, strict=True):
                if isinstance(event, str):  # not an event: no handler ran, nothing to roll back
                    self._add_dead_letter(uow, consumer, topic, raw, record, None, event)
                    outcomes.append("dead-lettered")
                    continue
                event_id = str(event.event_id)
                if event_id in done:
                    outcomes.append("duplicate")
                    continue
                token = context.attach(propagate.extract(_headers(record)))
                try:
                    with bound(event_id=event_id, event_type=event.event_type, order_id=_order_id(event),
                               tenant_id=event.tenant_id), \
                            tracer.start_as_current_span(f"{consumer} process", kind=trace.SpanKind.CONSUMER):
                        await handler(uow, event)
                        uow.mark_processed(consumer, event_id)  # flushed with the next query or the commit
                finally:
                    context.detach(token)
                done.add(event_id)
                outcomes.append("applied")
            await uow.commit()
        if "duplicate" in outcomes:
            log.info("duplicate events ignored", consumer=consumer, count=outcomes.count("duplicate"))
        return outcomes

    async def process(self, consumer: str, topic: T.Topic, raw: bytes, handler: Handler,
                      event_type: type[EventEnvelope] | None, record: Any = None) -> str:
        """Apply one message; returns 'applied', 'duplicate' or 'dead-lettered'. Raises only for
        outages (the consumer then seeks back and the message comes again)."""
        try:
            event = event_type.read(raw) if event_type else parse_event(raw)
        except (ValidationError, ValueError) as exc:
            await self._dead_letter(consumer, topic, raw, record, None, f"invalid event: {exc}")
            return "dead-lettered"

        with bound(event_id=str(event.event_id), event_type=event.event_type,
                   order_id=_order_id(event), tenant_id=event.tenant_id):
            attempt = 0
            loop = asyncio.get_running_loop()
            started = loop.time()
            while True:
                attempt += 1
                try:
                    async with self.db.uow() as uow:
                        if await uow.seen(consumer, str(event.event_id)):
                            log.info("duplicate event ignored", consumer=consumer)
                            return "duplicate"
                        await handler(uow, event)
                        uow.mark_processed(consumer, str(event.event_id))
                        await uow.commit()
                    return "applied"
                except IntegrityError as exc:
                    # Either a concurrent duplicate won the inbox row, or the handler broke a constraint.
                    async with self.db.uow() as uow:
                        if await uow.seen(consumer, str(event.event_id)):
                            return "duplicate"
                    error: Exception = exc
                except PermanentError as exc:
                    await self._dead_letter(consumer, topic, raw, record, event, str(exc))
                    return "dead-lettered"
                except (OperationalError, DBAPIError, OSError) as exc:
                    # Infrastructure, not the message: keep trying, never dead-letter for this.
                    delay = min(0.2 * 2 ** min(attempt, 6), 10.0)
                    log.warning("infrastructure error, retrying", error=str(exc), attempt=attempt)
                    await asyncio.sleep(delay * (0.5 + random.random() / 2))
                    if attempt % 20 == 0:
                        raise
                    continue
                except asyncio.CancelledError:
                    raise
                except RetryLater as exc:
                    # Not this message's fault: what it needs (e.g. a catalog entry) is on its way.
                    # Wait longer than for a bug before giving up on it.
                    if loop.time() - started < self.settings.consumer_retry_later_seconds:
                        delay = min(0.1 * 2 ** attempt, 5.0) * (0.5 + random.random() / 2)
                        log.info("prerequisite not there yet, retrying", reason=str(exc), retry_in=round(delay, 2))
                        await asyncio.sleep(delay)
                        continue
                    error = exc
                    attempt = max(attempt, self.settings.consumer_max_attempts)
                except Exception as exc:  # an unexpected bug
                    error = exc
                if attempt >= self.settings.consumer_max_attempts:
                    await self._dead_letter(consumer, topic, raw, record, event,
                                            f"gave up after {attempt} attempts: {type(error).__name__}: {error}")
                    return "dead-lettered"
                delay = min(0.1 * 2 ** attempt, 5.0) * (0.5 + random.random() / 2)
                log.warning("handler failed, retrying", error=f"{type(error).__name__}: {error}",
                            attempt=attempt, retry_in=round(delay, 2))
                await asyncio.sleep(delay)

    async def _dead_letter(self, consumer: str, topic: T.Topic, raw: bytes, record: Any,
                           event: EventEnvelope | None, reason: str) -> None:
        async with self.db.uow() as uow:
            self._add_dead_letter(uow, consumer, topic, raw, record, event, reason)
            await uow.commit()

    def _add_dead_letter(self, uow: UnitOfWork, consumer: str, topic: T.Topic, raw: bytes, record: Any,
                         event: EventEnvelope | None, reason: str) -> None:
        log.error("message dead-lettered", consumer=consumer, topic=topic.name, reason=reason[:500])
        payload = raw.decode("utf-8", errors="replace")
        key = record.key.decode("utf-8", "replace") if getattr(record, "key", None) else None
        partition, offset = getattr(record, "partition", None), getattr(record, "offset", None)
        uow.session.add(DeadLetter(
            consumer=consumer, topic=topic.name, partition=partition, offset=offset, key=key,
            event_id=str(event.event_id) if event else None, payload=payload, reason=reason,
            created_at=utcnow()))
        notice = MessageDeadLetteredV1.create(
            data=MessageDeadLetteredData(
                consumer=consumer, topic=topic.name, partition=partition, offset=offset, key=key, reason=reason,
                dead_lettered_event_id=event.event_id if event else None,
                dead_lettered_event_type=event.event_type if event else None,
                payload=payload[:NOTICE_PAYLOAD_MAX], payload_truncated=len(payload) > NOTICE_PAYLOAD_MAX),
            producer=self.settings.service_name,
            **(event.caused() if event else {"tenant_id": "unknown", "correlation_id": f"dead-letter:{consumer}"}))
        uow.publish(notice, T.DEAD_LETTER, key=consumer)  # headers as every event's: event_id, type, trace


async def _raw_bodies(message: Any) -> list[bytes]:
    """FastStream decoder for the batch subscriber: the records' bytes, undecoded."""
    records = message.raw_message if isinstance(message.raw_message, tuple) else (message.raw_message,)
    return [r.value or b"" for r in records]


def _headers(record: Any) -> dict[str, str]:
    return {k: v.decode("utf-8", "replace") for k, v in (getattr(record, "headers", None) or ())}
