"""The two steps that poll: wait for the pipeline to drain, and verify the data flows again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from bot.actions.base import ActionContext, ActionFailed
from bot.actions.workflows import StepRun
from bot.alarms.lag_metric import group_lags
from bot.checks.base import applicable_checks, fmt_int
from bot.core.durations import format_duration
from bot.core.results import Status

# How far back the drain rate looks: long enough to smooth commit bursts, short enough to follow changes.
RATE_WINDOW_S = 60.0


def wait_or_fail(
    ctx: ActionContext, what: str, probe: Callable[[], tuple[bool, str]], failure: str, last_label: str
) -> str:
    """`ctx.wait_until`, with a timeout said in the step's own words and the last status it saw."""
    try:
        return ctx.wait_until(what, probe)
    except ActionFailed as exc:
        raise ActionFailed(
            f"{failure} within {format_duration(ctx.timeout)}",
            state_now=[f"{last_label}: {exc.state_now[0]}" if exc.state_now else f"{last_label}: unknown"],
        ) from None


def drain(run: StepRun) -> str:
    ctx = run.ctx
    samples: list[tuple[float, int]] = []
    last_ends: dict[Any, int] | None = None
    started = datetime.now(UTC)

    def probe() -> tuple[bool, str]:
        nonlocal last_ends
        lags = group_lags(ctx.pipeline, ctx.clients)
        now = datetime.now(UTC)
        waited = f"waited {format_duration(now - started)} of {format_duration(ctx.timeout)}"
        if lags.skipped:
            text = f"{', '.join(lags.skipped)} has no committed offsets: cannot tell whether it drained"
            return False, f"{text} · {waited}"
        total = sum(lags.groups.values())
        moment = now.timestamp()
        samples.append((moment, total))
        while len(samples) > 2 and moment - samples[0][0] > RATE_WINDOW_S:
            samples.pop(0)
        growing = last_ends is not None and lags.ends != last_ends
        settled = last_ends is not None and not growing
        last_ends = dict(lags.ends)
        per_group = "; ".join(f"{g} {fmt_int(v)}" for g, v in sorted(lags.groups.items()))
        parts = [f"{fmt_int(total)} behind" + (f" ({per_group})" if len(lags.groups) > 1 else "")]
        (t0, lag0), (t1, lag1) = samples[0], samples[-1]
        rate = (lag0 - lag1) / (t1 - t0) if t1 > t0 else 0.0
        if total and rate > 0:
            parts.append(f"draining {rate:,.0f}/s, about {format_duration(total / rate)} left")
        elif total and len(samples) > 1:
            parts.append("not falling: is the consumer running?")
        if total == 0 and not settled:
            parts.append("topics still growing" if growing else "checking that the topics stopped growing")
        parts.append(waited)
        return total == 0 and settled, " · ".join(parts)

    status = wait_or_fail(ctx, "drain", probe, "the pipeline did not drain", "Drain")
    took = format_duration(datetime.now(UTC) - started)
    return f"drained: {status.split(' · ')[0]}, topics stopped growing (took {took})"


def verify_data_flow(run: StepRun) -> str:
    ctx = run.ctx
    assert ctx.services is not None
    services = ctx.services
    names = [n for n in ("connector", "consumer_lag", "data_freshness") if n in applicable_checks(ctx.pipeline)]
    peak: dict[str, int] = {}

    def probe() -> tuple[bool, str]:
        report = services.health(ctx.pipeline.name, names)
        parts: list[str] = []
        good = True
        connector = report.check("connector")
        if connector is not None:
            state = connector.details.get("state", "UNKNOWN")
            ok = connector.status is not Status.CRIT and state == "RUNNING"
            good &= ok
            parts.append(f"connector {state} {'✓' if ok else '✗'}")
        lag = report.check("consumer_lag")
        if lag is not None:
            totals = [g.get("total") for g in (lag.details.get("groups") or {}).values()]
            if lag.status is Status.UNKNOWN or any(t is None for t in totals):
                good = False
                parts.append(f"lag unknown ({lag.summary}) ✗")
            else:
                total = sum(int(t) for t in totals)
                top = peak["lag"] = max(peak.get("lag", total), total)
                ok = total == 0 or total < top
                good &= ok
                trend = "zero" if total == 0 else (f"falling from {fmt_int(top)}" if ok else "not falling yet")
                parts.append(f"lag {fmt_int(total)}, {trend} {'✓' if ok else '✗'}")
        freshness = report.check("data_freshness")
        if freshness is not None:
            ok = freshness.status not in (Status.CRIT, Status.UNKNOWN)
            good &= ok
            parts.append(f"freshness {freshness.status.value} {'✓' if ok else '✗'}")
        return good, " · ".join(parts) or "nothing to verify"

    status = wait_or_fail(ctx, "verify", probe, "the data flow did not look right", "Last check")
    return f"data flows: {status}"
