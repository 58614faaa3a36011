"""The whole Dropline system on one machine: bundled Kafka-compatible broker, localstripe, the
store stand-ins (Shopify, Ecwid, BigCommerce, Wix), the supplier stand-ins, and the five services,
each its own process.

Used by `make run` (``python -m dropline_testsupport.devstack``), by the e2e tests and by the
benchmark (the `Stack` context manager). Databases: SQLite files in a data folder (default), or
a fresh PostgreSQL database per service when a `DatabaseFactory` is given.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from . import infra

SERVICES = {  # name: (python module, env prefix, default port)
    "gateway": ("gateway", "GATEWAY_", 8000),
    "order-ingest": ("order_ingest", "ORDER_INGEST_", 8001),
    "checkout": ("checkout", "CHECKOUT_", 8002),
    "forwarder": ("forwarder", "FORWARDER_", 8003),
    "tracking-sync": ("tracking_sync", "TRACKING_SYNC_", 8004),
}
STORE_STANDINS = {"shopify": "shopify_standin", "ecwid": "ecwid_standin", "bigcommerce": "bigcommerce_standin",
                  "wix": "wix_standin"}  # one stand-in per store platform
DEFAULT_PORTS = {"kafka": 9092, "localstripe": 8420, "shopify": 8101, "supplier": 8102, "supplier2": 8103,
                 "supplier3": 8104, "ecwid": 8105, "bigcommerce": 8106, "wix": 8107, "ecb": 8108, "paypal": 8109,
                 **{name: port for name, (_, _, port) in SERVICES.items()}}
SUPPLIER_STANDINS = ("supplier", "supplier2", "supplier3")
# The bundled broker answers a consumer's group join after about half its session timeout (10 s by
# default: 5 s per consumer at every start). Local stacks and tests use 3 s (heartbeat 1 s).
FAST_GROUP_JOIN = {"KAFKA_SESSION_TIMEOUT_MS": "3000", "KAFKA_HEARTBEAT_INTERVAL_MS": "1000"}
ADMIN_TOKEN = "dev-admin-token"
# checkout's development default (adapters/stripe/settings.py), which only localstripe accepts.
DEVELOPMENT_STRIPE_WEBHOOK_SECRET = "whsec_dropline_local"


@dataclass
class Proc:
    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    popen: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log_path, "ab") as log:  # the child keeps its own copy of the descriptor
            self.popen = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                          stdin=subprocess.DEVNULL, start_new_session=True)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15.0) -> None:
        if not self.alive():
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, sig)
        try:
            self.popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGKILL)
            self.popen.wait(timeout=5)


@dataclass
class Stack:
    data_dir: Path
    fixed_ports: bool = False
    databases: infra.DatabaseFactory | None = None
    service_env: dict[str, dict[str, str]] = field(default_factory=dict)
    kafka_bootstrap: str | None = None  # use an existing broker instead of starting the bundled one

    def __post_init__(self):
        self.data_dir = Path(self.data_dir).resolve()
        self.log_dir = self.data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.ports = dict(DEFAULT_PORTS) if self.fixed_ports else dict(
            zip(DEFAULT_PORTS, infra.free_ports(len(DEFAULT_PORTS)), strict=True))
        self.procs: dict[str, Proc] = {}
        self.db_urls: dict[str, str] = {}
        self._broker_cm = None

    # ------------------------------------------------------------------ addresses

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    @property
    def bootstrap(self) -> str:
        return self.kafka_bootstrap or f"127.0.0.1:{self.ports['kafka']}"

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> None:
        if not self.kafka_bootstrap:
            self._broker_cm = infra.bundled_broker(self.ports["kafka"], self.log_dir / "kafka.log")
            self._broker_cm.__enter__()
        self._create_topics()
        py = sys.executable
        self._spawn("localstripe", [py, "-m", "localstripe", "--port", str(self.ports["localstripe"]), "--from-scratch"])
        for platform, module in STORE_STANDINS.items():
            self._spawn(platform, [py, "-m", f"dropline_testsupport.{module}", "--port", str(self.ports[platform])])
        for standin in SUPPLIER_STANDINS:  # one stand-in per auto-order supplier of the demo
            self._spawn(standin, [py, "-m", "dropline_testsupport.supplier_standin", "--port", str(self.ports[standin])])
        self._spawn("ecb", [py, "-m", "dropline_testsupport.ecb_standin", "--port", str(self.ports["ecb"])])
        # PayPal posts its webhooks to the gateway, which hands them to checkout.
        self._spawn("paypal", [py, "-m", "dropline_testsupport.paypal_standin", "--port", str(self.ports["paypal"]),
                               "--webhook-url", self.url("gateway") + "/webhooks/payments/paypal"])
        infra.wait_for_port("127.0.0.1", self.ports["ecb"], timeout=30)  # checkout fetches rates at start
        for name in SERVICES:
            if self.databases is not None:
                self.db_urls[name] = self.databases.create(name)
            self.start_service(name)
        for name in ("localstripe", *STORE_STANDINS, *SUPPLIER_STANDINS, "ecb", "paypal"):
            infra.wait_for_port("127.0.0.1", self.ports[name], timeout=30)
        # localstripe posts signed payment_intent.* webhooks, as Stripe does, to the gateway.
        httpx.post(self.url("localstripe") + "/_config/webhooks/dropline", timeout=10, data={
            "url": self.url("gateway") + "/webhooks/payments/stripe",
            "secret": DEVELOPMENT_STRIPE_WEBHOOK_SECRET}).raise_for_status()
        for name in SERVICES:
            self.wait_ready(name)

    def _create_topics(self) -> None:
        import asyncio

        from dropline_infra.messaging import ensure_topics
        from dropline_infra.settings import ServiceSettings

        settings = ServiceSettings(kafka_bootstrap_servers=self.bootstrap)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            asyncio.run(ensure_topics(settings))
            return
        # A loop already runs in this thread (e.g. Playwright's sync API in the same test session):
        # create the topics from a worker thread with its own loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, ensure_topics(settings)).result()

    def _spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> Proc:
        base = {k: v for k, v in os.environ.items() if not k.startswith(tuple(p for _, p, _ in SERVICES.values()))}
        proc = Proc(name, argv, {**base, **(env or {})}, self.log_dir / f"{name}.log")
        proc.start()
        self.procs[name] = proc
        return proc

    def service_environment(self, name: str) -> dict[str, str]:
        module, prefix, _ = SERVICES[name]
        env = {
            "ENVIRONMENT": "development", "DATA_DIR": str(self.data_dir / "db"), "HTTP_PORT": str(self.ports[name]),
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap, "LOG_FORMAT": "json", "KAFKA_CREATE_TOPICS": "false",
            **FAST_GROUP_JOIN,
        }
        if name in self.db_urls:
            env["DATABASE_URL"] = self.db_urls[name]
        if name == "gateway":
            env["CHECKOUT_URL"] = self.url("checkout")
            env["ADMIN_TOKEN"] = ADMIN_TOKEN
            env["STRIPE_JS_URL"] = self.url("localstripe") + "/js.stripe.com/v3/"
        if name == "checkout":
            env["STRIPE_API_BASE"] = self.url("localstripe")
            env["PAYPAL_API_BASE"] = self.url("paypal")
            env["ECB_RATES_URL"] = self.url("ecb") + "/stats/eurofxref/eurofxref-hist-90d.xml"
        env.update(self.service_env.get(name, {}))
        return {prefix + k: v for k, v in env.items()}

    def start_service(self, name: str) -> Proc:
        module = SERVICES[name][0]
        return self._spawn(name, [sys.executable, "-m", module], self.service_environment(name))

    def start_replica(self, name: str, replica: str, env: dict[str, str] | None = None) -> str:
        """Another process of service `name` — a Deployment's second pod: its own HTTP port, the same
        database and consumer groups; `env` (names without the service's prefix) sets what differs, e.g.
        {"RUN_CONSUMERS": "true"} for the gateway's projection pod. Returns its key (for url(),
        wait_ready(), kill())."""
        if self.databases is None:
            raise ValueError("replicas share their service's database: start the stack on PostgreSQL")
        key = f"{name}-{replica}"
        module, prefix, _ = SERVICES[name]
        self.ports[key] = infra.free_ports(1, avoid=self.ports.values())[0]
        env = {**self.service_environment(name), **{prefix + k: v for k, v in (env or {}).items()},
               prefix + "HTTP_PORT": str(self.ports[key])}
        self._spawn(key, [sys.executable, "-m", module], env)
        return key

    def wait_ready(self, name: str, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = self.procs[name]
            if not proc.alive():
                raise RuntimeError(f"{name} exited with {proc.popen.returncode}; log: {proc.log_path}\n"
                                   + proc.log_path.read_text()[-3000:])
            with contextlib.suppress(httpx.HTTPError):
                r = httpx.get(self.url(name) + "/readyz", timeout=2)
                if r.status_code == 200:
                    return
                last = r.text
            time.sleep(0.2)
        raise TimeoutError(f"{name} not ready after {timeout}s: {last}; log: {self.procs[name].log_path}")

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown hooks, no flush — what a crash looks like."""
        self.procs[name].stop(signal.SIGKILL)

    def restart(self, name: str, env: dict[str, str] | None = None) -> None:
        self.procs[name].stop()
        if env is not None:
            self.service_env[name] = env
        self.start_service(name)
        self.wait_ready(name)

    def stop(self) -> None:
        for proc in reversed(list(self.procs.values())):
            proc.stop()
        if self._broker_cm is not None:
            self._broker_cm.__exit__(None, None, None)
            self._broker_cm = None
        if self.databases is not None:
            self.databases.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole Dropline system locally (make run).")
    parser.add_argument("--data-dir", default="var", help="SQLite files, logs and demo.json (default ./var)")
    parser.add_argument("--no-demo-data", action="store_true", help="start empty")
    args = parser.parse_args()
    from .demo import load_demo_data, print_banner

    data_dir = Path(args.data_dir)
    # The bundled broker, localstripe and the stand-ins keep nothing between runs, so databases
    # left by an earlier run would describe orders, payments and store orders that exist nowhere
    # else any more: start every run on fresh demo data.
    if (data_dir / "db").exists():
        shutil.rmtree(data_dir / "db")
        print(f"Removed the previous run's databases ({data_dir / 'db'}): starting on fresh demo data.", flush=True)
    stack = Stack(data_dir, fixed_ports=True)
    stop_requested = False

    def _on_signal(signum, _frame):
        nonlocal stop_requested
        stop_requested = True

    # Ctrl-C, kill, or the terminal going away: stop every process this command started.
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _on_signal)
    print("Starting Dropline (broker, localstripe, stand-ins, 5 services)…", flush=True)
    try:
        with stack:
            demo = None if args.no_demo_data else load_demo_data(stack)
            print_banner(stack, demo)
            while not stop_requested:
                for name, proc in stack.procs.items():
                    if not proc.alive():
                        print(f"!! {name} exited ({proc.popen.returncode}); see {proc.log_path}", flush=True)
                        stop_requested = True
                time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        print("\nStopping every process started by make run…", flush=True)


if __name__ == "__main__":
    main()
