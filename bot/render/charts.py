"""PNG charts for reports (matplotlib, Agg backend: no display, safe in threads of a server).

Pure like the other renderers: data in, bytes out.
"""

from __future__ import annotations

import io
import threading

import matplotlib

matplotlib.use("Agg")

from matplotlib.figure import Figure  # noqa: E402  (after the backend is chosen)

from bot.reports.performance import PerformanceReport  # noqa: E402

# matplotlib's font cache and text layout are not thread-safe; reports render one chart at a time.
_LOCK = threading.Lock()


def performance_chart(report: PerformanceReport) -> bytes | None:
    """Events per day per staging table over the last 7 days; None when there is nothing to draw."""
    series = [
        (f"{item.pipeline} · {t.table.rsplit('.', 1)[-1]}", [d.day for d in t.days], [d.events for d in t.days])
        for item in report.pipelines
        for t in item.tables
        if not t.error and t.days
    ]
    if not series:
        return None
    with _LOCK:
        # Figure() rather than pyplot: no global state, nothing to close, nothing kept between reports.
        figure = Figure(figsize=(8, 4), dpi=100)
        axes = figure.add_subplot()
        for label, days, events in series:
            axes.plot(days, events, marker="o", label=label)  # type: ignore[arg-type]  # matplotlib plots dates
        axes.set_title("Events per day (runbook weekly-performance.sql)")
        axes.set_ylabel("events")
        axes.set_ylim(bottom=0)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize="small")
        figure.autofmt_xdate()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png", bbox_inches="tight", metadata={"Software": None})
    return buffer.getvalue()
