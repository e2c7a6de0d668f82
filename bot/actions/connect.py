"""Debezium on Strimzi Kafka Connect: restart the Connect pods, pause/resume the connector, rotate credentials."""

from __future__ import annotations

import json
import secrets
import string
from datetime import UTC, datetime
from typing import Any

from bot.actions.base import (
    Action,
    ActionContext,
    ActionError,
    ActionFailed,
    ActionResult,
    Preview,
    describe_pods,
    pod_names,
    pod_ready,
)
from bot.checks.base import plural
from bot.checks.kube import connect_pod_selector, connector_state, requested_state
from bot.clients.base import BackendError
from bot.core.durations import format_duration

ROTATED_AT = "cdc-bot/rotated-at"
PASSWORD_KEY = "password"
PASSWORD_LENGTH = 30  # Oracle accepts up to 30 characters in every supported version
_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def connect_selector(ctx: ActionContext) -> str:
    return connect_pod_selector(ctx.pipeline.kubernetes.connect_cluster)


def connect_pods(ctx: ActionContext) -> list[dict[str, Any]]:
    return ctx.clients.kube.list_pods(connect_selector(ctx))


def restart_connect_pods(ctx: ActionContext, names: list[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Delete exactly `names` among the pods that match the selector now; wait until replacements are Ready.

    A name that no longer matches is left alone. Each delete carries the pod's uid, so a pod that
    took the same name in between is not deleted by mistake. Returns (deleted names, pods after).
    """
    matching = {p["metadata"]["name"]: p for p in connect_pods(ctx)}
    targets = [matching[name] for name in names if name in matching]
    old_uids = {str(p["metadata"].get("uid")) for p in targets}
    deleted: list[str] = []
    for pod in targets:
        name = str(pod["metadata"]["name"])
        try:
            ctx.clients.kube.delete_pod(name, uid=str(pod["metadata"].get("uid")))
        except BackendError as exc:
            raise ActionFailed(
                f"deleting pod {name} failed: {exc}",
                state_now=[f"Deleted so far: {', '.join(deleted) or '(none)'}", f"Not deleted: {name} and after"],
            ) from None
        deleted.append(name)
        ctx.progress(f"deleted {len(deleted)}/{len(targets)} pods")
    pods_after: list[dict[str, Any]] = []

    def probe() -> tuple[bool, str]:
        nonlocal pods_after
        pods_after = connect_pods(ctx)
        fresh = [p for p in pods_after if str(p["metadata"].get("uid")) not in old_uids]
        ready = [p for p in fresh if pod_ready(p)]
        leftover = len(pods_after) - len(fresh)
        done = leftover == 0 and len(ready) >= len(deleted)
        text = f"{len(ready)}/{len(deleted)} replacement pods Ready"
        return done, text + (f", {leftover} old pods still terminating" if leftover else "")

    ctx.wait_until("Connect pods", probe)
    return deleted, pods_after


class RestartConnect(Action):
    name = "restart-connect"
    title = "Restart the Debezium Kafka Connect pods"
    usage = "restart-connect"
    summary = "`kubectl delete pod -l strimzi.io/cluster=debezium-connect-cluster`: Strimzi recreates them"
    risk = "Change capture stops until Connect is back and the connector task restarts (usually a minute or two)."

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        pods = connect_pods(ctx)
        namespace = ctx.pipeline.kubernetes.namespace
        return Preview(
            lines=[
                f"Selector `{connect_selector(ctx)}` in namespace {namespace}",
                f"Pods to delete ({len(pods)}): {describe_pods(pods)}",
            ],
            fingerprint={"pods": pod_names(pods)},
            plan={"pods": pod_names(pods)},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        if not preview.fingerprint["pods"]:
            raise ActionError(
                f"No pods match `{connect_selector(ctx)}` in {ctx.pipeline.kubernetes.namespace}; nothing to restart"
            )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        deleted, after = restart_connect_pods(ctx, list(preview["plan"]["pods"]))
        return ActionResult(
            summary=f"Deleted {plural(len(deleted), 'Connect pod')}; replacements are Ready",
            before=[f"Pods: {', '.join(preview['plan']['pods'])}"],
            after=[f"Pods now: {describe_pods(after)}"],
            details={"deleted": deleted, "pods_after": pod_names(after)},
        )


def get_connector(ctx: ActionContext) -> dict[str, Any]:
    name = ctx.pipeline.kubernetes.connector
    found = ctx.clients.kube.get_custom("kafkaconnectors", name)
    if found is None:
        raise ActionError(
            f"KafkaConnector {ctx.pipeline.kubernetes.namespace}/{name} not found "
            "(`kubernetes.connector` in the config)"
        )
    return found


def request_connector_state(ctx: ActionContext, wanted: str) -> dict[str, Any]:
    """Ask Strimzi to run or pause the connector (`running` / `paused`); returns the patch sent."""
    spec = get_connector(ctx).get("spec") or {}
    # Strimzi ≥ 0.38 reads spec.state; older operators only know spec.pause (the runbook's form).
    patch: dict[str, Any]
    if "pause" in spec and "state" not in spec:
        patch = {"spec": {"pause": wanted == "paused"}}
    else:
        patch = {"spec": {"state": wanted}}
    ctx.clients.kube.patch_custom("kafkaconnectors", ctx.pipeline.kubernetes.connector, patch)
    return patch


class _ConnectorState(Action):
    wanted = ""

    def _connector(self, ctx: ActionContext) -> dict[str, Any]:
        return get_connector(ctx)

    @staticmethod
    def _states(obj: dict[str, Any]) -> tuple[str, list[str]]:
        state, tasks = connector_state(obj)
        return state, [f"task {t.get('id')} {t.get('state')}" for t in tasks]

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        obj = self._connector(ctx)
        state, tasks = self._states(obj)
        requested = requested_state(obj)
        field = "spec.pause" if "pause" in (obj.get("spec") or {}) and "state" not in (obj.get("spec") or {}) else ""
        change = (
            f"spec.pause: {str(requested == 'paused').lower()} → {str(self.wanted == 'paused').lower()}"
            if field
            else f"spec.state: {requested} → {self.wanted}"
        )
        return Preview(
            lines=[
                f"KafkaConnector {ctx.pipeline.kubernetes.namespace}/{ctx.pipeline.kubernetes.connector}",
                f"Connector: {state}; tasks: {', '.join(tasks) or '(none)'}",
                change,
            ],
            fingerprint={"requested": requested, "connector": state, "tasks": tasks},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        if preview.fingerprint["requested"] == self.wanted:
            raise ActionError(f"KafkaConnector {ctx.pipeline.kubernetes.connector} is already {self.wanted}")

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        name = ctx.pipeline.kubernetes.connector
        patch = request_connector_state(ctx, self.wanted)
        obj = self._connector(ctx)
        state, tasks = self._states(obj)
        return ActionResult(
            summary=f"KafkaConnector {name} set to {self.wanted}; Strimzi applies it on its next reconcile",
            before=list(preview["lines"][1:2]) + [f"Requested: {preview['fingerprint']['requested']}"],
            after=[
                f"Requested: {requested_state(obj)}",
                f"Connector (as Strimzi last reported): {state}; tasks: {', '.join(tasks) or '(none)'}",
            ],
            details={"requested": requested_state(obj), "patch": patch},
        )


class PauseConnector(_ConnectorState):
    name = "pause-connector"
    wanted = "paused"
    title = "Pause the Debezium connector"
    usage = "pause-connector"
    summary = "KafkaConnector `spec.state: paused` (maintenance step 2)"
    risk = "No changes are captured while paused; Oracle redo logs must be kept until it resumes."


class ResumeConnector(_ConnectorState):
    name = "resume-connector"
    wanted = "running"
    title = "Resume the Debezium connector"
    usage = "resume-connector"
    summary = "KafkaConnector `spec.state: running` (maintenance step 5)"
    risk = "Capture restarts from the stored offsets; a long pause means a burst of changes and lag for a while."


def new_password(length: int = PASSWORD_LENGTH) -> str:
    """Letters and digits from `secrets`, starting with a letter (Oracle) and mixing cases and digits."""
    while True:
        password = "".join(secrets.choice(_PASSWORD_ALPHABET) for _ in range(length))
        if (
            password[0].isalpha()
            and any(c.islower() for c in password)
            and any(c.isupper() for c in password)
            and any(c.isdigit() for c in password)
        ):
            return password


def _parse_k8s_time(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


class RotateCredentials(Action):
    name = "rotate-credentials"
    title = "Rotate the Debezium database credentials"
    usage = "rotate-credentials"
    summary = "New random password in Secret debezium-credentials (and Secrets Manager if set), then restart Connect"
    risk = (
        "Connect restarts and logs in with the new password: the Oracle user must accept it, "
        "or capture stops until the password is fixed."
    )

    def _secret(self, ctx: ActionContext) -> dict[str, Any]:
        name = ctx.pipeline.kubernetes.credentials_secret
        found = ctx.clients.kube.get_secret(name)
        if found is None:
            raise ActionError(
                f"Secret {ctx.pipeline.kubernetes.namespace}/{name} not found (`kubernetes.credentials_secret`)"
            )
        return found

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        k8s = ctx.pipeline.kubernetes
        secret = self._secret(ctx)
        metadata = secret.get("metadata") or {}
        keys = sorted((secret.get("data") or {}).keys())
        rotated = _parse_k8s_time((metadata.get("annotations") or {}).get(ROTATED_AT))
        created = _parse_k8s_time(metadata.get("creationTimestamp"))
        since = rotated or created
        age = "unknown"
        if since is not None:
            age = f"{format_duration(datetime.now(UTC) - since)} since {'last rotation' if rotated else 'creation'}"
        pods = connect_pods(ctx)
        lines = [
            f"Secret {k8s.namespace}/{k8s.credentials_secret}: keys {', '.join(keys) or '(none)'}; "
            f"`{PASSWORD_KEY}` gets a new random value",
            f"Age: {age}",
        ]
        if k8s.secrets_manager_secret:
            lines.append(f"Also AWS Secrets Manager secret {k8s.secrets_manager_secret}")
        lines.append(f"Then restart Connect pods ({len(pods)}): {describe_pods(pods)}")
        return Preview(
            lines=lines,
            fingerprint={
                "secret keys": keys,
                "secret version": metadata.get("resourceVersion"),
                "Connect pods": pod_names(pods),
            },
            plan={"pods": pod_names(pods)},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        k8s = ctx.pipeline.kubernetes
        if PASSWORD_KEY not in preview.fingerprint["secret keys"]:
            raise ActionError(f"Secret {k8s.credentials_secret} has no `{PASSWORD_KEY}` key; nothing to rotate")
        if k8s.secrets_manager_secret and ctx.clients.aws.describe_secret(k8s.secrets_manager_secret) is None:
            raise ActionError(
                f"AWS Secrets Manager secret {k8s.secrets_manager_secret} not found "
                "(`kubernetes.secrets_manager_secret`)"
            )

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        k8s = ctx.pipeline.kubernetes
        at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        password = new_password()
        done: list[str] = []
        try:
            ctx.clients.kube.update_secret(k8s.credentials_secret, {PASSWORD_KEY: password}, {ROTATED_AT: at})
            done.append(f"Secret {k8s.namespace}/{k8s.credentials_secret}: new password ({at})")
            ctx.progress("Kubernetes Secret updated")
            if k8s.secrets_manager_secret:
                self._update_secrets_manager(ctx, k8s.secrets_manager_secret, password)
                done.append(f"Secrets Manager {k8s.secrets_manager_secret}: new version with the new password")
                ctx.progress("Secrets Manager updated")
        except BackendError as exc:
            state = list(done) or ["Secret unchanged: still the old password"]
            if done and k8s.secrets_manager_secret:
                state.append(f"Secrets Manager {k8s.secrets_manager_secret}: still the OLD password")
            raise ActionFailed(f"rotation stopped: {exc}", state_now=state + ["Connect pods not restarted"]) from None
        finally:
            del password  # nothing past this point may see it
        try:
            deleted, after = restart_connect_pods(ctx, list(preview["plan"]["pods"]))
        except ActionFailed as exc:
            raise ActionFailed(
                f"credentials rotated, but restarting Connect failed: {exc}", state_now=done + exc.state_now
            ) from None
        return ActionResult(
            summary=f"Rotated {k8s.credentials_secret}, restarted {plural(len(deleted), 'Connect pod')}",
            before=[line for line in preview["lines"] if not line.startswith("Then ")],
            after=[
                *done,
                f"Connect pods now: {describe_pods(after)}",
                # The bot cannot change the Oracle user's password; until someone does, Debezium's
                # login fails (ORA-01017). Say how to finish without showing the value here.
                "Next: set the same password on the Oracle user, reading it where it lives: "
                f"`kubectl get secret {k8s.credentials_secret} -n {k8s.namespace} "
                f"-o jsonpath='{{.data.{PASSWORD_KEY}}}' | base64 -d`, then "
                '`ALTER USER <user> IDENTIFIED BY "<that password>"` as a DBA; the task recovers on its next retry.',
            ],
            details={
                "secret": k8s.credentials_secret,
                "rotated_at": at,
                "secrets_manager": k8s.secrets_manager_secret,
                "restarted": deleted,
            },
        )

    @staticmethod
    def _update_secrets_manager(ctx: ActionContext, secret_id: str, password: str) -> None:
        current = ctx.clients.aws.get_secret_value(secret_id)
        try:
            document = json.loads(current) if current else None
        except ValueError:
            document = None
        # A JSON secret ({"username": ..., "password": ...}) keeps its other fields; a plain one is the password.
        if isinstance(document, dict):
            document[PASSWORD_KEY] = password
            value = json.dumps(document)
        else:
            value = password
        ctx.clients.aws.put_secret_value(secret_id, value)
