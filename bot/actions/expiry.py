"""The approval expiry sweep: built once by the app's wiring over the bot's one ApprovalService."""

from __future__ import annotations

from dataclasses import dataclass

from bot.actions.service import ApprovalPublisher, ApprovalService


@dataclass(frozen=True)
class ApprovalExpirySweeper:
    """Expire pending requests past their time, and end those whose bot stopped under them.

    A press after the expiry finds it expired anyway; this sweep is what makes the message say
    so (and drop its buttons) when nobody presses. Expiry is a compare-and-set, so a sweep racing
    a press, or a former leader's last sweep, cannot expire a request twice. The scheduler runs
    it periodically on the leader.
    """

    approvals: ApprovalService
    publisher: ApprovalPublisher

    def sweep(self) -> int:
        return self.approvals.expire_due(self.publisher) + self.approvals.settle_abandoned(self.publisher)
