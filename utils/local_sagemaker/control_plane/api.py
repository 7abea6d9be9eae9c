"""The SageMaker control plane's wire protocol: JSON 1.1 requests in, JSON responses out.

``POST /`` with ``X-Amz-Target: SageMaker.<Operation>``: the body is validated against the
botocore model (:mod:`.validation`), the operation runs on the :class:`~.resources.Registry`,
and the result is serialised in the botocore output shape (timestamps as epoch seconds; optional
members omitted rather than sent empty, because sagemaker-core rejects ``{}`` for optional
structures). Errors become ``{"__type": code, "message": text}`` with their HTTP status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from .. import serverless
from ..errors import AwsError
from .resources import Endpoint, EndpointConfig, Model, Registry
from .validation import operation_model, validate

Handler = Callable[[Registry, dict[str, Any]], dict[str, Any]]


def _model_description(model: Model) -> dict[str, Any]:
    out = {k: v for k, v in model.request.items() if v not in (None, {}, [])}
    out["ModelArn"] = model.arn
    out["CreationTime"] = model.creation_time
    out.setdefault("EnableNetworkIsolation", False)
    return out


def _config_description(cfg: EndpointConfig) -> dict[str, Any]:
    out = {k: v for k, v in cfg.request.items() if v not in (None, {}, [])}
    out["EndpointConfigArn"] = cfg.arn
    out["CreationTime"] = cfg.creation_time
    return out


def _endpoint_description(endpoint: Endpoint, registry: Registry) -> dict[str, Any]:
    out: dict[str, Any] = {
        "EndpointName": endpoint.name,
        "EndpointArn": endpoint.arn,
        "EndpointConfigName": endpoint.config_name,
        "EndpointStatus": endpoint.status,
        "CreationTime": endpoint.creation_time,
        "LastModifiedTime": endpoint.last_modified_time,
    }
    if endpoint.failure_reason:
        out["FailureReason"] = endpoint.failure_reason
    deployment = endpoint.deployment
    if deployment is not None:
        variants = []
        for fleet in deployment.fleets.values():
            model_name = next(
                v["ModelName"] for v in deployment.config.variants if v["VariantName"] == fleet.name
            )
            image = None
            model = registry.models.get(model_name.lower())
            if model is not None:
                container = model.request.get("PrimaryContainer") or {}
                image = container.get("Image")
            summary: dict[str, Any] = {
                "VariantName": fleet.name,
                "CurrentWeight": fleet.weight,
                "DesiredWeight": fleet.desired_weight,
                "CurrentInstanceCount": len([i for i in fleet.instances if i.alive]),
                "DesiredInstanceCount": len(fleet.instances),
            }
            if image:
                # Nothing is pulled locally, so the "resolved" image is the one specified.
                summary["DeployedImages"] = [
                    {
                        "SpecifiedImage": image,
                        "ResolvedImage": image,
                        "ResolutionTime": endpoint.creation_time,
                    }
                ]
            serverless.describe_variant(fleet, summary)
            variants.append(summary)
        out["ProductionVariants"] = variants
    cfg = deployment.config if deployment is not None else registry.configs.get(
        endpoint.config_name.lower()
    )
    if cfg is not None and cfg.request.get("AsyncInferenceConfig"):
        out["AsyncInferenceConfig"] = cfg.request["AsyncInferenceConfig"]
    return out


def _paginate(
    items: list[dict[str, Any]], params: dict[str, Any], key: str, default_max: int = 10
) -> dict[str, Any]:
    """Sort, filter and page a list the way SageMaker's List* operations do."""
    name_field = {"Models": "ModelName", "EndpointConfigs": "EndpointConfigName"}.get(
        key, "EndpointName"
    )
    if params.get("NameContains"):
        needle = params["NameContains"]
        items = [i for i in items if needle in i[name_field]]
    time_filters: tuple[tuple[str, Callable[[dict[str, Any], float], bool]], ...] = (
        ("CreationTimeBefore", lambda i, t: i["CreationTime"] < t),
        ("CreationTimeAfter", lambda i, t: i["CreationTime"] > t),
        ("LastModifiedTimeBefore", lambda i, t: i.get("LastModifiedTime", 0) < t),
        ("LastModifiedTimeAfter", lambda i, t: i.get("LastModifiedTime", 0) > t),
    )
    for field, test in time_filters:
        if params.get(field) is not None:
            bound = float(params[field])
            items = [i for i in items if test(i, bound)]
    if params.get("StatusEquals"):
        items = [i for i in items if i.get("EndpointStatus") == params["StatusEquals"]]
    sort_by = params.get("SortBy", "CreationTime")
    sort_key = {"Name": name_field, "CreationTime": "CreationTime", "Status": "EndpointStatus"}.get(
        sort_by, "CreationTime"
    )
    items.sort(
        key=lambda i: i.get(sort_key, ""),
        reverse=params.get("SortOrder", "Descending") == "Descending",
    )
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise AwsError("ValidationException", "Invalid pagination token.") from None
    size = int(params.get("MaxResults") or default_max)
    page = items[start : start + size]
    out: dict[str, Any] = {key: page}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out


# -- operations ---------------------------------------------------------------------------------


def create_model(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"ModelArn": reg.create_model(p).arn}


def describe_model(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return _model_description(reg.get_model(p["ModelName"]))


def list_models(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    with reg.lock:
        items = [
            {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time}
            for m in reg.models.values()
        ]
    return _paginate(items, p, "Models")


def delete_model(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    reg.delete_model(p["ModelName"])
    return {}


def create_endpoint_config(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointConfigArn": reg.create_endpoint_config(p).arn}


def describe_endpoint_config(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return _config_description(reg.get_endpoint_config(p["EndpointConfigName"]))


def list_endpoint_configs(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    with reg.lock:
        items = [
            {
                "EndpointConfigName": c.name,
                "EndpointConfigArn": c.arn,
                "CreationTime": c.creation_time,
            }
            for c in reg.configs.values()
        ]
    return _paginate(items, p, "EndpointConfigs")


def delete_endpoint_config(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    reg.delete_endpoint_config(p["EndpointConfigName"])
    return {}


def create_endpoint(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointArn": reg.create_endpoint(p).arn}


def describe_endpoint(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    endpoint = reg.get_endpoint(p["EndpointName"])
    with reg.lock:
        return _endpoint_description(endpoint, reg)


def list_endpoints(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    with reg.lock:
        items = [
            {
                "EndpointName": e.name,
                "EndpointArn": e.arn,
                "CreationTime": e.creation_time,
                "LastModifiedTime": e.last_modified_time,
                "EndpointStatus": e.status,
            }
            for e in reg.endpoints.values()
        ]
    return _paginate(items, p, "Endpoints")


def delete_endpoint(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    reg.delete_endpoint(p["EndpointName"])
    return {}


def update_endpoint(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointArn": reg.update_endpoint(p).arn}


def update_endpoint_weights_and_capacities(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointArn": reg.update_weights_and_capacities(p).arn}


def add_tags(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": reg.add_tags(p["ResourceArn"], p["Tags"])}


def list_tags(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    tags = reg.list_tags(p["ResourceArn"])
    try:
        start = int(p.get("NextToken") or 0)
    except ValueError:
        raise AwsError("ValidationException", "Invalid pagination token.") from None
    size = int(p.get("MaxResults") or 50)
    out: dict[str, Any] = {"Tags": tags[start : start + size]}
    if start + size < len(tags):
        out["NextToken"] = str(start + size)
    return out


def delete_tags(reg: Registry, p: dict[str, Any]) -> dict[str, Any]:
    reg.delete_tags(p["ResourceArn"], p["TagKeys"])
    return {}


OPERATIONS: dict[str, Handler] = {
    "CreateModel": create_model,
    "DescribeModel": describe_model,
    "ListModels": list_models,
    "DeleteModel": delete_model,
    "CreateEndpointConfig": create_endpoint_config,
    "DescribeEndpointConfig": describe_endpoint_config,
    "ListEndpointConfigs": list_endpoint_configs,
    "DeleteEndpointConfig": delete_endpoint_config,
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "ListEndpoints": list_endpoints,
    "DeleteEndpoint": delete_endpoint,
    "UpdateEndpoint": update_endpoint,
    "UpdateEndpointWeightsAndCapacities": update_endpoint_weights_and_capacities,
    "AddTags": add_tags,
    "ListTags": list_tags,
    "DeleteTags": delete_tags,
}

# Transform jobs: Create/Describe/List/StopTransformJob (see .transform_jobs).
from .transform_jobs import OPERATIONS as _TRANSFORM_JOB_OPERATIONS  # noqa: E402

OPERATIONS.update(_TRANSFORM_JOB_OPERATIONS)


def handle(registry: Registry, target: str, body: bytes) -> tuple[int, bytes]:
    """Run one JSON 1.1 request; returns (HTTP status, JSON body). Never raises."""
    operation = target.partition(".")[2]
    try:
        handler = OPERATIONS.get(operation)
        if handler is None:
            if operation_model(operation) is None:
                raise AwsError(
                    "UnknownOperationException", f"Unknown operation {operation or target!r}."
                )
            # A real SageMaker operation this emulator does not offer: say so plainly.
            raise AwsError(
                "UnknownOperationException",
                f"The local SageMaker does not implement {operation} yet.",
            )
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            raise AwsError("SerializationException", "Request body is not valid JSON.") from None
        validate(operation, params)
        result = handler(registry, params)
        return 200, json.dumps(result).encode()
    except AwsError as err:
        return err.status, json.dumps({"__type": err.code, "message": err.message}).encode()
    except Exception as exc:  # a bug of ours: AWS-style 500, never a dropped connection
        return 500, json.dumps(
            {"__type": "InternalFailure", "message": f"{type(exc).__name__}: {exc}"}
        ).encode()
