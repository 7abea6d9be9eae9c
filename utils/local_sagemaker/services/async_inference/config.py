"""An asynchronous endpoint's settings (``AsyncInferenceConfig``) and the checks that use them.

CreateEndpointConfig applies the cross-field rules the botocore model cannot express; the runtime
refuses InvokeEndpoint on an asynchronous endpoint and InvokeEndpointAsync on any other (the
``async.wrong-invoke`` marker).
"""

from __future__ import annotations

from typing import Any

from ...core.errors import AwsError, validation
from ...core.settings import ACCOUNT_ID

#: Inline ``Body`` limit of InvokeEndpointAsync (botocore runtime model).
MAX_INLINE_BODY = 128_000
DEFAULT_TTL_SECONDS = 6 * 3600
DEFAULT_INVOCATION_TIMEOUT = 900
#: Used when ClientConfig.MaxConcurrentInvocationsPerInstance is absent (AWS picks its own value).
DEFAULT_PER_INSTANCE = 1


def async_config(config_request: dict[str, Any]) -> dict[str, Any] | None:
    """The endpoint config's ``AsyncInferenceConfig``, or None for a synchronous endpoint."""
    cfg: dict[str, Any] | None = config_request.get("AsyncInferenceConfig") or None
    return cfg


def per_instance_concurrency(cfg: dict[str, Any]) -> int:
    """``ClientConfig.MaxConcurrentInvocationsPerInstance``, or :data:`DEFAULT_PER_INSTANCE`."""
    per = (cfg.get("ClientConfig") or {}).get("MaxConcurrentInvocationsPerInstance")
    return int(per or DEFAULT_PER_INSTANCE)


def check_endpoint_config(request: dict[str, Any]) -> None:
    """Cross-field rules of AsyncInferenceConfig the botocore model cannot express."""
    cfg = async_config(request)
    if cfg is None:
        return
    output = cfg.get("OutputConfig") or {}
    if not output.get("S3OutputPath"):
        # FIDELITY async.output-path-required UNCONFIRMED: an AsyncInferenceConfig without S3OutputPath
        #   local: ValidationException "S3OutputPath must be specified in
        #     AsyncInferenceConfig.OutputConfig."
        #   why: the model marks it optional, but a result cannot be written without it.
        #   notice: AWS may refuse it with other words (or only when a result is written).
        raise validation("S3OutputPath must be specified in AsyncInferenceConfig.OutputConfig.")
    notification = output.get("NotificationConfig") or {}
    for value in notification.get("IncludeInferenceResponseIn") or []:
        topic = {
            "SUCCESS_NOTIFICATION_TOPIC": "SuccessTopic",
            "ERROR_NOTIFICATION_TOPIC": "ErrorTopic",
        }
        if value in topic and not notification.get(topic[value]):
            raise validation(
                f"IncludeInferenceResponseIn contains {value} but {topic[value]} is not set."
            )


def refuse_sync(endpoint_name: str, config_request: dict[str, Any]) -> None:
    """InvokeEndpoint on an async endpoint: a ValidationError."""
    # FIDELITY async.wrong-invoke UNCONFIRMED: InvokeEndpoint on an asynchronous endpoint, or the reverse
    #   local: ValidationError "Endpoint <name> of account <account> is configured for
    #     asynchronous inference. Use InvokeEndpointAsync to invoke it." (and "... is not
    #     configured for asynchronous inference. Use InvokeEndpoint to invoke it.").
    #   source: strands-agents/harness-sdk#1969 reports a ValidationError for InvokeEndpoint on an
    #     asynchronous endpoint, without its text.
    #   why: the code is on record, the sentences are ours.
    #   notice: the message wording can differ on AWS.
    if async_config(config_request) is not None:
        raise AwsError(
            "ValidationError",
            f"Endpoint {endpoint_name} of account {ACCOUNT_ID} is configured for "
            "asynchronous inference. Use InvokeEndpointAsync to invoke it.",
        )


def not_asynchronous(endpoint_name: str) -> AwsError:
    """InvokeEndpointAsync on an endpoint without AsyncInferenceConfig (``async.wrong-invoke``)."""
    return AwsError(
        "ValidationError",
        f"Endpoint {endpoint_name} of account {ACCOUNT_ID} is not configured for "
        "asynchronous inference. Use InvokeEndpoint to invoke it.",
    )
