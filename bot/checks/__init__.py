"""Health checks: run concurrently, each under its own deadline, into one HealthReport."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from bot.checks import aws as _aws  # noqa: F401  (registers the checks)
from bot.checks import kafka as _kafka  # noqa: F401
from bot.checks import kube as _kube  # noqa: F401
from bot.checks import warehouse as _warehouse  # noqa: F401
from bot.checks.base import CHECK_NAMES, REGISTRY, CheckContext, PipelineClients, applicable_checks
from bot.clients.base import BackendError
from bot.core.config import PipelineConfig
from bot.core.results import CheckResult, HealthReport, Status

log = logging.getLogger(__name__)

__all__ = ["CHECK_NAMES", "PipelineClients", "UnknownCheck", "run_checks", "resolve_check_names"]


class UnknownCheck(ValueError):
    pass


def resolve_check_names(pipeline: PipelineConfig, names: Iterable[str] | None) -> list[str]:
    if not names:
        return applicable_checks(pipeline)
    chosen = []
    for name in names:
        if name not in REGISTRY:
            import difflib

            close = difflib.get_close_matches(name, CHECK_NAMES, n=1)
            hint = f" Did you mean `{close[0]}`?" if close else ""
            raise UnknownCheck(f"No check named `{name}`.{hint} Checks: {', '.join(CHECK_NAMES)}.")
        if name not in chosen:
            chosen.append(name)
    return chosen


def _run_one(name: str, ctx: CheckContext) -> CheckResult:
    started = time.monotonic()
    try:
        result = REGISTRY[name](ctx)
    except BackendError as exc:
        result = CheckResult(name=name, status=Status.UNKNOWN, summary=f"could not run: {exc}")
    except ValueError as exc:  # a malformed backend answer the client could not parse
        result = CheckResult(
            name=name, status=Status.UNKNOWN, summary=f"unexpected backend answer: {str(exc).splitlines()[0]}"
        )
    except Exception as exc:  # a bug in one check must not take the report down with it
        log.exception("check %s crashed", name)
        result = CheckResult(
            name=name,
            status=Status.UNKNOWN,
            summary=f"check failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}",
        )
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def run_checks(
    pipeline: PipelineConfig,
    clients: PipelineClients,
    names: Iterable[str] | None = None,
    timeout: float = 5.0,
    context: CheckContext | None = None,
) -> HealthReport:
    """Every check in its own daemon thread; a check past the deadline is UNKNOWN and left behind.

    Daemon threads rather than an executor: an executor joins its workers at exit, so one hung
    backend would hold `cdc-bot check` past its deadline.
    """
    chosen = resolve_check_names(pipeline, names)
    ctx = context or CheckContext(pipeline=pipeline, clients=clients)
    started = time.monotonic()
    results: dict[str, CheckResult] = {}
    lock = threading.Lock()
    done = threading.Condition(lock)

    def worker(name: str) -> None:
        result = _run_one(name, ctx)
        with done:
            results[name] = result
            done.notify_all()

    for name in chosen:
        threading.Thread(target=worker, args=(name,), name=f"check-{name}", daemon=True).start()
    deadline = started + timeout
    with done:
        while len(results) < len(chosen):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            done.wait(remaining)
        final = []
        for name in chosen:
            if name in results:
                final.append(results[name])
            else:
                final.append(
                    CheckResult(
                        name=name,
                        status=Status.UNKNOWN,
                        summary=f"no answer within {timeout:g}s (backend slow or unreachable)",
                        duration_ms=int(timeout * 1000),
                    )
                )
    notes = []
    maintenance = ctx._maintenance
    if maintenance is not None and maintenance.enabled:
        notes.append(maintenance.describe(ctx.now()))
    return HealthReport.from_checks(pipeline.name, final, int((time.monotonic() - started) * 1000), notes=notes)
