"""`dropline`: what an operator runs against a deployment (issue 10).

Settings come from the environment, like the services': `DROPLINE_<SERVICE>_URL` (each service's HTTP
address; `make run`'s by default), `DROPLINE_OPERATOR_TOKEN` (the services' OPERATOR_TOKEN; the
development token by default) and `DROPLINE_KAFKA_BOOTSTRAP_SERVERS`.

  dropline dead-letters list [--service S] [--consumer C] [--reason TEXT] [--older-than SECONDS]
  dropline dead-letters show SERVICE ID
  dropline dead-letters replay SERVICE ID      # through the consumer again; twice has no second effect
  dropline jobs list [--service S] [--status failed|pending|done] [--kind K]
  dropline jobs retry SERVICE ID               # a failed job, attempts reset
  dropline order show ORDER_ID                 # the order's story across services, in time order
  dropline outbox                              # events committed and not yet sent, per service
  dropline lag [--group G] [--all]             # consumer lag per group and partition, and the outboxes
  dropline topic tail NAME [--from-beginning] [--limit N] [--no-follow]

`--json` prints what the API answered instead of a table. Exit status: 0 done, 1 refused or not found,
2 a service or the broker did not answer.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Annotated, Any

import httpx
import typer
from pydantic import SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from dropline_schemas import topics as T

SERVICES = ("gateway", "order-ingest", "checkout", "forwarder", "tracking-sync")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="DROPLINE_", extra="ignore")

    gateway_url: str = "http://127.0.0.1:8000"
    order_ingest_url: str = "http://127.0.0.1:8001"
    checkout_url: str = "http://127.0.0.1:8002"
    forwarder_url: str = "http://127.0.0.1:8003"
    tracking_sync_url: str = "http://127.0.0.1:8004"
    operator_token: SecretStr = SecretStr("dev-operator-token")
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    timeout_seconds: float = 30.0

    def url(self, service: str) -> str:
        return getattr(self, f"{service.replace('-', '_')}_url").rstrip("/")


HELP = ("Dropline's operator toolkit, run against a deployment. Settings from the environment: "
        "DROPLINE_<SERVICE>_URL (e.g. DROPLINE_ORDER_INGEST_URL; make run's addresses by default), "
        "DROPLINE_OPERATOR_TOKEN (the services' OPERATOR_TOKEN) and DROPLINE_KAFKA_BOOTSTRAP_SERVERS. "
        "Exit status: 0 done, 1 refused or not found, 2 a service or the broker did not answer.")
app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode=None)
dead_letters = typer.Typer(help="Messages a consumer gave up on: list, show, replay.", no_args_is_help=True)
jobs = typer.Typer(help="Forwarding and write-back jobs: list, retry the failed.", no_args_is_help=True)
topic = typer.Typer(help="Read a topic: keys, headers and pretty JSON values.", no_args_is_help=True)
app.add_typer(dead_letters, name="dead-letters")
app.add_typer(jobs, name="jobs")
app.add_typer(topic, name="topic")
out = Console()
err = Console(stderr=True, markup=False, highlight=False)  # what services and brokers say is not markup

ServiceOpt = Annotated[str | None, typer.Option("--service", "-s", help=f"one of {', '.join(SERVICES)}; all when left out")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print the API's answer as JSON")]


def _services(service: str | None) -> tuple[str, ...]:
    if service is None:
        return SERVICES
    if service not in SERVICES:
        err.print(f"unknown service {service!r}: one of {', '.join(SERVICES)}")
        raise typer.Exit(1)
    return (service,)


def _call(service: str, method: str, path: str, **kwargs: Any) -> Any:
    """The service's operator API answer (JSON); a refusal or an unreachable service ends the command."""
    settings = Settings()
    try:
        with httpx.Client(base_url=settings.url(service), timeout=settings.timeout_seconds,
                          headers={"Authorization": f"Bearer {settings.operator_token.get_secret_value()}"}) as c:
            r = c.request(method, f"/operator/v1{path}", **kwargs)
    except httpx.HTTPError as exc:
        err.print(f"{service} ({settings.url(service)}) did not answer: {type(exc).__name__}: {exc}")
        raise typer.Exit(2) from None
    if r.status_code >= 400:
        try:
            detail = r.json().get("detail", r.text)
        except ValueError:
            detail = r.text
        err.print(f"{service}: {r.status_code} {detail}")
        raise typer.Exit(1)
    return r.json()


def _short(text: str | None, n: int = 80) -> str:
    """One line of at most `n` characters, safe to print (what a message says is not rich markup)."""
    text = (text or "").replace("\n", " ")
    return escape(text if len(text) <= n else text[: n - 1] + "…")


def _printed_json(data: Any, as_json: bool) -> bool:
    if as_json:
        out.print_json(json.dumps(data))
    return as_json


def _pages(service: str | None, path: str, params: dict[str, Any], items: str, as_json: bool, title: str,
           noun: str, columns: tuple[str, ...], row: Callable[[dict[str, Any]], tuple[str, ...]]) -> None:
    """One page of `path` from each service, as JSON or as one table with the services' totals."""
    pages = [_call(s, "GET", path, params=params) for s in _services(service)]
    if _printed_json(pages, as_json):
        return
    table = Table("service", *columns, title=title)
    for page in pages:
        for item in page[items]:
            table.add_row(page["service"], *row(item))
    out.print(table)
    out.print(f"{sum(p['total'] for p in pages)} {noun}")


@dead_letters.command("list")
def list_dead_letters(service: ServiceOpt = None,
                      consumer: Annotated[str | None, typer.Option(help="e.g. order-ingest.store_webhook")] = None,
                      reason: Annotated[str | None, typer.Option(help="part of the reason")] = None,
                      older_than: Annotated[float | None, typer.Option(help="only those older than SECONDS")] = None,
                      limit: int = 100, as_json: JsonOpt = False) -> None:
    params = {k: v for k, v in {"consumer": consumer, "reason": reason, "older_than_seconds": older_than,
                                "limit": limit}.items() if v is not None}
    _pages(service, "/dead-letters", params, "dead_letters", as_json, "Dead letters", "dead letter(s)",
           ("id", "age", "consumer", "topic", "event", "reason"),
           lambda d: (str(d["id"]), d["created_at"][:19], escape(d["consumer"]), escape(d["topic"]),
                      d["event_id"] or "—", _short(d["reason"])))


@dead_letters.command("show")
def show_dead_letter(service: str, dead_letter_id: int, as_json: JsonOpt = False) -> None:
    d = _call(_services(service)[0], "GET", f"/dead-letters/{dead_letter_id}")
    if _printed_json(d, as_json):
        return
    for key in ("id", "consumer", "topic", "partition", "offset", "key", "event_id", "created_at", "reason"):
        out.print(f"[bold]{key}[/bold]: {escape(str(d[key]))}")
    try:
        out.print(Syntax(json.dumps(json.loads(d["payload"]), indent=2), "json"))
    except ValueError:
        out.print(d["payload"], markup=False)


@dead_letters.command("replay")
def replay_dead_letter(service: str, dead_letter_id: int, as_json: JsonOpt = False) -> None:
    r = _call(_services(service)[0], "POST", f"/dead-letters/{dead_letter_id}/replay")
    if _printed_json(r, as_json):
        return
    said = {"applied": "applied: the consumer took it this time",
            "duplicate": "duplicate: it was applied before, nothing done",
            "dead-lettered": f"dead-lettered again: see dead letter {r['new_dead_letter_id']}"}
    out.print(f"dead letter {dead_letter_id}: {said[r['outcome']]}")
    if r["outcome"] == "dead-lettered":
        raise typer.Exit(1)


@jobs.command("list")
def list_jobs(service: ServiceOpt = None, status: Annotated[str, typer.Option(help="failed, pending or done")] = "failed",
              kind: str | None = None, limit: int = 100, as_json: JsonOpt = False) -> None:
    params = {k: v for k, v in {"status": status, "kind": kind, "limit": limit}.items() if v is not None}
    _pages(service, "/jobs", params, "jobs", as_json, f"Jobs ({status})", "job(s)",
           ("id", "kind", "key", "status", "attempts", "last error"),
           lambda j: (str(j["id"]), escape(j["kind"]), escape(j["key"]), j["status"], str(j["attempts"]),
                      _short(j["last_error"])))


@jobs.command("retry")
def retry_job(service: str, job_id: int, as_json: JsonOpt = False) -> None:
    j = _call(_services(service)[0], "POST", f"/jobs/{job_id}/retry")
    if _printed_json(j, as_json):
        return
    out.print(escape(f"job {job_id} ({j['kind']} {j['key']}) is due again, attempts reset"))


order = typer.Typer(help="One order across the services.", no_args_is_help=True)
app.add_typer(order, name="order")


@order.command("show")
def show_order(order_id: str, as_json: JsonOpt = False) -> None:
    """The order's whole story across services, in time order: every event each service published about it
    (topic, event id, what caused it), the jobs it ran (attempts, last error) and what it dead-lettered."""
    stories = [_call(s, "GET", f"/orders/{order_id}/story") for s in SERVICES]
    steps: list[tuple[str, str, str, str]] = []  # (when, service, what, detail)
    for story in stories:
        for e in story["events"]:
            steps.append((e["occurred_at"] or e["created_at"], story["service"], f"published {e['event_type']}",
                          f"{e['topic']} event {e['event_id']} caused by {e['causation_id'] or '—'}"
                          + ("" if e["published_at"] else " (not sent yet)")))
        for j in story["jobs"]:
            steps.append((j["created_at"], story["service"], f"job {j['kind']} {j['status']}",
                          f"attempts {j['attempts']}" + (f", last error: {j['last_error']}" if j["last_error"] else "")))
        for d in story["dead_letters"]:
            steps.append((d["created_at"], story["service"], f"dead-lettered by {d['consumer']}",
                          f"{d['topic']} event {d['event_id'] or '—'}: {d['reason']}"))
    steps.sort(key=lambda step: step[0])
    if _printed_json({"order_id": order_id, "steps": [dict(zip(("at", "service", "what", "detail"), s, strict=True))
                                                        for s in steps]}, as_json):
        return
    if not steps:
        err.print(f"no service knows order {order_id}")
        raise typer.Exit(1)
    table = Table("at", "service", "what", "detail", title=f"Order {escape(order_id)}")
    for at, service, what, detail in steps:
        table.add_row(at[:23], service, escape(what), _short(detail, 140))
    out.print(table)


@app.command("outbox")
def outbox(service: ServiceOpt = None, as_json: JsonOpt = False) -> None:
    """Events each service committed and has not sent to Kafka yet."""
    rows = [_call(s, "GET", "/outbox") for s in _services(service)]
    if _printed_json(rows, as_json):
        return
    table = Table("service", "unsent", "oldest unsent", "age (s)", title="Outbox backlog")
    for r in rows:
        age = r["oldest_unsent_age_seconds"]
        table.add_row(r["service"], str(r["unsent"]), r["oldest_unsent_at"] or "—", "—" if age is None else f"{age:.1f}")
    out.print(table)


async def _lag(group: str | None) -> tuple[int, list[dict[str, Any]]]:
    """Per consumer group and partition: the committed offset, the end offset and the lag."""
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.admin import AIOKafkaAdminClient

    bootstrap = Settings().kafka_bootstrap_servers
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    try:
        await admin.start()
        groups = sorted(g for g, _ in await admin.list_consumer_groups()
                        if g.split(".")[0] in SERVICES and (group is None or g == group))
    except Exception as exc:  # noqa: BLE001  (any broker failure: say so, exit 2)
        err.print(f"the broker did not answer: {type(exc).__name__}: {exc}")
        return 2, []
    finally:
        await admin.close()
    partitions = [TopicPartition(t.name, p) for t in T.ALL_TOPICS for p in range(t.partitions)]
    rows: list[dict[str, Any]] = []
    for g in groups:
        # A consumer of the group that never joins it: it only reads the group's committed offsets.
        reader = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=g, enable_auto_commit=False)
        await reader.start()
        try:
            committed = {tp: await reader.committed(tp) for tp in partitions}
            ends = await reader.end_offsets(partitions)  # after the commits: an end is never behind its commit
            for tp, offset in committed.items():
                if offset is not None:
                    rows.append({"group": g, "topic": tp.topic, "partition": tp.partition, "committed": offset,
                                 "end": ends[tp], "lag": max(ends[tp] - offset, 0)})
        finally:
            await reader.stop()
    return 0, rows


@app.command("lag")
def lag(group: Annotated[str | None, typer.Option(help="one consumer group, e.g. gateway.projection")] = None,
        all_partitions: Annotated[bool, typer.Option("--all", help="also the partitions with no lag")] = False,
        as_json: JsonOpt = False) -> None:
    """Consumer lag per group and partition (records on the topic not yet committed by the group), then each
    service's outbox backlog (events committed in its database, not yet sent)."""
    code, rows = asyncio.run(_lag(group))
    if code:
        raise typer.Exit(code)
    backlog = [_call(s, "GET", "/outbox") for s in SERVICES]
    if _printed_json({"consumer_lag": rows, "outbox": backlog}, as_json):
        return
    table = Table("group", "topic", "partition", "committed", "end", "lag", title="Consumer lag")
    for r in rows:
        if r["lag"] or all_partitions:
            table.add_row(r["group"], r["topic"], str(r["partition"]), str(r["committed"]), str(r["end"]), str(r["lag"]))
    out.print(table)
    totals: dict[str, int] = {}
    for r in rows:
        totals[r["group"]] = totals.get(r["group"], 0) + r["lag"]
    out.print(", ".join(f"{g}: {n}" for g, n in sorted(totals.items())) or "no consumer group has committed yet")
    out.print(", ".join(f"{b['service']} outbox {b['unsent']} unsent" for b in backlog))


async def _tail(name: str, from_beginning: bool, limit: int | None, follow: bool, as_json: bool) -> int:
    from aiokafka import AIOKafkaConsumer, TopicPartition

    known = {t.name: t for t in T.ALL_TOPICS}
    if name not in known:
        err.print(f"unknown topic {name!r}; Dropline's are: {', '.join(sorted(known))}")
        return 1
    consumer = AIOKafkaConsumer(bootstrap_servers=Settings().kafka_bootstrap_servers, group_id=None,
                                enable_auto_commit=False)
    try:
        await consumer.start()
    except Exception as exc:  # noqa: BLE001  (any broker failure: say so, exit 2)
        err.print(f"the broker did not answer: {type(exc).__name__}: {exc}")
        return 2
    try:
        partitions = [TopicPartition(name, p) for p in range(known[name].partitions)]
        consumer.assign(partitions)
        if from_beginning:
            await consumer.seek_to_beginning(*partitions)
        else:
            await consumer.seek_to_end(*partitions)
        ends = await consumer.end_offsets(partitions)
        shown = 0
        while limit is None or shown < limit:
            batches = await consumer.getmany(timeout_ms=1000, max_records=100)
            if not batches and not follow:
                positions = {tp: await consumer.position(tp) for tp in partitions}
                if all(positions[tp] >= ends[tp] for tp in partitions):
                    break
            for tp, records in sorted(batches.items(), key=lambda kv: kv[0].partition):
                for r in records:
                    headers = {k: (v or b"").decode("utf-8", "replace") for k, v in r.headers}
                    value = (r.value or b"").decode("utf-8", "replace")
                    if as_json:
                        try:
                            parsed: Any = json.loads(value)
                        except ValueError:
                            parsed = value
                        print(json.dumps({"topic": tp.topic, "partition": tp.partition, "offset": r.offset,
                                          "key": (r.key or b"").decode("utf-8", "replace"), "headers": headers,
                                          "value": parsed}), flush=True)
                    else:
                        out.rule(escape(f"{tp.topic}[{tp.partition}]@{r.offset}  key={(r.key or b'').decode('utf-8', 'replace')}"))
                        for k, v in headers.items():
                            out.print(f"  {k}: {v}", markup=False)
                        try:
                            out.print(Syntax(json.dumps(json.loads(value), indent=2), "json"))
                        except ValueError:
                            out.print(value, markup=False)
                    shown += 1
                    if limit is not None and shown >= limit:
                        return 0
        return 0
    finally:
        await consumer.stop()


@topic.command("tail")
def tail(name: str, from_beginning: Annotated[bool, typer.Option(help="from the topic's first record")] = False,
         limit: Annotated[int | None, typer.Option(help="stop after N records")] = None,
         follow: Annotated[bool, typer.Option(help="keep waiting for new records")] = True,
         as_json: JsonOpt = False) -> None:
    """Follow a topic: each record's partition, offset, key, headers and value (pretty JSON)."""
    raise typer.Exit(asyncio.run(_tail(name, from_beginning, limit, follow, as_json)))


def main() -> None:
    app(prog_name="dropline")


if __name__ == "__main__":
    sys.exit(main())
