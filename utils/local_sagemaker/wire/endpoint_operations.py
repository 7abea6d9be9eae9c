"""The control plane's model, endpoint-config, endpoint and tag operations, in botocore shapes.

Each operation reads its (already validated) parameters, calls the registry
(:mod:`...services.endpoints.registry`) and serialises the result in the botocore output shape:
timestamps as epoch seconds; optional members omitted rather than sent empty, because
sagemaker-core rejects ``{}`` for optional structures.
"""

from __future__ import annotations

from typing import Any

from ..services.endpoints.registry import Registry
from ..services.endpoints.resources import Endpoint, EndpointConfig, Model
from .control_plane import ControlPlane, Handler
from .paging import filter_and_sort, page


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
    """DescribeEndpointOutput (call with the registry's lock held)."""
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
            # Nothing is pulled locally, so the "resolved" image is the one specified.
            images = (
                [
                    {
                        "SpecifiedImage": image,
                        "ResolvedImage": image,
                        "ResolutionTime": endpoint.creation_time,
                    }
                ]
                if image
                else None
            )
            summary = fleet.describe(images)
            variants.append(summary)
        out["ProductionVariants"] = variants
    cfg = deployment.config if deployment is not None else registry.configs.get(
        endpoint.config_name.lower()
    )
    if cfg is not None and cfg.request.get("AsyncInferenceConfig"):
        out["AsyncInferenceConfig"] = cfg.request["AsyncInferenceConfig"]
    return out


def create_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"ModelArn": cp.registry.create_model(p).arn}


def describe_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return _model_description(cp.registry.get_model(p["ModelName"]))


def list_models(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    with cp.registry.lock:
        items = [
            {"ModelName": m.name, "ModelArn": m.arn, "CreationTime": m.creation_time}
            for m in cp.registry.models.values()
        ]
    return page(filter_and_sort(items, p, "ModelName", "EndpointStatus"), p, "Models")


def delete_model(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.registry.delete_model(p["ModelName"])
    return {}


def create_endpoint_config(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointConfigArn": cp.registry.create_endpoint_config(p).arn}


def describe_endpoint_config(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return _config_description(cp.registry.get_endpoint_config(p["EndpointConfigName"]))


def list_endpoint_configs(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    with cp.registry.lock:
        items = [
            {
                "EndpointConfigName": c.name,
                "EndpointConfigArn": c.arn,
                "CreationTime": c.creation_time,
            }
            for c in cp.registry.configs.values()
        ]
    return page(
        filter_and_sort(items, p, "EndpointConfigName", "EndpointStatus"), p, "EndpointConfigs"
    )


def delete_endpoint_config(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.registry.delete_endpoint_config(p["EndpointConfigName"])
    return {}


def create_endpoint(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointArn": cp.registry.create_endpoint(p).arn}


def describe_endpoint(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    endpoint = cp.registry.get_endpoint(p["EndpointName"])
    with cp.registry.lock:
        return _endpoint_description(endpoint, cp.registry)


def list_endpoints(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    with cp.registry.lock:
        items = [
            {
                "EndpointName": e.name,
                "EndpointArn": e.arn,
                "CreationTime": e.creation_time,
                "LastModifiedTime": e.last_modified_time,
                "EndpointStatus": e.status,
            }
            for e in cp.registry.endpoints.values()
        ]
    return page(filter_and_sort(items, p, "EndpointName", "EndpointStatus"), p, "Endpoints")


def delete_endpoint(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.registry.delete_endpoint(p["EndpointName"])
    return {}


def update_endpoint(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointArn": cp.registry.update_endpoint(p).arn}


def update_endpoint_weights_and_capacities(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"EndpointArn": cp.registry.update_weights_and_capacities(p).arn}


def add_tags(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return {"Tags": cp.registry.add_tags(p["ResourceArn"], p["Tags"])}


def list_tags(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return page(cp.registry.list_tags(p["ResourceArn"]), p, "Tags", default_max=50)


def delete_tags(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    cp.registry.delete_tags(p["ResourceArn"], p["TagKeys"])
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
