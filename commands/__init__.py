"""Slack listeners, one module per command family, registered explicitly."""

from __future__ import annotations

from slack_bolt import App

from bot.core.access import AccessPolicy
from bot.services import Services
from commands import actions, approvals, health, help, incidents, maintenance, reports, upgrades
from commands.router import CdcRouter


def register_all(app: App, services: Services, access: AccessPolicy) -> CdcRouter:
    router = CdcRouter(services=services, access=access)
    help.register(router)
    health.register(router)
    actions.register(router)
    reports.register(router)
    incidents.register(router)
    maintenance.register(router)
    upgrades.register(router)
    router.register(app)
    approval_service = approvals.register(app, services, access)
    maintenance.register_buttons(app, services, access, approval_service)
    reports.register_buttons(app, services, access)
    incidents.register_listeners(app, services, access)
    return router
