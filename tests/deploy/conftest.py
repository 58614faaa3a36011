"""Render deploy/k8s without kubectl: a small kustomize that understands exactly the features
Dropline's kustomizations use (resources, components, namespace, images, replicas, patches —
strategic merge and JSON 6902 — and file/literal generators). Anything else is refused, so the
renderer can never silently disagree with kustomize. When kubectl or kustomize is installed,
test_k8s_manifests.py also checks that both renderings are identical."""

from __future__ import annotations

import base64
import copy
import re
import shutil
import subprocess
from pathlib import Path

import pytest

try:
    import yaml
except ImportError:  # test_k8s_manifests.py skips itself then; a conftest must not skip the session
    yaml = None

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "deploy" / "k8s"
OVERLAYS = ("dev", "production")

CLUSTER_SCOPED = {
    "Namespace",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "StorageClass",
    "PersistentVolume",
}
KUSTOMIZATION_KEYS = {
    "apiVersion",
    "kind",
    "namespace",
    "resources",
    "components",
    "images",
    "replicas",
    "patches",
    "configMapGenerator",
    "secretGenerator",
}
GENERATOR_KEYS = {"name", "namespace", "files", "literals", "envs", "type"}
# Strategic-merge keys of the list fields Dropline's patches may touch (from the Kubernetes API).
MERGE_KEYS = {
    "containers": "name",
    "initContainers": "name",
    "env": "name",
    "volumes": "name",
    "volumeMounts": "mountPath",
    "ports": "containerPort",
    "imagePullSecrets": "name",
}


if yaml is not None:

    class _StrictLoader(yaml.SafeLoader):
        """SafeLoader that refuses duplicate mapping keys (PyYAML keeps the last one silently)."""

        def construct_mapping(self, node, deep=False):
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)


def load_docs(path: Path) -> list[dict]:
    return [d for d in yaml.load_all(path.read_text(), Loader=_StrictLoader) if d is not None]


class UnsupportedFeature(Exception):
    pass


def _kustomization(directory: Path) -> dict:
    k = load_docs(directory / "kustomization.yaml")[0]
    unknown = set(k) - KUSTOMIZATION_KEYS
    if unknown:
        raise UnsupportedFeature(
            f"{directory}: kustomization keys {sorted(unknown)} are not understood by "
            "tests/deploy/conftest.py; teach it, or keep to the supported ones"
        )
    return k


def _generate(kind: str, spec: dict, directory: Path) -> dict:
    unknown = set(spec) - GENERATOR_KEYS
    if unknown:
        raise UnsupportedFeature(f"{directory}: generator keys {sorted(unknown)}")
    data: dict[str, str] = {}
    for item in spec.get("files", []):
        key, _, rel = item.partition("=") if "=" in item else (Path(item).name, "", item)
        data[key] = (directory / rel).read_text()
    for item in spec.get("literals", []):
        key, _, value = item.partition("=")
        data[key] = value
    for rel in spec.get("envs", []):
        for line in (directory / rel).read_text().splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                key, _, value = line.partition("=")
                data[key.strip()] = value
    meta = {"name": spec["name"]}
    if "namespace" in spec:
        meta["namespace"] = spec["namespace"]
    if kind == "Secret":
        return {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": meta,
            "type": spec.get("type", "Opaque"),
            "data": {k: base64.b64encode(v.encode()).decode() for k, v in data.items()},
        }
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta, "data": data}


def _matches(res: dict, target: dict) -> bool:
    for key in target:
        if key not in {"group", "version", "kind", "name", "namespace", "labelSelector"}:
            raise UnsupportedFeature(f"patch target key {key!r}")
    api = res.get("apiVersion", "")
    group, _, version = api.rpartition("/")
    meta = res.get("metadata", {})
    if "group" in target and target["group"] != group:
        return False
    if "version" in target and target["version"] != version:
        return False
    for key, actual in (
        ("kind", res.get("kind")),
        ("name", meta.get("name")),
        ("namespace", meta.get("namespace")),
    ):
        if key in target:
            if re.search(r"[\^$*+?()\[\]{}|\\]", str(target[key])):
                raise UnsupportedFeature(f"regular expression in patch target {key}: {target[key]!r}")
            if target[key] != actual:
                return False
    if "labelSelector" in target:
        labels = meta.get("labels", {})
        for term in target["labelSelector"].split(","):
            if "!=" in term or " in " in term or "(" in term:
                raise UnsupportedFeature(f"labelSelector term {term!r}")
            k, _, v = term.partition("=")
            if labels.get(k.strip()) != v.strip():
                return False
    return True


def _smp(base: dict, patch: dict) -> None:
    for key, value in patch.items():
        if isinstance(key, str) and key.startswith("$"):
            raise UnsupportedFeature(f"strategic-merge directive {key}")
        if value is None:
            base.pop(key, None)
        elif isinstance(value, dict) and isinstance(base.get(key), dict):
            _smp(base[key], value)
        elif isinstance(value, list) and key in MERGE_KEYS and isinstance(base.get(key), list):
            merge_key = MERGE_KEYS[key]
            for item in value:
                current = next((b for b in base[key] if b.get(merge_key) == item.get(merge_key)), None)
                if current is None:
                    base[key].append(copy.deepcopy(item))
                else:
                    _smp(current, item)
        else:
            base[key] = copy.deepcopy(value)


def _pointer(path: str) -> list[str]:
    return [p.replace("~1", "/").replace("~0", "~") for p in path.lstrip("/").split("/")]


def _json6902(doc: dict, ops: list[dict]) -> None:
    for op in ops:
        *parents, last = _pointer(op["path"])
        node = doc
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        kind = op["op"]
        if kind not in ("add", "replace", "remove"):
            raise UnsupportedFeature(f"JSON patch op {kind!r}")
        if isinstance(node, list):
            index = len(node) if last == "-" else int(last)
            if kind == "add":
                node.insert(index, copy.deepcopy(op["value"]))
            elif kind == "replace":
                node[index] = copy.deepcopy(op["value"])
            else:
                del node[index]
        else:
            if kind in ("replace", "remove") and last not in node:
                raise KeyError(f"JSON patch {kind} of missing {op['path']}")
            if kind == "remove":
                del node[last]
            else:
                node[last] = copy.deepcopy(op["value"])


def _apply_patches(k: dict, directory: Path, resources: list[dict]) -> None:
    for entry in k.get("patches", []):
        unknown = set(entry) - {"path", "patch", "target"}
        if unknown:
            raise UnsupportedFeature(f"patch keys {sorted(unknown)}")
        text = (directory / entry["path"]).read_text() if "path" in entry else entry["patch"]
        body = yaml.load(text, Loader=_StrictLoader)
        if isinstance(body, list):
            targets = [r for r in resources if _matches(r, entry["target"])]
            for res in targets:
                _json6902(res, body)
        else:
            target = entry.get("target") or {"kind": body["kind"], "name": body["metadata"]["name"]}
            targets = [r for r in resources if _matches(r, target)]
            for res in targets:
                patch = copy.deepcopy(body)
                if "target" in entry:  # kustomize applies a targeted SMP without renaming the resource
                    patch.get("metadata", {}).pop("name", None)
                _smp(res, patch)
        if not targets:
            raise AssertionError(
                f"{directory}: patch {entry.get('path') or entry.get('target')} matches nothing"
            )


def _containers(res: dict) -> list[dict]:
    spec = res.get("spec", {}).get("template", {}).get("spec", {})
    return spec.get("containers", []) + spec.get("initContainers", [])


def _split_image(image: str) -> tuple[str, str]:
    if "@" in image:
        name, _, digest = image.partition("@")
        return name, "@" + digest
    head, _, last = image.rpartition("/")
    if ":" in last:
        last, _, tag = last.partition(":")
        return (f"{head}/{last}" if head else last), ":" + tag
    return image, ""


def _transform(k: dict, directory: Path, resources: list[dict]) -> None:
    # kustomize's order: patches, namespace, replicas, images.
    _apply_patches(k, directory, resources)
    if "namespace" in k:
        for res in resources:
            if res["kind"] not in CLUSTER_SCOPED:
                res.setdefault("metadata", {})["namespace"] = k["namespace"]
    for entry in k.get("replicas", []):
        hits = [
            r
            for r in resources
            if r["kind"] in ("Deployment", "StatefulSet", "ReplicaSet")
            and r["metadata"]["name"] == entry["name"]
        ]
        if not hits:
            raise AssertionError(f"{directory}: replicas entry {entry['name']} matches nothing")
        for res in hits:
            res["spec"]["replicas"] = entry["count"]
    for entry in k.get("images", []):
        for res in resources:
            for container in _containers(res):
                name, ref = _split_image(container["image"])
                if name != entry["name"]:
                    continue
                new_name = entry.get("newName", name)
                if "digest" in entry:
                    ref = "@" + entry["digest"]
                elif "newTag" in entry:
                    ref = ":" + str(entry["newTag"])
                container["image"] = new_name + ref


def _accumulate(directory: Path, resources: list[dict]) -> list[dict]:
    k = _kustomization(directory)
    if k.get("kind") == "Component" and "namespace" in k:
        raise UnsupportedFeature("namespace in a component")
    for rel in k.get("resources", []):
        path = directory / rel
        if path.is_dir():
            resources.extend(build(path))
        else:
            resources.extend(load_docs(path))
    for rel in k.get("components", []):
        if _kustomization(directory / rel).get("kind") != "Component":
            raise AssertionError(f"{directory / rel} is listed as a component but is not kind: Component")
        resources = _accumulate(directory / rel, resources)
    for spec in k.get("configMapGenerator", []):
        resources.append(_generate("ConfigMap", spec, directory))
    for spec in k.get("secretGenerator", []):
        resources.append(_generate("Secret", spec, directory))
    _transform(k, directory, resources)
    return resources


def build(directory: Path) -> list[dict]:
    """The resources `kustomize build <directory>` emits (generated names without hash suffix)."""
    resources = _accumulate(directory, [])
    seen = set()
    for res in resources:
        ident = (res["kind"], res["metadata"].get("namespace"), res["metadata"]["name"])
        if ident in seen:
            raise AssertionError(f"{directory}: {ident} defined twice")
        seen.add(ident)
    return resources


def secret_files(overlay_dir: Path) -> list[Path]:
    """Files the overlay's secretGenerator reads (gitignored: absent in a fresh clone)."""
    k = _kustomization(overlay_dir)
    out = []
    for spec in k.get("secretGenerator", []) + k.get("configMapGenerator", []):
        for item in spec.get("files", []):
            out.append(overlay_dir / item.partition("=")[2] if "=" in item else overlay_dir / item)
        out.extend(overlay_dir / rel for rel in spec.get("envs", []))
    return out


def fake_secret_value(path: Path) -> str:
    if path.name.endswith(".crt"):
        return "-----BEGIN CERTIFICATE-----\nTEST\n-----END CERTIFICATE-----\n"
    return f"test-value-of-{path.name}"


@pytest.fixture(scope="session")
def k8s_tree(tmp_path_factory) -> Path:
    """A copy of deploy/k8s whose overlays have placeholder secret files, so they render."""
    tree = tmp_path_factory.mktemp("k8s") / "k8s"
    shutil.copytree(K8S, tree)
    for overlay in OVERLAYS:
        for path in secret_files(tree / "overlays" / overlay):
            if not path.exists():
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(fake_secret_value(path))
    return tree


@pytest.fixture(scope="session")
def rendered(k8s_tree) -> dict[str, list[dict]]:
    return {overlay: build(k8s_tree / "overlays" / overlay) for overlay in OVERLAYS}


def kustomize_command() -> list[str] | None:
    """`kustomize build` or `kubectl kustomize`, whichever is installed (None: neither)."""
    if shutil.which("kustomize"):
        return ["kustomize", "build"]
    if shutil.which("kubectl"):
        probe = subprocess.run(
            ["kubectl", "kustomize", "--help"], check=False, capture_output=True, text=True
        )
        if probe.returncode == 0:
            return ["kubectl", "kustomize"]
    return None


@pytest.fixture(scope="session")
def load_manifest():
    """load_docs, as a fixture (conftest modules are not importable under --import-mode=importlib)."""
    return load_docs


@pytest.fixture(scope="session")
def kustomize() -> list[str] | None:
    return kustomize_command()
