"""Names and texts AWS uses that more than one service needs: ARNs, log groups, shared errors.

A text used by one service only lives with that service, next to the behaviour that raises it
(ARCHITECTURE.md, "Where each AWS behaviour lives"). Texts not confirmed against real AWS output
say UNCONFIRMED next to them.
"""

from __future__ import annotations

from .errors import AwsError, resource_limit
from .settings import ACCOUNT_ID, REGION

TIMEOUT_MESSAGE = (
    "Your invocation timed out while waiting for a response from container primary. Review the "
    "latency metrics for each container in Amazon CloudWatch, resolve the issue, and try again."
)


def arn(kind: str, name: str) -> str:
    """``arn:aws:sagemaker:<region>:<account>:<kind>/<lower-cased name>``."""
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:{kind}/{name.lower()}"


def log_group_for(endpoint_name: str) -> str:
    """An endpoint's CloudWatch log group."""
    return f"/aws/sagemaker/Endpoints/{endpoint_name}"


def ping_failure_reason(variant: str) -> str:
    """AWS's FailureReason when a container never passes ``/ping`` (sagemaker-python-sdk#787)."""
    return (
        f"The primary container for production variant {variant} did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )


def download_failure_reason(url: str) -> str:
    """FailureReason when ModelDataUrl cannot be downloaded."""
    # UNCONFIRMED: the wording AWS uses when ModelDataUrl cannot be downloaded, as quoted in
    # forum threads; no primary source confirms it.
    return (
        f'Failed to download model data for container "container_1" from URL: "{url}". Please '
        "ensure that there is an object located at the URL and that the role passed to "
        "CreateModel has permissions to download the object."
    )


def extract_failure_reason(url: str) -> str:
    """FailureReason when the model archive is not a valid (or safe) tar.gz."""
    # UNCONFIRMED: wording for an archive that is not a valid (or safe) tar.gz.
    return (
        f'Failed to extract model data archive from URL "{url}". Please ensure that the object '
        "located at the URL is a valid tar.gz archive."
    )


def instance_quota_exceeded(usage: str, itype: str, limit: int, current: int, delta: int) -> AwsError:
    """``ResourceLimitExceeded`` for the per-type instance quota (``usage``: "endpoint usage"
    or "transform job usage"; the latter's quota name is UNCONFIRMED)."""
    return resource_limit(
        f"The account-level service limit '{itype} for {usage}' is {limit} "
        f"Instances, with current utilization of {current} Instances and a request delta "
        f"of {delta} Instances. Please use AWS Service Quotas to request an increase for "
        "this quota. If AWS Service Quotas is not available, contact AWS support to "
        "request an increase for this quota."
    )


def endpoint_not_found(endpoint_name: str) -> AwsError:
    """The runtime's answer for an endpoint it cannot invoke."""
    return AwsError("ValidationError", f"Endpoint {endpoint_name} of account {ACCOUNT_ID} not found.")


def _see_logs(endpoint_name: str) -> str:
    group = log_group_for(endpoint_name)
    return (
        f"See https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        f"#logEventViewer:group={group} in account {ACCOUNT_ID} for more information."
    )


def model_error(endpoint_name: str, status: int, body: bytes | None) -> AwsError:
    """The 424 ModelError wrapping a container answer (or a timeout when ``body`` is None)."""
    # UNCONFIRMED: LogStreamArn names the endpoint's log group (the console link points there).
    log_arn = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:{log_group_for(endpoint_name)}"
    kind = "client" if 400 <= status < 500 else "server"
    if body is None:
        original = TIMEOUT_MESSAGE
        message = f'Received {kind} error ({status}) from primary with message "{original}". '
    else:
        try:
            original = body.decode("utf-8")
            message = f'Received {kind} error ({status}) from primary with message "{original}". '
        except UnicodeDecodeError:
            original = ""
            message = (
                f"Received {kind} error ({status}) from primary and could not load the entire "
                "response body. "
            )
    return AwsError(
        "ModelError",
        message + _see_logs(endpoint_name),
        424,
        OriginalStatusCode=status,
        OriginalMessage=original,
        LogStreamArn=log_arn,
    )
