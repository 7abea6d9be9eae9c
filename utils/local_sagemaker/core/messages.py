"""Names and texts AWS uses that more than one service needs: ARNs, log groups, shared errors.

A text used by one service only lives with that service, next to the behaviour that raises it
(ARCHITECTURE.md, "Where each AWS behaviour lives"). Each text carries a FIDELITY marker with its
source, or with the reason it is the most likely wording (``docs/fidelity.md``).
"""

from __future__ import annotations

from .errors import AwsError, resource_limit
from .settings import ACCOUNT_ID, REGION

# FIDELITY runtime.timeout CONFIRMED: a model that does not answer within 60 s
#   local: ModelError (424) 'Received server error (0) from primary with message "Your invocation
#     timed out while waiting for a response from container primary. ..."'.
#   source: aws-samples/host-yolov8-on-sagemaker-endpoint#21 quotes it word for word.
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
    """AWS's FailureReason when a container never passes ``/ping``."""
    # FIDELITY endpoint.ping-failure CONFIRMED: an endpoint whose container never passes /ping
    #   local: Failed with "The primary container for production variant <variant> did not pass
    #     the ping health check. Please check CloudWatch logs for this endpoint."
    #   source: aws/sagemaker-python-sdk#787 quotes it word for word.
    return (
        f"The primary container for production variant {variant} did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )


def download_failure_reason(url: str) -> str:
    """FailureReason when ModelDataUrl cannot be downloaded."""
    # FIDELITY endpoint.model-download-failure CONFIRMED: a ModelDataUrl that cannot be downloaded
    #   local: Failed with ' Failed to download model data for container "container_1" from URL:
    #     "<url>". Please ensure that there is an object located at the URL and that the role
    #     passed to CreateModel has permissions to download the object.' (with AWS's leading
    #     space).
    #   source: aws-solutions-library-samples/fraud-detection-using-machine-learning#9 quotes a
    #     real endpoint's FailureReason word for word ("Reason:  Failed ..."); the test data of
    #     aws-controllers-k8s/sagemaker-controller has the same leading space.
    return (
        f' Failed to download model data for container "container_1" from URL: "{url}". Please '
        "ensure that there is an object located at the URL and that the role passed to "
        "CreateModel has permissions to download the object."
    )


def extract_failure_reason(url: str) -> str:
    """FailureReason when the model archive is not a valid (or safe) tar.gz."""
    # FIDELITY endpoint.model-archive-invalid CONFIRMED: a model archive that is not a valid tar.gz
    #   local: Failed with 'Failed to extract model data archive from URL "<url>". Please ensure
    #     that the object located at the URL is a valid tar.gz archive.' (also for an archive
    #     that would write outside the model folder).
    #   source: a Terraform deployment log on GitHub quotes this FailureReason word for word; a
    #     2021 note quotes an older form that also names container "container_1".
    return (
        f'Failed to extract model data archive from URL "{url}". Please ensure that the object '
        "located at the URL is a valid tar.gz archive."
    )


def instance_quota_exceeded(usage: str, itype: str, limit: int, current: int, delta: int) -> AwsError:
    """``ResourceLimitExceeded`` for the per-type instance quota (``usage``: "endpoint usage"
    or "transform job usage")."""
    # FIDELITY endpoint.instance-quota CONFIRMED: more instances than the account's quota
    #   local: ResourceLimitExceeded "The account-level service limit '<type> for endpoint usage'
    #     (or 'for transform job usage') is <limit> Instances, with current utilization of <n>
    #     Instances and a request delta of <m> Instances. Please use AWS Service Quotas to request
    #     an increase for this quota. If AWS Service Quotas is not available, contact AWS support
    #     to request an increase for this quota."
    #   source: users' notes on GitHub quote it word for word for CreateEndpoint
    #     ('ml.g6.48xlarge for endpoint usage' is 0 Instances) and for CreateTransformJob
    #     ('ml.m4.xlarge for transform job usage' is 0 Instances); older reports end "Please
    #     contact AWS support to request an increase for this limit."
    return resource_limit(
        f"The account-level service limit '{itype} for {usage}' is {limit} "
        f"Instances, with current utilization of {current} Instances and a request delta "
        f"of {delta} Instances. Please use AWS Service Quotas to request an increase for "
        "this quota. If AWS Service Quotas is not available, contact AWS support to "
        "request an increase for this quota."
    )


def endpoint_not_found(endpoint_name: str) -> AwsError:
    """The runtime's answer for an endpoint it cannot invoke."""
    # FIDELITY runtime.unknown-endpoint CONFIRMED: invoking an endpoint that does not exist
    #   local: ValidationError "Endpoint <name> of account <account> not found."
    #   source: aws/amazon-sagemaker-examples#293 quotes it word for word.
    return AwsError("ValidationError", f"Endpoint {endpoint_name} of account {ACCOUNT_ID} not found.")


def header_not_sendable(header: str) -> AwsError:
    """The runtime's answer for a request header the container cannot be sent (a NUL, or a
    line break a folded header line brought in): refused before anything is queued or sent."""
    # FIDELITY runtime.unsendable-header UNCONFIRMED: a header value with a NUL or a line break
    #   local: ValidationError "Header <name> holds a character that cannot be passed to the
    #     container." (400), for InvokeEndpoint and InvokeEndpointAsync alike.
    #   why: the runtime model allows any ASCII in CustomAttributes, and an HTTP front end
    #     refuses such a header as a bad request; what AWS's says is not on record.
    #   notice: the error code and message can differ on AWS.
    return AwsError(
        "ValidationError",
        f"Header {header} holds a character that cannot be passed to the container.",
    )


def _see_logs(endpoint_name: str) -> str:
    group = log_group_for(endpoint_name)
    return (
        f"See https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}"
        f"#logEventViewer:group={group} in account {ACCOUNT_ID} for more information."
    )


def model_error(endpoint_name: str, status: int, body: bytes | None) -> AwsError:
    """The 424 ModelError wrapping a container answer (or a timeout when ``body`` is None).

    The message quotes the container's answer: 'Received client error (400) from primary with
    message "<body>". See https://... for more information.' (sagemaker-python-sdk#2955; a body
    that is not UTF-8 gives "... and could not load the entire response body",
    amazon-sagemaker-examples#4324).
    """
    # FIDELITY runtime.log-stream-arn UNCONFIRMED: LogStreamArn of a ModelError
    #   local: the ARN of the endpoint's log group, /aws/sagemaker/Endpoints/<name>.
    #   why: the error's own console link points at that group; which stream AWS names is not on
    #     record.
    #   notice: LogStreamArn can name a log stream on AWS.
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
