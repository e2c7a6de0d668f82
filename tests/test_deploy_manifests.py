"""deploy/: the kustomize base and example overlay render, validate against the Kubernetes schemas
(kubernetes-validate, strict) and say what an on-call team relies on.

`kubectl kustomize` (kustomize built into kubectl) renders them offline. Where kubectl is
missing, the base's files are still validated one by one; in CI a missing kubectl fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from bot.core.config import Config

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
BASE = DEPLOY / "base"
OVERLAY = DEPLOY / "overlays" / "example"
# EKS's oldest supported minor version here, and the newest schemas kubernetes-validate ships
K8S_VERSIONS = ["1.30.0", kubernetes_validate.latest_version()]
SECRET_KEYS = {
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "REDSHIFT_PASSWORD",
    "CDC_BOT_DATABASE_URL",
}


def _kustomize(directory: Path) -> list[dict[str, Any]]:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is needed to render deploy/ with kustomize (apt-get install kubectl)")
        pytest.skip("kubectl not installed: base files are validated one by one instead")
    out = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True, timeout=60, check=True)
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def _one(objects: list[dict[str, Any]], kind: str, name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)]
    assert len(found) == 1, f"{kind} {name or ''}: {len(found)} found"
    return found[0]


def _validate(obj: dict[str, Any]) -> None:
    for version in K8S_VERSIONS:
        kubernetes_validate.validate(obj, version, strict=True)


@pytest.fixture(scope="module")
def base() -> list[dict[str, Any]]:
    return _kustomize(BASE)


@pytest.fixture(scope="module")
def overlay() -> list[dict[str, Any]]:
    return _kustomize(OVERLAY)


@pytest.mark.parametrize("path", sorted(p.name for p in BASE.glob("*.yaml") if p.name != "kustomization.yaml"), ids=str)
def test_each_base_file_is_valid_kubernetes(path: str) -> None:
    for doc in yaml.safe_load_all((BASE / path).read_text()):
        _validate(doc)


def test_secret_example_is_valid_and_clearly_a_placeholder() -> None:
    text = (OVERLAY / "secret.example.yaml").read_text()
    assert text.startswith("# EXAMPLE ONLY")
    secret = yaml.safe_load(text)
    _validate(secret)
    assert set(secret["stringData"]) == SECRET_KEYS
    assert all("PLACEHOLDER" in value for value in secret["stringData"].values())
    # never applied by `kubectl apply -k`: the rendered overlay has no Secret (next test)
    listed = yaml.safe_load((OVERLAY / "kustomization.yaml").read_text())
    assert "secret.example.yaml" not in listed["resources"] + [p["path"] for p in listed["patches"]]


@pytest.mark.parametrize("which", ["base", "overlay"])
def test_rendered_objects_are_valid_kubernetes(which: str, request: pytest.FixtureRequest) -> None:
    objects = request.getfixturevalue(which)
    assert {o["kind"] for o in objects} == {
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ConfigMap",
        "Service",
        "Deployment",
        "PodDisruptionBudget",
    }
    for obj in objects:
        _validate(obj)


def test_deployment_is_hardened_and_probed(base: list[dict[str, Any]]) -> None:
    deployment = _one(base, "Deployment", "cdc-bot")
    spec = deployment["spec"]
    assert spec["replicas"] == 2
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "cdc-bot"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    (container,) = pod["containers"]
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert security["seccompProfile"] == {"type": "RuntimeDefault"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]

    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]["name"]]
    assert mounts["/etc/cdc-bot"]["readOnly"] is True
    configmap = _one(base, "ConfigMap")
    assert volumes[mounts["/etc/cdc-bot"]["name"]]["configMap"]["name"] == configmap["metadata"]["name"]

    env = {e["name"]: e for e in container["env"]}
    assert env["CDC_BOT_CONFIG"]["value"] == "/etc/cdc-bot/cdc-bot.yml"
    from_secret = {name: e["valueFrom"]["secretKeyRef"] for name, e in env.items() if "valueFrom" in e}
    assert set(from_secret) == SECRET_KEYS
    assert all(ref["name"] == "cdc-bot" and ref["key"] == name for name, ref in from_secret.items())
    assert not from_secret["SLACK_BOT_TOKEN"].get("optional") and not from_secret["CDC_BOT_DATABASE_URL"].get(
        "optional"
    )


def test_config_map_holds_a_valid_config(base: list[dict[str, Any]], overlay: list[dict[str, Any]]) -> None:
    for objects in (base, overlay):
        data = _one(objects, "ConfigMap")["data"]
        config = Config.model_validate(yaml.safe_load(data["cdc-bot.yml"]))
        assert config.pipelines[0].kubernetes.namespace == "kafka"


def test_service_pdb_and_binding_point_at_the_bot(base: list[dict[str, Any]]) -> None:
    labels = _one(base, "Deployment")["spec"]["template"]["metadata"]["labels"]
    service = _one(base, "Service")
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"][0]["targetPort"] == "http"
    pdb = _one(base, "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"].items() <= labels.items()
    account = _one(base, "ServiceAccount")
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"].startswith("arn:aws:iam::")
    role, binding = _one(base, "Role"), _one(base, "RoleBinding")
    assert role["metadata"]["namespace"] == binding["metadata"]["namespace"] == "kafka"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "cdc-bot"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "cdc-bot", "namespace": "cdc-bot"}]
    bot_objects = [o for o in base if o["kind"] not in ("Role", "RoleBinding", "Namespace")]
    assert {o["metadata"]["namespace"] for o in bot_objects} == {"cdc-bot"}


def test_role_uses_resource_names_wherever_kubernetes_allows(base: list[dict[str, Any]]) -> None:
    for rule in _one(base, "Role")["rules"]:
        assert "*" not in rule["verbs"] + rule["resources"] + rule["apiGroups"]
        unnameable = {"create", "list", "watch", "deletecollection"}
        if rule.get("resourceNames"):
            assert not unnameable & set(rule["verbs"])
        else:
            # pods: restart-connect deletes pods by label selector; names are not known in advance
            assert set(rule["verbs"]) <= unnameable or rule["resources"] in (["pods"], ["pods/log"])


def test_overlay_sets_image_role_and_its_own_config(base: list[dict[str, Any]], overlay: list[dict[str, Any]]) -> None:
    image = _one(overlay, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(".amazonaws.com/cdc-bot:0.1.0")
    arn = _one(overlay, "ServiceAccount")["metadata"]["annotations"]["eks.amazonaws.com/role-arn"]
    assert arn == "arn:aws:iam::111122223333:role/cdc-bot-prod"
    assert _one(overlay, "ConfigMap")["data"] != _one(base, "ConfigMap")["data"]
    # the config's hashed name follows into the Deployment, so a config change rolls the pods
    mounted = _one(overlay, "Deployment")["spec"]["template"]["spec"]["volumes"][0]["configMap"]["name"]
    assert mounted == _one(overlay, "ConfigMap")["metadata"]["name"] != "cdc-bot-config"
