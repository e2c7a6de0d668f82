"""The composition root: the one place that builds real backend clients and the services over them."""

from __future__ import annotations

from bot.checks import run_checks
from bot.clients.aws import Boto3Aws
from bot.clients.base import PipelineClients
from bot.clients.kafka import ConfluentKafkaAdmin
from bot.clients.kube import KubernetesClient
from bot.clients.warehouse import RedshiftWarehouse
from bot.core.config import Config, PipelineConfig
from bot.services import ClientFactory, Services
from bot.store.state import StateStore


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
