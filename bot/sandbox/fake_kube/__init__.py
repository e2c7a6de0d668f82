"""An in-memory Kubernetes API server over loopback HTTP.

`cdc-bot sandbox` runs it as a demo cluster and the test suite uses it as its Kubernetes backend:
no kube-apiserver, kind or k3s can run on these machines, and the kmock emulator gets label
selectors, pod logs and custom objects wrong. Only the part of the API the bot touches is served,
but with the real paths, JSON shapes and status codes, so the real `kubernetes` client (typed
`CoreV1Api`, `AppsV1Api`, `CoordinationV1Api` and `CustomObjectsApi` methods) works unchanged.

A small built-in controller makes the cluster behave: Deployments own ReplicaSets and Running
pods that follow `spec.replicas` and are replaced on a template change (rollout restart), and
Strimzi-managed pods come back under the same name after they are deleted.

The package: `model` (resource types, errors, object helpers), `selectors`, `patches`, `store`
(the objects and their metadata), `pods` (core resources' defaults, status and logs), `apps`
(the controller and the scale subresource), `verbs`, `routing` (URLs and discovery) and
`server` (HTTP, lifecycle, seeding). Each layer's class extends the one below it.
"""

from bot.sandbox.fake_kube.model import (
    APPLY_PATCH,
    CONTROLLER_ANNOTATION,
    JSON_PATCH,
    MERGE_PATCH,
    STRATEGIC_MERGE_PATCH,
    ApiError,
    Obj,
    Requirement,
    ResourceType,
)
from bot.sandbox.fake_kube.patches import json_patch, merge_patch, strategic_merge_patch
from bot.sandbox.fake_kube.selectors import fields_match, labels_match, parse_field_selector, parse_label_selector
from bot.sandbox.fake_kube.server import FakeKubeServer

__all__ = [
    "APPLY_PATCH",
    "CONTROLLER_ANNOTATION",
    "JSON_PATCH",
    "MERGE_PATCH",
    "STRATEGIC_MERGE_PATCH",
    "ApiError",
    "FakeKubeServer",
    "Obj",
    "Requirement",
    "ResourceType",
    "fields_match",
    "json_patch",
    "labels_match",
    "merge_patch",
    "parse_field_selector",
    "parse_label_selector",
    "strategic_merge_patch",
]
