"""The Kubernetes deployment (deploy/k8s) and the image (Dockerfile) agree with the code.

Rendered by tests/deploy/conftest.py (a small kustomize); cross-checked against real kustomize
when kubectl or kustomize is installed.
"""

from __future__ import annotations

import base64
import importlib
import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from dropline_infra.settings import SecretsKeyMixin, ServiceSettings
from dropline_schemas import topics as T
from dropline_testsupport.specs import code_publishes

yaml = pytest.importorskip(
    "yaml", reason="PyYAML is not in the dev dependencies yet; run: uv run --with pyyaml pytest tests/deploy"
)

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "production")
NAMESPACE = "dropline"
IMAGE = "ghcr.io/dropline/dropline"

# service (folder, k8s name) -> (Python package, env prefix, HTTP port)
SERVICES = {
    "gateway": ("gateway", "GATEWAY_", 8000),
    "order-ingest": ("order_ingest", "ORDER_INGEST_", 8001),
    "checkout": ("checkout", "CHECKOUT_", 8002),
    "forwarder": ("forwarder", "FORWARDER_", 8003),
    "tracking-sync": ("tracking_sync", "TRACKING_SYNC_", 8004),
}
# Variables without a service prefix that a Dropline container may receive (OpenTelemetry SDK).
STANDARD_ENV = {
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_SERVICE_NAME",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
}
GENERATED_SUFFIX = re.compile(r"-[bcdfghkmt2-9]{10}$")


# ------------------------------------------------------------------------------------ helpers


def of_kind(docs: list[dict], kind: str) -> dict[str, dict]:
    return {d["metadata"]["name"]: d for d in docs if d["kind"] == kind}


def pod_spec(deployment: dict) -> dict:
    return deployment["spec"]["template"]["spec"]


def main_container(deployment: dict) -> dict:
    return pod_spec(deployment)["containers"][0]


def container_env(docs: list[dict], deployment: dict) -> dict[str, dict]:
    """Every variable the main container gets: name -> {"value": ...} or {"secret": (name, key)}."""
    configmaps, secrets = of_kind(docs, "ConfigMap"), of_kind(docs, "Secret")
    env: dict[str, dict] = {}
    container = main_container(deployment)
    for source in container.get("envFrom", []):
        if "configMapRef" in source:
            cm = configmaps[source["configMapRef"]["name"]]
            env.update(
                {k: {"value": v, "from": cm["metadata"]["name"]} for k, v in cm.get("data", {}).items()}
            )
        else:
            secret = secrets[source["secretRef"]["name"]]
            env.update({k: {"secret": (secret["metadata"]["name"], k)} for k in secret.get("data", {})})
    for item in container.get("env", []):
        if "value" in item:
            env[item["name"]] = {"value": item["value"]}
        elif "secretKeyRef" in item.get("valueFrom", {}):
            ref = item["valueFrom"]["secretKeyRef"]
            env[item["name"]] = {"secret": (ref["name"], ref["key"])}
        else:
            env[item["name"]] = {"other": item["valueFrom"]}
    return env


def settings_class(service: str):
    """The service's Settings class."""
    pkg = SERVICES[service][0]
    return importlib.import_module(f"{pkg}.settings").Settings


def yaml_files() -> list[Path]:
    return sorted(p for p in K8S.rglob("*.yaml") if "secrets" not in p.parts)


# ------------------------------------------------------------------------ rendering and layout


@pytest.mark.parametrize("path", yaml_files(), ids=lambda p: str(p.relative_to(K8S)))
def test_every_manifest_file_is_valid_yaml_without_duplicate_keys(path, load_manifest):
    docs = load_manifest(path)
    assert docs, f"{path} is empty"
    for doc in docs:
        assert {"apiVersion", "kind"} <= set(doc), f"{path}: {doc}"
        if path.name != "kustomization.yaml":
            assert doc["metadata"]["name"], path


def test_the_kustomize_tree_has_the_agreed_layout():
    assert (K8S / "base" / "kustomization.yaml").is_file()
    for service in SERVICES:
        docs = yaml.safe_load_all((K8S / "base" / f"{service}.yaml").read_text())
        kinds = sorted(d["kind"] for d in docs if d)
        expected = ["ConfigMap", "Deployment", "Service", "ServiceAccount"]
        if service == "gateway":
            expected.append("PodDisruptionBudget")
        assert kinds == sorted(expected), f"base/{service}.yaml holds {kinds}"
    for component in ("strimzi-topics", "otel-collector"):
        k = yaml.safe_load((K8S / "components" / component / "kustomization.yaml").read_text())
        assert k["kind"] == "Component"
    for overlay in OVERLAYS:
        k = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
        assert "../../base" in k["resources"]


def test_every_service_folder_is_deployed():
    folders = {p.parent.name for p in (REPO / "services").glob("*/pyproject.toml")}
    assert folders == set(SERVICES), (
        "a service was added or renamed: deploy it in deploy/k8s and the Dockerfile"
    )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_everything_lands_in_the_dropline_namespace(rendered, overlay):
    for doc in rendered[overlay]:
        if doc["kind"] == "Namespace":
            assert doc["metadata"]["name"] == NAMESPACE
        else:
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{doc['kind']}/{doc['metadata']['name']}"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_references_between_resources_resolve(rendered, overlay):
    docs = rendered[overlay]
    configmaps, secrets = of_kind(docs, "ConfigMap"), of_kind(docs, "Secret")
    accounts = of_kind(docs, "ServiceAccount")
    # Secrets Strimzi's User Operator creates for the KafkaUsers of components/strimzi-topics.
    strimzi_secrets = set(of_kind(docs, "KafkaUser"))
    for name, dep in of_kind(docs, "Deployment").items():
        spec = pod_spec(dep)
        assert spec["serviceAccountName"] in accounts, name
        for c in spec["containers"]:
            for src in c.get("envFrom", []):
                assert src["configMapRef"]["name"] in configmaps, (name, src)
            for item in c.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    if ref["name"] in strimzi_secrets:
                        assert ref["key"] == "password", (name, ref)
                    else:
                        assert ref["name"] in secrets, (name, ref)
                        assert ref["key"] in secrets[ref["name"]]["data"], (name, ref)
            mounts = {m["name"] for m in c.get("volumeMounts", [])}
            assert mounts <= {v["name"] for v in spec.get("volumes", [])}, name
        for vol in spec.get("volumes", []):
            if "secret" in vol:
                assert vol["secret"]["secretName"] in secrets, (name, vol)
                for item in vol["secret"].get("items", []):
                    assert item["key"] in secrets[vol["secret"]["secretName"]]["data"]
            if "configMap" in vol:
                assert vol["configMap"]["name"] in configmaps, (name, vol)
    for name, svc in of_kind(docs, "Service").items():
        deps = [
            d
            for d in of_kind(docs, "Deployment").values()
            if svc["spec"]["selector"].items() <= d["spec"]["template"]["metadata"]["labels"].items()
        ]
        assert len(deps) == 1, f"Service {name} selects {len(deps)} Deployments"
        ports = {p["name"] for c in pod_spec(deps[0])["containers"] for p in c.get("ports", [])}
        for port in svc["spec"]["ports"]:
            assert port["targetPort"] in ports, (name, port)


# ------------------------------------------------------------------------------ pod hardening


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_deployment_is_hardened(rendered, overlay):
    deployments = of_kind(rendered[overlay], "Deployment")
    assert set(SERVICES) <= set(deployments)
    for name, dep in deployments.items():
        spec = pod_spec(dep)
        where = f"{overlay}: Deployment {name}"
        assert (
            dep["spec"]["selector"]["matchLabels"].items()
            <= dep["spec"]["template"]["metadata"]["labels"].items()
        )
        assert spec["securityContext"]["runAsNonRoot"] is True, where
        assert spec["securityContext"]["runAsUser"] != 0, where
        assert spec["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert spec["automountServiceAccountToken"] is False, where
        assert spec["terminationGracePeriodSeconds"] == 30, where
        assert not spec.get("hostNetwork") and not spec.get("hostPID") and not spec.get("hostIPC"), where
        volumes = {v["name"]: v for v in spec["volumes"]}
        for c in spec["containers"]:
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, where
            assert sc["readOnlyRootFilesystem"] is True, where
            assert sc["capabilities"]["drop"] == ["ALL"] and not sc["capabilities"].get("add"), where
            assert not sc.get("privileged"), where
            for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
                assert "httpGet" in c[probe], f"{where}: {probe}"
            resources = c["resources"]
            assert {"cpu", "memory"} <= set(resources["requests"]), where
            assert {"cpu", "memory"} <= set(resources["limits"]), where
            assert "preStop" in c["lifecycle"], where
            tmp = [m for m in c["volumeMounts"] if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp must be an emptyDir"
            assert not c["image"].endswith(":latest") and ":" in c["image"].rpartition("/")[2], (
                f"{where}: image {c['image']} has no pinned tag"
            )


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_service_deployments_run_the_right_module_and_probes(rendered, overlay):
    docs = rendered[overlay]
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    images = set()
    for name, (pkg, prefix, port) in SERVICES.items():
        dep = deployments[name]
        c = main_container(dep)
        env = container_env(docs, dep)
        images.add(c["image"])
        assert c["image"].startswith(IMAGE + ":"), c["image"]
        assert c["command"] == ["python", "-m", pkg]
        assert [p["containerPort"] for p in c["ports"] if p["name"] == "http"] == [port]
        assert env[f"{prefix}HTTP_PORT"]["value"] == str(port)
        assert env[f"{prefix}HTTP_HOST"]["value"] == "0.0.0.0"
        assert env[f"{prefix}ENVIRONMENT"]["value"] == "production"
        assert env[f"{prefix}LOG_FORMAT"]["value"] == "json"
        assert c["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert c["startupProbe"]["httpGet"]["path"] == "/healthz"
        assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert c["lifecycle"]["preStop"]["exec"]["command"][0] == "sleep"
        # Service links would inject e.g. CHECKOUT_PORT / GATEWAY_SERVICE_HOST into the prefixes.
        assert pod_spec(dep)["enableServiceLinks"] is False, name
        # Prometheus finds every service's /metrics (dropline_infra.runtime) on its HTTP port.
        assert dep["spec"]["template"]["metadata"]["annotations"] == {
            "prometheus.io/scrape": "true", "prometheus.io/port": str(port), "prometheus.io/path": "/metrics"}, name
        assert services[name]["spec"]["ports"][0]["port"] == port
    assert len(images) == 1, f"one image for every service, got {images}"


# ----------------------------------------------------------------- configuration vs Settings


def _service_env_names(docs: list[dict], service: str) -> dict[str, dict]:
    return container_env(docs, of_kind(docs, "Deployment")[service])


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("service", SERVICES)
def test_env_vars_are_fields_of_the_service_settings(rendered, overlay, service):
    pkg, prefix, _ = SERVICES[service]
    env = _service_env_names(rendered[overlay], service)
    foreign = [n for n in env if not n.startswith(prefix) and n not in STANDARD_ENV]
    assert not foreign, f"{service} gets variables outside its prefix {prefix}: {foreign}"
    settings = settings_class(service)
    assert settings.model_config.get("env_prefix") == prefix
    fields = set(settings.model_fields)
    unknown = sorted(n for n in env if n.startswith(prefix) and n.removeprefix(prefix).lower() not in fields)
    assert not unknown, f"{service}: {unknown} match no field of {pkg}.settings.Settings (would be ignored)"


@pytest.mark.parametrize("service", SERVICES)
def test_shared_env_vars_are_fields_of_service_settings_base(rendered, service):
    """Runs even while a service's own Settings class is not written yet."""
    _, prefix, _ = SERVICES[service]
    base_fields = set(ServiceSettings.model_fields) | set(SecretsKeyMixin.model_fields)
    specific = {
        "gateway": {"admin_token", "checkout_url", "checkout_internal_token", "web_dir", "stripe_js_url",
                    "stripe_publishable_key", "public_url", "run_consumers"},
        "checkout": {"stripe_api_key", "stripe_webhook_secret", "paypal_client_id", "paypal_client_secret",
                     "paypal_webhook_id", "paypal_environment", "internal_token"},
    }.get(service, set())
    for name in _service_env_names(rendered["production"], service):
        if name.startswith(prefix):
            field = name.removeprefix(prefix).lower()
            assert field in base_fields or field in specific, f"{name}: no such shared setting"


@pytest.mark.parametrize("service", SERVICES)
def test_production_settings_accept_the_rendered_configuration(rendered, service, monkeypatch, tmp_path):
    """The values parse (Literal, bool, int) and the production validators are satisfied."""
    settings = settings_class(service)
    docs = rendered["production"]
    secrets = of_kind(docs, "Secret")
    for name in list(os.environ):
        if name.startswith(SERVICES[service][1]):
            monkeypatch.delenv(name)
    fernet_key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    for name, source in _service_env_names(docs, service).items():
        if "value" in source:
            value = source["value"]
        elif source["secret"][0] in secrets:
            value = f"test-{name.lower()}"
            if name.endswith("SECRETS_KEY"):
                value = fernet_key
            elif name.endswith("DATABASE_URL"):
                value = f"postgresql://{service}:pw@db.example:5432/{service}"
        else:  # Strimzi KafkaUser password
            value = "scram-password"
        monkeypatch.setenv(name, value)
    s = settings()
    assert s.environment == "production"
    assert s.kafka_security_protocol == "SASL_SSL" and s.kafka_sasl_mechanism == "SCRAM-SHA-512"
    assert s.kafka_idempotent_producer is True and s.kafka_create_topics is False
    assert s.otel_exporter == "otlp" and s.log_format == "json" and s.http_host == "0.0.0.0"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secrets_are_wired_as_agreed(rendered, overlay):
    docs = rendered[overlay]
    env = {service: _service_env_names(docs, service) for service in SERVICES}
    # No secret in a ConfigMap.
    for service, variables in env.items():
        for name, source in variables.items():
            if re.search(r"(PASSWORD|TOKEN|SECRETS_KEY|API_KEY|DATABASE_URL)$", name):
                assert "secret" in source, f"{name} of {service} must come from a Secret"
    # The same Fernet key for everything that reads stored credentials.
    keys = {
        env[s][f"{SERVICES[s][1]}SECRETS_KEY"]["secret"] for s in ("gateway", "forwarder", "tracking-sync")
    }
    assert len(keys) == 1, keys
    assert (
        env["gateway"]["GATEWAY_CHECKOUT_INTERNAL_TOKEN"]["secret"]
        == env["checkout"]["CHECKOUT_INTERNAL_TOKEN"]["secret"]
    )
    assert env["gateway"]["GATEWAY_CHECKOUT_URL"]["value"] == f"http://checkout:{SERVICES['checkout'][2]}"
    assert "secret" in env["gateway"]["GATEWAY_ADMIN_TOKEN"]
    assert "secret" in env["checkout"]["CHECKOUT_STRIPE_API_KEY"]
    # Each service its own database.
    databases = [env[s][f"{SERVICES[s][1]}DATABASE_URL"]["secret"] for s in SERVICES]
    assert len(set(databases)) == len(SERVICES), databases
    # Kafka: the KafkaUser's own credentials and the cluster CA, mounted where the settings point.
    users = of_kind(docs, "KafkaUser")
    for service, (_, prefix, _) in SERVICES.items():
        username = env[service][f"{prefix}KAFKA_SASL_USERNAME"]["value"]
        assert username in users, f"{service}: no KafkaUser {username}"
        assert env[service][f"{prefix}KAFKA_SASL_PASSWORD"]["secret"] == (username, "password")
        assert (
            env[service][f"{prefix}KAFKA_BOOTSTRAP_SERVERS"]["value"] == "dropline-kafka-bootstrap.kafka:9093"
        )
        cafile = Path(env[service][f"{prefix}KAFKA_SSL_CAFILE"]["value"])
        dep = of_kind(docs, "Deployment")[service]
        mount = next(m for m in main_container(dep)["volumeMounts"] if m["mountPath"] == str(cafile.parent))
        volume = next(v for v in pod_spec(dep)["volumes"] if v["name"] == mount["name"])
        assert [i["path"] for i in volume["secret"]["items"]] == [cafile.name]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_secret_values_come_from_gitignored_files(overlay):
    overlay_dir = K8S / "overlays" / overlay
    k = yaml.safe_load((overlay_dir / "kustomization.yaml").read_text())
    for gen in k.get("secretGenerator", []):
        assert not gen.get("literals"), f"{overlay}: secret {gen['name']} has literal values in git"
        for item in gen["files"]:
            assert item.partition("=")[2].startswith("secrets/"), item
    assert (overlay_dir / "secrets" / ".gitignore").read_text().splitlines()[1:] == ["*", "!.gitignore"]
    tracked = subprocess.run(
        ["git", "ls-files", str(overlay_dir / "secrets")],
        cwd=REPO,
        check=False,
        capture_output=True,
        text=True,
    ).stdout.split()
    assert all(Path(p).name == ".gitignore" for p in tracked), f"secret files are tracked by git: {tracked}"


def test_init_secrets_script_knows_every_secret_file():
    import runpy

    script = runpy.run_path(str(K8S / "init-secrets.py"), run_name="init_secrets")
    known = set(script["GENERATED"]) | set(script["SUPPLIED"])
    for overlay in OVERLAYS:
        k = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
        files = {
            item.partition("=")[2].removeprefix("secrets/")
            for g in k["secretGenerator"]
            for item in g["files"]
        }
        assert files == known, f"{overlay}: {files ^ known}"


def test_init_secrets_script_generates_what_it_can(tmp_path):
    overlay = tmp_path / "overlay"
    overlay.mkdir()
    (overlay / "kustomization.yaml").write_text("{}")
    run = subprocess.run(
        [sys.executable, str(K8S / "init-secrets.py"), str(overlay)],
        check=False,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 1 and "MISSING" in run.stdout  # database URLs etc. are the operator's
    from cryptography.fernet import Fernet

    key = (overlay / "secrets" / "secrets-key").read_text()
    Fernet(key.encode())  # a valid Fernet key, no trailing newline
    assert key == key.strip()
    assert oct((overlay / "secrets" / "secrets-key").stat().st_mode & 0o777) == "0o600"


# ------------------------------------------------------------------------------------- Kafka


def test_kafka_topics_equal_the_contract():
    docs = [
        d
        for d in yaml.safe_load_all((K8S / "components" / "strimzi-topics" / "topics.yaml").read_text())
        if d
    ]
    declared = {d["metadata"]["name"]: d["spec"]["partitions"] for d in docs if d["kind"] == "KafkaTopic"}
    assert declared == {t.name: t.partitions for t in T.ALL_TOPICS}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_rendered_kafka_topics_equal_the_contract(rendered, overlay):
    topics = of_kind(rendered[overlay], "KafkaTopic")
    assert {n: t["spec"]["partitions"] for n, t in topics.items()} == {
        t.name: t.partitions for t in T.ALL_TOPICS
    }
    for name, topic in topics.items():
        assert topic["metadata"]["labels"]["strimzi.io/cluster"] == "dropline"
        config = topic["spec"]["config"]
        assert config["min.insync.replicas"] < topic["spec"]["replicas"] or topic["spec"]["replicas"] == 1, (
            name
        )
    assert topics[T.CATALOG.name]["spec"]["config"]["cleanup.policy"] == "compact"
    assert topics[T.DEAD_LETTER.name]["spec"]["partitions"] == 1
    if overlay == "production":
        assert all(
            t["spec"]["replicas"] == 3 and t["spec"]["config"]["min.insync.replicas"] == 2
            for t in topics.values()
        )


_CODE_TOPICS_SCRIPT = r"""
import importlib, json, pathlib, sys, tempfile
out = {}
for pkg in sys.argv[1:]:
    try:
        app_module = importlib.import_module(pkg + ".app")
        settings_module = importlib.import_module(pkg + ".settings")
    except ModuleNotFoundError as exc:
        if exc.name in (pkg, pkg + ".app", pkg + ".settings"):
            out[pkg] = {"missing": str(exc)}
            continue
        raise
    settings = settings_module.Settings(data_dir=pathlib.Path(tempfile.mkdtemp()), environment="test")
    service = app_module.create_app(settings).state.service
    out[pkg] = {"subscriptions": [{"group": s.group_id, "topics": sorted(s.topic_names)}
                                  for s in service.broker.subscribers]}
print("RESULT:" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def code_subscriptions() -> dict:
    """What each service's app subscribes to, built in a subprocess (building sets up global
    logging and tracing, which must not leak into this test process)."""
    run = subprocess.run(
        [sys.executable, "-c", _CODE_TOPICS_SCRIPT, *(p for p, _, _ in SERVICES.values())],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    line = next(line for line in run.stdout.splitlines() if line.startswith("RESULT:"))
    return json.loads(line.removeprefix("RESULT:"))


def kafka_user_acls(service: str) -> dict:
    docs = yaml.safe_load_all((K8S / "components" / "strimzi-topics" / "users.yaml").read_text())
    user = next(d for d in docs if d and d["metadata"]["name"] == f"dropline-{service}")
    assert user["spec"]["authentication"]["type"] == "scram-sha-512"
    reads, writes, groups = set(), set(), set()
    for acl in user["spec"]["authorization"]["acls"]:
        res, ops = acl["resource"], set(acl["operations"])
        if res["type"] == "topic":
            assert res["patternType"] == "literal" and "Describe" in ops, acl
            if "Read" in ops:
                reads.add(res["name"])
            if "Write" in ops:
                writes.add(res["name"])
        elif res["type"] == "group":
            assert res["patternType"] == "prefix" and "Read" in ops, acl
            groups.add(res["name"])
        else:
            raise AssertionError(f"dropline-{service}: unexpected ACL {acl}")
    return {"reads": reads, "writes": writes, "groups": groups}


@pytest.mark.parametrize("service", SERVICES)
def test_kafka_user_acls_match_what_the_code_reads_and_writes(service, code_subscriptions):
    pkg = SERVICES[service][0]
    acls = kafka_user_acls(service)
    assert acls["groups"] == {f"{service}."}
    assert T.DEAD_LETTER.name in acls["writes"], "every service dead-letters through dropline_infra"
    code = code_subscriptions[pkg]
    assert "missing" not in code, f"services/{service} app could not be built: {code.get('missing')}"
    reads = {t for sub in code["subscriptions"] for t in sub["topics"]}
    for sub in code["subscriptions"]:
        assert sub["group"].startswith(f"{service}."), f"consumer group {sub['group']} outside the ACL prefix"
    assert reads == acls["reads"], (
        f"dropline-{service} (components/strimzi-topics/users.yaml) Read ACLs differ from the code's "
        f"subscriptions: missing {sorted(reads - acls['reads'])}, unused {sorted(acls['reads'] - reads)}"
    )
    writes, unresolved = code_publishes(service)
    writes.add(T.DEAD_LETTER.name)
    missing = writes - acls["writes"]
    assert not missing, (
        f"dropline-{service} needs Write on {sorted(missing)} (components/strimzi-topics/users.yaml)"
    )
    if not unresolved:
        assert acls["writes"] == writes, (
            f"dropline-{service} may write {sorted(acls['writes'] - writes)} but never does"
        )


# ------------------------------------------------------------------------ availability, network


def test_gateway_has_a_disruption_budget_and_a_production_autoscaler(rendered):
    for overlay in OVERLAYS:
        pdbs = of_kind(rendered[overlay], "PodDisruptionBudget")
        assert pdbs["gateway"]["spec"]["selector"]["matchLabels"] == {"app.kubernetes.io/name": "gateway"}
    prod = rendered["production"]
    hpa = of_kind(prod, "HorizontalPodAutoscaler")["gateway"]
    assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "gateway"}
    assert hpa["spec"]["minReplicas"] >= 2
    # The autoscaler owns the replica count: a fixed one would be reset on every apply.
    assert "replicas" not in of_kind(prod, "Deployment")["gateway"]["spec"]
    for name in ("gateway-projection", "order-ingest", "checkout", "forwarder", "tracking-sync"):
        replicas = of_kind(prod, "Deployment")[name]["spec"]["replicas"]
        assert 2 <= replicas <= 6, f"{name}: {replicas} (more consumers than partitions would idle)"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_gateway_is_an_http_tier_and_a_projection_consumer(rendered, overlay):
    """Two Deployments of the gateway's code: `gateway` takes every request and consumes nothing
    (GATEWAY_RUN_CONSUMERS=false: its event loop only answers, and it scales on CPU, not bounded by
    partitions); `gateway-projection` runs the consumer and takes no traffic (no Service selects it).
    Otherwise the same: image, command, settings, secrets of the database and Kafka user."""
    docs = rendered[overlay]
    deployments, services = of_kind(docs, "Deployment"), of_kind(docs, "Service")
    api, projection = deployments["gateway"], deployments["gateway-projection"]
    api_env, projection_env = container_env(docs, api), container_env(docs, projection)
    assert api_env["GATEWAY_RUN_CONSUMERS"]["value"] == "false"
    assert projection_env["GATEWAY_RUN_CONSUMERS"]["value"] == "true"
    settings = settings_class("gateway")
    assert "run_consumers" in settings.model_fields
    for name in ("GATEWAY_DATABASE_URL", "GATEWAY_KAFKA_SASL_PASSWORD", "GATEWAY_SECRETS_KEY",
                 "GATEWAY_KAFKA_SASL_USERNAME", "GATEWAY_KAFKA_BOOTSTRAP_SERVERS", "GATEWAY_ENVIRONMENT"):
        assert api_env[name] == projection_env[name], name
    assert "GATEWAY_CHECKOUT_INTERNAL_TOKEN" not in projection_env, "the projection never calls checkout"
    assert main_container(api)["image"] == main_container(projection)["image"]
    assert main_container(api)["command"] == main_container(projection)["command"] == ["python", "-m", "gateway"]
    assert pod_spec(projection)["serviceAccountName"] == "gateway"
    for svc in services.values():
        assert not svc["spec"]["selector"].items() <= projection["spec"]["template"]["metadata"]["labels"].items(), (
            f"Service {svc['metadata']['name']} sends traffic to the projection consumer")
    assert pod_spec(projection)["terminationGracePeriodSeconds"] == pod_spec(api)["terminationGracePeriodSeconds"]


def _policies_selecting(docs: list[dict], labels: dict) -> list[dict]:
    out = []
    for policy in of_kind(docs, "NetworkPolicy").values():
        selector = policy["spec"]["podSelector"]
        ok = selector.get("matchLabels", {}).items() <= labels.items()
        for expr in selector.get("matchExpressions", []):
            value = labels.get(expr["key"])
            ok &= (value in expr["values"]) if expr["operator"] == "In" else (value not in expr["values"])
        if ok:
            out.append(policy)
    return out


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_only_open_the_gateway_to_the_outside(rendered, overlay):
    docs = rendered[overlay]
    deployments = of_kind(docs, "Deployment")
    for name, dep in deployments.items():
        labels = dep["spec"]["template"]["metadata"]["labels"]
        policies = _policies_selecting(docs, labels)
        assert any(
            p["spec"]["podSelector"] == {}
            and "Ingress" in p["spec"]["policyTypes"]
            and not p["spec"].get("ingress")
            for p in policies
        ), f"{name}: no default deny"
        rules = [rule for p in policies for rule in p["spec"].get("ingress", [])]
        sources = [peer for rule in rules for peer in rule.get("from", [None])]
        if name == "gateway":
            assert None in sources, "the gateway must accept traffic from outside the namespace"
            continue
        assert None not in sources, f"{name} is open to every source"
        for peer in sources:
            assert "namespaceSelector" not in peer and "ipBlock" not in peer, f"{name} admits {peer}"
        if name == "checkout":
            assert sources and all(
                p == {"podSelector": {"matchLabels": {"app.kubernetes.io/name": "gateway"}}} for p in sources
            ), f"checkout admits {sources}"


# ------------------------------------------------------------------------------------- image


def _dockerfile() -> str:
    return (REPO / "Dockerfile").read_text()


def test_dockerfile_installs_exactly_the_services():
    text = _dockerfile()
    packages = set(re.findall(r"--package (\S+?)[\s\"]", text))
    projects = {
        tomllib.loads(p.read_text())["project"]["name"] for p in (REPO / "services").glob("*/pyproject.toml")
    }
    assert packages == projects
    for service in SERVICES:
        assert f"COPY services/{service}/pyproject.toml" in text, service
        hatch = tomllib.loads((REPO / "services" / service / "pyproject.toml").read_text())
        assert hatch["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"] == [
            f"src/{SERVICES[service][0]}"
        ]
    assert "uv sync --frozen --no-dev" in text
    assert 'pip install --no-cache-dir "uv==' in text


def test_dockerfile_copies_every_workspace_members_pyproject_so_the_frozen_sync_resolves():
    # `uv sync --frozen` reads the whole workspace: a member whose pyproject.toml is not in the build
    # context fails the image build, even when the image does not install that member.
    text = _dockerfile()
    members = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["uv"]["workspace"]["members"]
    dirs = sorted({p.parent.relative_to(REPO).as_posix() for m in members for p in REPO.glob(f"{m}/pyproject.toml")})
    assert "tools/operator" in dirs and "testsupport" in dirs
    for d in dirs:
        assert f"COPY {d}/pyproject.toml {d}/" in text, f"the Dockerfile does not copy {d}/pyproject.toml"


def test_dockerfile_final_stage_is_slim_and_unprivileged():
    text = _dockerfile()
    stages = re.split(r"(?m)^FROM ", text)[1:]
    assert len(stages) == 3 and "ARG PYTHON_IMAGE=python:3.11-slim" in text  # build, web, runtime
    final = stages[-1]
    assert re.search(r"(?m)^USER 10001:10001$", final), "numeric non-root USER (runAsNonRoot can verify it)"
    assert not re.search(r"(?m)^RUN .*(pip install|apt-get install|uv )", final), (
        "no installs in the final stage"
    )
    assert "COPY --from=build /app/.venv /app/.venv" in final
    assert "COPY --from=web /web/dist /app/web/dist" in final  # the built web app, not its toolchain
    # The Kubernetes pods run as the image's user.
    base = yaml.safe_load_all((K8S / "base" / "gateway.yaml").read_text())
    dep = next(d for d in base if d and d["kind"] == "Deployment")
    assert pod_spec(dep)["securityContext"]["runAsUser"] == 10001


def test_dockerignore_keeps_secrets_and_local_state_out_of_the_build_context():
    lines = [line for line in (REPO / ".dockerignore").read_text().splitlines() if line and not line.startswith("#")]
    assert lines[0] == "*", "allow-list: exclude everything first"
    allowed = [line[1:] for line in lines if line.startswith("!")]
    forbidden = {"deploy", ".venv", "var", "tests", "bench", "docs", ".git"}
    assert not any(a.split("/")[0] in forbidden or a.startswith("testsupport/src") for a in allowed), allowed
    assert "web/node_modules" in lines and "web/dist" in lines  # the image builds the web app itself
    for needed in ("uv.lock", "services/*/src", "services/*/migrations", "schemas/src", "libs/infra/src", "libs/integrations/src", "web"):
        assert needed in allowed, needed


# ------------------------------------------------------------------------ renderer vs kustomize


def _strip_hashes(value, generated: set[str]):
    if isinstance(value, dict):
        return {k: _strip_hashes(v, generated) for k, v in value.items()}
    if isinstance(value, list):
        return [_strip_hashes(v, generated) for v in value]
    if (
        isinstance(value, str)
        and GENERATED_SUFFIX.search(value)
        and GENERATED_SUFFIX.sub("", value) in generated
    ):
        return GENERATED_SUFFIX.sub("", value)
    return value


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_python_rendering_equals_kustomize(k8s_tree, rendered, overlay, kustomize):
    if kustomize is None:
        pytest.skip("neither kustomize nor kubectl is installed: only the Python rendering was checked")
    run = subprocess.run(
        [*kustomize, str(k8s_tree / "overlays" / overlay)],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr
    k = yaml.safe_load((K8S / "overlays" / overlay / "kustomization.yaml").read_text())
    generated = {g["name"] for g in k.get("secretGenerator", []) + k.get("configMapGenerator", [])}

    def keyed(docs):
        out = {}
        for doc in docs:
            doc = _strip_hashes(doc, generated)
            if doc["kind"] == "Secret":  # kustomize wraps long base64 values: compare the values
                doc["data"] = {k: base64.b64decode(v) for k, v in doc.get("data", {}).items()}
            out[(doc["kind"], doc["metadata"].get("namespace"), doc["metadata"]["name"])] = doc
        return out

    real, ours = keyed(d for d in yaml.safe_load_all(run.stdout) if d), keyed(rendered[overlay])
    assert sorted(real) == sorted(ours)
    for ident in real:
        assert real[ident] == ours[ident], (
            f"{overlay}: {ident} differs between kustomize and tests/deploy/conftest.py"
        )
