"""Logging, tracing and metrics, set up once per process.

Logs are structured (JSON by default) and carry whatever is bound in the context
(order_id, event_id, request id) plus the current trace and span ids, so a log line
can be found from a trace and the other way round. Metrics are OpenTelemetry instruments read
by a Prometheus reader: every service serves them at `/metrics` (see runtime.Service).
"""

from __future__ import annotations

import logging
import sys

import structlog
from opentelemetry import metrics, trace
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

bind = structlog.contextvars.bind_contextvars
unbind = structlog.contextvars.unbind_contextvars
bound = structlog.contextvars.bound_contextvars


def _add_trace_ids(_logger, _name, event_dict):
    span = trace.get_current_span()
    ctx = span.get_span_context()
    if ctx.is_valid:
        event_dict["trace_id"] = format(ctx.trace_id, "032x")
        event_dict["span_id"] = format(ctx.span_id, "016x")
    return event_dict


def setup_logging(service: str, level: str = "INFO", fmt: str = "json") -> None:
    shared = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_trace_ids,
        lambda _l, _n, d: {**d, "service": service},
    ]
    renderer = structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, structlog.processors.format_exc_info, renderer],
    ))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiokafka", "httpx", "httpcore", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def get_logger(name: str | None = None):
    return structlog.get_logger(name)


def setup_tracing(service: str, exporter: str = "none") -> TracerProvider:
    """One TracerProvider per process named after the service. `otlp` honours OTEL_EXPORTER_OTLP_*."""
    provider = TracerProvider(resource=Resource.create({"service.name": service, "service.namespace": "dropline"}))
    if exporter == "console":
        provider.add_span_processor(BatchSpanProcessor(ConsoleSpanExporter(out=sys.stderr)))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    return provider


_meter_provider: MeterProvider | None = None


def setup_metrics(service: str) -> MeterProvider:
    """The process's MeterProvider, read by Prometheus (`prometheus_client`'s default registry, served at
    /metrics). Once per process: a second Service in the same process (tests) shares the first one's, as
    OpenTelemetry allows one global MeterProvider."""
    global _meter_provider
    if _meter_provider is None:
        _meter_provider = MeterProvider(
            resource=Resource.create({"service.name": service, "service.namespace": "dropline"}),
            metric_readers=[PrometheusMetricReader()])
        metrics.set_meter_provider(_meter_provider)
    return _meter_provider


def get_meter(name: str) -> metrics.Meter:
    """A meter for a module's instruments. Instruments made before setup_metrics work once it runs
    (the API's proxy meter); without it (unit tests of pure code) they record nothing."""
    return metrics.get_meter(name)
