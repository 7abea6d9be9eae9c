"""Where an asynchronous request's outcome goes: S3 objects, then a notification.

Success: the container's body goes to ``S3OutputPath/<InferenceId>.out`` (or the request's
``S3OutputPathExtension`` / ``Filename``) with the container's Content-Type. Failure (container
error, timeout, unreadable input, expired TTL): the error text goes to
``S3FailurePath/<InferenceId>-error.out`` (with no S3FailurePath the error object goes under
S3OutputPath); :func:`output_locations` decides both keys.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

from ...core.s3_uri import split_s3_uri
from ..telemetry.data_points import MetricSink
from .job import Job
from .notifications import Notifier


def output_locations(
    output_config: dict[str, Any], inference_id: str, params: dict[str, Any]
) -> tuple[str, str]:
    """The S3 URIs of a request's result and of its failure text."""
    # FIDELITY async.result-keys UNCONFIRMED: S3 keys of asynchronous results and failures
    #   local: <S3OutputPath>/<InferenceId>.out for a result, <S3FailurePath>/<InferenceId>-error.out
    #     for a failure (under S3OutputPath when there is no S3FailurePath).
    #   why: the developer guide shows a result named ".../prediction.out" and says the name is
    #     based on the inference ID; clients read OutputLocation and FailureLocation from the
    #     response (the SDK does), never build keys.
    #   notice: the keys can differ on AWS; code that uses the returned locations works on both.
    base = output_config["S3OutputPath"].rstrip("/")
    if params.get("S3OutputPathExtension"):
        base = f"{base}/{params['S3OutputPathExtension'].strip('/')}"
    filename = params.get("Filename") or f"{inference_id}.out"
    failure_base = (output_config.get("S3FailurePath") or output_config["S3OutputPath"]).rstrip("/")
    return f"{base}/{filename}", f"{failure_base}/{inference_id}-error.out"


class ResultDelivery:
    """Writes outcomes to S3 and announces them (SNS), counting failures as AWS does."""

    def __init__(self, s3_client: Callable[[], Any], notifier: Notifier, metric_sink: MetricSink):
        self.s3_client = s3_client
        self.notifier = notifier
        self.metric_sink = metric_sink

    def read_input(self, job: Job) -> bytes:
        """The request's payload: inline, or the object at ``InputLocation``."""
        if job.body is not None:
            return job.body
        bucket, key = split_s3_uri(job.input_location or "")
        data: bytes = self.s3_client().get_object(Bucket=bucket, Key=key)["Body"].read()
        return data

    def succeeded(
        self, job: Job, output_config: dict[str, Any], content_type: str, data: bytes
    ) -> None:
        """Write the container's answer to the output location, then notify."""
        try:
            bucket, key = split_s3_uri(job.output_location)
            self.s3_client().put_object(Bucket=bucket, Key=key, Body=data, ContentType=content_type)
        except Exception as exc:
            self.failed(job, output_config, f"Failed to upload the response to {job.output_location}: {exc}")
            return
        self.notifier.notify(job, output_config, True, content_type, data, None)

    def failed(self, job: Job, output_config: dict[str, Any], reason: str) -> None:
        """Count the failure, write ``reason`` to the failure location, then notify."""
        self.metric_sink.put("InvocationFailures", 1, "Count", job.endpoint)
        with contextlib.suppress(Exception):
            bucket, key = split_s3_uri(job.failure_location)
            self.s3_client().put_object(
                Bucket=bucket, Key=key, Body=reason.encode(), ContentType="text/plain"
            )
        self.notifier.notify(job, output_config, False, "text/plain", None, reason)
