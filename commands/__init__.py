"""Slack listeners, one module per command family, registered explicitly.

Listener modules only map ids to callbacks: the services, publishers and sweepers they use are
built by the app's wiring and handed over in `CommandDeps`, and no module reads what another
registered, so the families can be registered in any order (or twice: bolt runs the first match).
"""

from __future__ import annotations

from slack_bolt import App

from commands import actions, approvals, health, help, incident_buttons, incidents, maintenance, reports, upgrades
from commands.deps import CommandDeps
from commands.router import CdcRouter

# `/cdc` subcommand families, in the order `/cdc help` lists them.
SUBCOMMAND_FAMILIES = (help, health, actions, reports, incidents, maintenance, upgrades)
# Buttons and modals: each registers its own action and view ids.
INTERACTION_FAMILIES = (approvals, maintenance, reports, incident_buttons)


def register_all(app: App, deps: CommandDeps) -> CdcRouter:
    router = CdcRouter(services=deps.services, access=deps.access)
    for family in SUBCOMMAND_FAMILIES:
        family.register(router, deps)
    router.register(app)
    for module in INTERACTION_FAMILIES:
        module.register_interactions(app, deps)
    return router
