"""What a benchmark run cost: CPU seconds per process (Dropline's services apart from the harness),
database commits per service database, Kafka messages per topic. Each is a snapshot taken before and
after the measured window; `delta` gives the difference.

CPU is read with psutil from each process the stack started (its whole process group: a service's
children count for it) plus the bundled broker and the PostgreSQL server's processes, which are
shared by every service and reported beside them, not inside any one. Commits come from
pg_stat_database.xact_commit of each service's own database (each service owns its database), so
they include the read-only transactions a service commits. Kafka messages are the sum of the end
offsets of every Dropline topic.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import psutil

from dropline_testsupport.devstack import SERVICES

# Named parts of the harness (not Dropline): what drives and stands in for the outside world.
HARNESS = ("driver", "localstripe", "shopify", "ecwid", "bigcommerce", "wix", "supplier", "supplier2", "supplier3",
           "ecb", "paypal")
SHARED = ("kafka", "postgres")


def _tree_cpu(proc: psutil.Process) -> float:
    """User + system CPU seconds of a process and its live children."""
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def _named(match) -> float:
    total = 0.0
    for p in psutil.process_iter(["name", "cmdline"]):
        try:
            if match(p.info["name"] or "", " ".join(p.info["cmdline"] or [])):
                t = p.cpu_times()
                total += t.user + t.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def cpu_snapshot(stack) -> dict[str, float]:
    """CPU seconds so far of every process of the stack, the broker, PostgreSQL and this driver."""
    out: dict[str, float] = {}
    for name, proc in stack.procs.items():
        if proc.popen is not None and proc.alive():
            # A service's other processes (Stack.start_replica: "gateway-projection") count as the service.
            key = next((s for s in SERVICES if name.startswith(s + "-") and name not in SERVICES), name)
            try:
                out[key] = out.get(key, 0.0) + _tree_cpu(psutil.Process(proc.popen.pid))
            except psutil.NoSuchProcess:
                out.setdefault(key, 0.0)
    out["kafka"] = _named(lambda name, cmd: "tansu" in name or "tansu" in cmd.split(" ")[0])
    out["postgres"] = _named(lambda name, cmd: name.startswith("postgres"))
    me = psutil.Process()
    t = me.cpu_times()
    out["driver"] = t.user + t.system  # the benchmark's own driver (this process, all its threads)
    machine = psutil.cpu_times()
    out["_steal"] = getattr(machine, "steal", 0.0)  # CPU the hypervisor gave to other guests (all cores)
    out["_busy"] = sum(getattr(machine, f, 0.0) for f in ("user", "nice", "system", "irq", "softirq"))
    return out


def db_commits(stack) -> dict[str, int]:
    """Committed transactions so far in each service's database (PostgreSQL only; {} on SQLite)."""
    import psycopg
    from sqlalchemy.engine import make_url

    out = {}
    for name, url in stack.db_urls.items():
        u = make_url(url)
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                             dbname=u.database, autocommit=True) as conn:
            conn.execute("SELECT pg_stat_force_next_flush()")  # PostgreSQL 15+: our own backend's counters
            out[name] = conn.execute("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
                                     ).fetchone()[0]
    return out


def kafka_messages(stack) -> dict[str, int]:
    """Messages Dropline has sent so far, per topic: its services' outbox rows marked published (PostgreSQL
    only; {} on SQLite). Not the topics' end offsets: the bundled broker reports those as the number of
    produce batches, not of records (5 records sent in one batch: end offset 1), which under-counted."""
    import psycopg
    from sqlalchemy.engine import make_url

    out: dict[str, int] = {}
    for url in stack.db_urls.values():
        u = make_url(url)
        with psycopg.connect(host=u.host, port=u.port or 5432, user=u.username, password=u.password,
                             dbname=u.database, autocommit=True) as conn:
            for topic, n in conn.execute("SELECT topic, count(*) FROM outbox WHERE published_at IS NOT NULL "
                                         "GROUP BY topic"):
                out[topic] = out.get(topic, 0) + n
    return out


@dataclass
class Snapshot:
    at: float
    cpu: dict[str, float]
    commits: dict[str, int]
    messages: dict[str, int]


def snapshot(stack) -> Snapshot:
    """Every read here is synchronous: callable from inside a running event loop as well."""
    return Snapshot(time.monotonic(), cpu_snapshot(stack), db_commits(stack), kafka_messages(stack))


def per_order(before: Snapshot, after: Snapshot, orders: int) -> dict:
    """The window's cost per order: Dropline CPU per service and in total (ms), the harness's and the
    shared infrastructure's CPU apart, commits per service database, Kafka messages per topic."""
    cpu = {k: after.cpu.get(k, 0.0) - before.cpu.get(k, 0.0) for k in after.cpu}
    dropline = {k: round(cpu.get(k, 0.0) * 1000 / orders, 2) for k in SERVICES}
    commits = {k: round((after.commits[k] - before.commits.get(k, 0)) / orders, 2) for k in after.commits}
    topics = {k: round((after.messages[k] - before.messages.get(k, 0)) / orders, 2) for k in after.messages
              if after.messages[k] != before.messages.get(k, 0)}
    return {
        "dropline_cpu_ms_per_order": {**dropline, "total": round(sum(dropline.values()), 2)},
        "shared_cpu_ms_per_order": {k: round(cpu.get(k, 0.0) * 1000 / orders, 2) for k in SHARED},
        "harness_cpu_ms_per_order": {k: round(cpu[k] * 1000 / orders, 2) for k in HARNESS if k in cpu},
        "db_commits_per_order": {**commits, "total": round(sum(commits.values()), 2)},
        "kafka_messages_per_order": {**topics, "total": round(sum(topics.values()), 2)},
        "window_s": round(after.at - before.at, 2),
        # A shared machine: CPU taken by other guests in the window, and every process's CPU on this one
        # (compare runs only when these are alike; CPU time per order grows when the host is contended).
        "machine_cpu_s": {"busy": round(cpu["_busy"], 1), "stolen": round(cpu["_steal"], 1),
                          "cores": psutil.cpu_count()},
    }


def idle_cpu_ms_per_s(stack, seconds: float = 5.0) -> dict:
    """What the idle system burns (polling loops, scans) per second: a small run's CPU per order
    includes this; a long one spreads it thin."""
    a = cpu_snapshot(stack)
    time.sleep(seconds)
    b = cpu_snapshot(stack)
    services = {k: round((b.get(k, 0) - a.get(k, 0)) * 1000 / seconds, 2) for k in SERVICES}
    return {**services, "total": round(sum(services.values()), 2)}
