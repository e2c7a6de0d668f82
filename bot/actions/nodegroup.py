"""`eksctl scale nodegroup`: the EKS nodegroup's desired size, within its own min/max and the config's limit."""

from __future__ import annotations

from typing import Any

from bot.actions.base import Action, ActionContext, ActionError, ActionResult, Preview, parse_count
from bot.clients.base import Nodegroup
from bot.core.config import PipelineConfig


def _name(ctx: ActionContext) -> str:
    return f"{ctx.pipeline.eks.cluster}/{ctx.pipeline.eks.nodegroup}"


def _describe(ng: Nodegroup) -> str:
    return f"desired {ng.desired} (min {ng.minimum}, max {ng.maximum}), status {ng.status}"


class ScaleNodegroup(Action):
    name = "scale-nodegroup"
    title = "Scale the EKS nodegroup"
    usage = "scale-nodegroup N"
    summary = "`eksctl scale nodegroup --cluster=debezium-cdc-cluster --name=debezium-nodes --nodes=N`"
    risk = "Scaling down drains nodes: pods on them are evicted and rescheduled; scaling up costs money."
    max_args = 1
    min_args = 1

    def parse(self, words: list[str], pipeline: PipelineConfig) -> dict[str, Any]:
        limit = pipeline.limits.nodegroup_size_max
        return {"desired": parse_count(words[0], "nodes", limit, "nodegroup_size_max")}

    def _nodegroup(self, ctx: ActionContext) -> Nodegroup:
        found = ctx.clients.aws.describe_nodegroup(ctx.pipeline.eks.cluster, ctx.pipeline.eks.nodegroup)
        if found is None:
            raise ActionError(f"EKS nodegroup {_name(ctx)} not found (`eks.cluster` / `eks.nodegroup` in the config)")
        return found

    def observe(self, ctx: ActionContext, args: dict[str, Any]) -> Preview:
        ng = self._nodegroup(ctx)
        return Preview(
            lines=[
                f"Nodegroup {_name(ctx)}: desired {ng.desired} → {args['desired']}",
                f"min {ng.minimum}, max {ng.maximum}, status {ng.status}",
            ],
            fingerprint={"desired": ng.desired, "min": ng.minimum, "max": ng.maximum},
        )

    def validate(self, ctx: ActionContext, args: dict[str, Any], preview: Preview) -> None:
        fp, wanted = preview.fingerprint, args["desired"]
        if not fp["min"] <= wanted <= fp["max"]:
            raise ActionError(
                f"{wanted} nodes is outside nodegroup {_name(ctx)}'s min {fp['min']} / max {fp['max']}; "
                "change those in EKS (or Terraform) first"
            )
        if fp["desired"] == wanted:
            raise ActionError(f"Nodegroup {_name(ctx)} already wants {wanted} nodes; nothing to do")

    def run(self, ctx: ActionContext, args: dict[str, Any], preview: dict[str, Any]) -> ActionResult:
        wanted = int(args["desired"])
        ctx.clients.aws.update_nodegroup_size(ctx.pipeline.eks.cluster, ctx.pipeline.eks.nodegroup, wanted)
        latest: Nodegroup | None = None

        def probe() -> tuple[bool, str]:
            nonlocal latest
            latest = self._nodegroup(ctx)
            return latest.desired == wanted, _describe(latest)

        # EKS applies the new size asynchronously (status UPDATING); the request is done once it is recorded.
        ctx.wait_until("nodegroup update", probe)
        assert latest is not None
        fp = preview["fingerprint"]
        return ActionResult(
            summary=f"Nodegroup {_name(ctx)} desired size {fp['desired']} → {wanted}",
            before=[f"desired {fp['desired']} (min {fp['min']}, max {fp['max']})"],
            after=[_describe(latest)],
            details={"desired_before": fp["desired"], "desired_after": latest.desired, "status": latest.status},
        )
