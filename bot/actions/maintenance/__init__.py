"""The runbook's Planned Maintenance Window as two approved, resumable workflows.

`maintenance-start`: set the `maintenance-mode` ConfigMap → pause the connector → wait for the
pipeline to drain → scale the streams deployment to 0. `maintenance-end`: resume the connector →
scale back to the replicas recorded at start → delete the ConfigMap → verify the data flow → post
the post-maintenance check.

Order matters: the runbook scales `pii-masking` to 0 *before* waiting for its lag to drain, which
can never finish (nothing consumes once the consumer is gone). The bot drains first, then scales
down. "Drained" means the groups' lag is 0 and the topics stopped growing between two polls, so
it does not depend on when Strimzi reports the connector as paused.

The package: `state` (what the window looks like now, the command's words), `steps` and `waits`
(what each step does), `flows` (the two workflow definitions), `actions` (the approved actions)
and `status` (`/cdc maintenance status`).
"""

from bot.actions.maintenance.actions import MaintenanceEnd, MaintenanceStart
from bot.actions.maintenance.flows import DEFINITIONS, END_FLOW, START_FLOW
from bot.actions.maintenance.state import (
    DEFAULT_REASON,
    END,
    KINDS,
    START,
    START_USAGE,
    describe_state,
    recorded_replicas,
    split_start_words,
)
from bot.actions.maintenance.status import MaintenanceStatus, maintenance_status

__all__ = [
    "DEFAULT_REASON",
    "DEFINITIONS",
    "END",
    "END_FLOW",
    "KINDS",
    "START",
    "START_FLOW",
    "START_USAGE",
    "MaintenanceEnd",
    "MaintenanceStart",
    "MaintenanceStatus",
    "describe_state",
    "maintenance_status",
    "recorded_replicas",
    "split_start_words",
]
