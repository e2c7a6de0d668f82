"""The composition root: the one place that builds clients, services, publishers, sweepers and the scheduler.

`build_services` gives the services over real backend clients (the CLI needs only those);
`build_bot` adds everything the Slack bot runs with and hands it to the listener modules and to
the scheduler. Building starts no thread: `Bot.start()` (the server, the shell) does.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from slack_bolt import App
from slack_sdk import WebClient

from bot.actions import ACTIONS
from bot.actions.expiry import ApprovalExpirySweeper
from bot.actions.service import ApprovalService
from bot.actions.workflow_sweeper import WorkflowSweeper
from bot.app.bolt import new_bolt_app
from bot.checks import run_checks
from bot.clients.aws import Boto3Aws
from bot.clients.base import PipelineClients
from bot.clients.kafka import ConfluentKafkaAdmin
from bot.clients.kube import KubernetesClient
from bot.clients.warehouse import RedshiftWarehouse
from bot.core.access import AccessPolicy, slack_group_resolver
from bot.core.config import Config, PipelineConfig
from bot.incidents.flows import IncidentFlows
from bot.render.text import check_label
from bot.services import ClientFactory, Services
from bot.slack.approval_publisher import SlackApprovalPublisher
from bot.slack.client import make_web_client
from bot.slack.incident_publisher import SlackIncidentPublisher
from bot.slack.posting import slack_poster
from bot.store.state import StateStore
from commands import register_all
from commands.deps import CommandDeps
from scheduler import INSTANCE_ID, JOBS_TABLE, LEASE_NAME, JobRunner, schedule_overview
from scheduler.jobs import SchedulerRuntime

log = logging.getLogger(__name__)


def build_pipeline_clients(pipeline: PipelineConfig, timeout: float) -> PipelineClients:
    aws = Boto3Aws(pipeline.region, timeout=timeout, settings=pipeline.aws)
    warehouse = None
    if pipeline.redshift is not None:
        warehouse = RedshiftWarehouse(pipeline.redshift, timeout=timeout, iam_credentials=aws.redshift_credentials)
    return PipelineClients(
        kafka=ConfluentKafkaAdmin(pipeline.kafka, pipeline.region, timeout=timeout),
        aws=aws,
        kube=KubernetesClient(pipeline.kubernetes, timeout=timeout),
        warehouse=warehouse,
    )


def build_services(
    config: Config, database_url: str | None = None, client_factory: ClientFactory | None = None
) -> Services:
    """Services over real clients (or the given factory's) and the state store at `database_url`."""
    return Services(
        config=config,
        store=StateStore(database_url),
        client_factory=client_factory or build_pipeline_clients,
        check_runner=run_checks,
    )


@dataclass
class Bot:
    """Everything one bot process runs with, built once; threads start in `start()`."""

    services: Services
    access: AccessPolicy
    approvals: ApprovalService
    deps: CommandDeps
    app: App
    workflow_sweeper: WorkflowSweeper
    approval_sweeper: ApprovalExpirySweeper
    scheduler: JobRunner
    _workers_started: bool = False
    _scheduler_started: bool = False

    def start(self, scheduler: bool = True) -> Bot:
        """Start the background work: the stranded-workflow sweeper and (unless told not to) the scheduler."""
        if not self._workers_started:
            self._workers_started = True
            self.workflow_sweeper.start()
        if scheduler and not self._scheduler_started:
            self._scheduler_started = True
            self.scheduler.start()
        return self

    def close(self) -> None:
        """Stop the scheduler (giving up its lease) and the services, and wait for the background threads:
        running workflows stop at their next poll, the sweeper's loop and the worker pools end."""
        if self._scheduler_started:
            self.scheduler.shutdown(wait=False)
        self.services.close()
        self.workflow_sweeper.close()
        self.approvals.shutdown()


def build_bot(
    services: Services,
    client: WebClient | None = None,
    signing_secret: str | None = None,
    verify_requests: bool = True,
    *,
    lease: str = LEASE_NAME,
    jobs_table: str = JOBS_TABLE,
    identity: str | None = None,
) -> Bot:
    """The bolt App with every listener, the one ApprovalService, the publishers, sweepers and scheduler."""
    client = client or make_web_client()
    tz = services.config.slack.timezone
    access = AccessPolicy(services.config.access, slack_group_resolver(client))
    # One ApprovalService per process: the buttons decide with it, the sweeps expire and resume with it.
    approvals = ApprovalService(services, access)
    approval_publisher = SlackApprovalPublisher(client, tz)
    incidents = IncidentFlows(
        services, SlackIncidentPublisher(client, tz), approval_publisher, access, check_label=check_label
    )
    resumable = [name for name, spec in ACTIONS.items() if spec.resumable]
    workflow_sweeper = WorkflowSweeper(
        services, resumable, lambda approval_id: approvals.resume(approval_id, approval_publisher)
    )
    approval_sweeper = ApprovalExpirySweeper(approvals, approval_publisher)
    runtime = SchedulerRuntime(services, slack_poster(client), approval_sweeper.sweep)
    job_runner = JobRunner(runtime, lease, jobs_table, identity or INSTANCE_ID)
    deps = CommandDeps(
        services=services,
        access=access,
        approvals=approvals,
        approval_publisher=approval_publisher,
        incidents=incidents,
        schedule_overview=lambda: schedule_overview(services, lease),
    )
    app = new_bolt_app(client, signing_secret, verify_requests)
    register_all(app, deps)
    return Bot(services, access, approvals, deps, app, workflow_sweeper, approval_sweeper, job_runner)
