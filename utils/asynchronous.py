"""Helpers for notebook 05 (asynchronous inference): the plumbing, named by what it does.

An asynchronous endpoint answers ``InvokeEndpointAsync`` at once (HTTP 202) and writes the result
later, to S3, optionally announcing it on SNS. So a client's work is waiting: for an object to
appear in S3, for a notification, for the instance count to change. Every helper here polls with
a short interval and a timeout, never a fixed sleep; the interval is short on the local SageMaker
(things happen in milliseconds) and longer on AWS (they take seconds to minutes), and that is the
only thing that depends on the backend.

* :func:`wait_for_result` / :func:`wait_for_results`: poll ``HeadObject`` on a request's
  ``OutputLocation`` and ``FailureLocation`` until one exists;
* :func:`notification_inbox` / :func:`read_notifications`: an SQS queue subscribed to the SNS
  topics (with the queue policy AWS requires), and the notifications read back from it;
* :func:`backlog_metric`: an ``AWS/SageMaker`` backlog metric of the endpoint from CloudWatch;
* :func:`watch_instance_count`: wait for the endpoint's instance count to reach a number;
* :func:`endpoint_cost`: what the endpoint has been billed so far (nothing while at zero).

Removing what the requests wrote to S3 is :func:`utils.s3.delete_prefix`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from utils import s3 as s3_objects
from utils.cloudwatch import flush_telemetry, metric_datapoints
from utils.polling import poll_seconds
from utils.progress import LiveWait, announce_aws_wait

__all__ = [
    "AsyncResult",
    "backlog_metric",
    "endpoint_cost",
    "notification_inbox",
    "read_notifications",
    "wait_for_result",
    "wait_for_results",
    "watch_instance_count",
]

#: Seconds between two polls, per backend: the local SageMaker writes results within
#: milliseconds of finishing; on AWS results take seconds to minutes and each poll is a request.
#: The AWS path polls a server on this machine (the AWS rehearsal's stand-in) at most every
#: quarter of a second, as every wait does (:func:`utils.polling.poll_seconds`).
POLL_SECONDS = {"local": 0.05, "aws": 2.0}
#: Seconds between two reads of the instance count or a backlog metric on AWS, where scaling
#: takes minutes (likewise capped on this machine).
AWS_SCALING_POLL_SECONDS = 15.0
#: Default time limits per backend (AWS may have to start an instance first: minutes).
TIMEOUT_SECONDS = {"local": 120.0, "aws": 3600.0}


def _poll(tut: Any, client: Any) -> float:
    """Seconds between two polls made through ``client``."""
    if tut.is_local:
        return POLL_SECONDS["local"]
    return poll_seconds(POLL_SECONDS["aws"], client)


def _timeout(tut: Any, timeout: float | None) -> float:
    return timeout if timeout is not None else TIMEOUT_SECONDS["local" if tut.is_local else "aws"]


@dataclass(frozen=True)
class AsyncResult:
    """How one asynchronous request ended: ``Completed`` (OutputLocation) or ``Failed``."""

    inference_id: str
    status: str
    location: str
    seconds: float  # from the start of waiting until the poll that saw the object

    @property
    def ok(self) -> bool:
        """Whether the request succeeded (its output, not its failure, is in S3)."""
        return self.status == "Completed"

    def read(self, s3: Any) -> bytes:
        """The result (or the failure's text) from S3."""
        return s3_objects.read_bytes(s3, self.location)


def wait_for_results(
    tut: Any,
    responses: Sequence[dict[str, Any]],
    timeout: float | None = None,
    started: float | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[AsyncResult]:
    """Poll S3 until every request in ``responses`` (InvokeEndpointAsync answers) has ended.

    A request has ended when the object at its ``OutputLocation`` (success) or its
    ``FailureLocation`` (failure) exists; ``HeadObject`` checks without downloading. Returns one
    :class:`AsyncResult` per request, in the order they were seen to end, each with the seconds
    since ``started`` (a ``time.monotonic()`` value; default: when this call began) until the
    poll that saw it. Raises ``TimeoutError`` naming the requests still pending after ``timeout``
    seconds.

    Each poll checks the requests newest first. Checked oldest first, a slow poll could see a
    later request's result and report it before an earlier one that ended in between (the
    earlier one was checked just before it ended). Newest first, a request seen in an earlier
    poll than one sent before it truly ended first. Requests seen in the same poll are listed in
    the order sent, with the same time: which of them ended first is not known.
    """
    start = clock() if started is None else started
    limit = _timeout(tut, timeout)
    pending = {r["InferenceId"]: r for r in responses}
    ended: list[AsyncResult] = []
    total = len(pending)
    # locally a result takes a second or two: a live line only where it can take minutes
    with LiveWait("asynchronous requests", print, clock, mode=None if tut.is_local else "auto") as live:
        while True:
            seen: dict[str, tuple[str, str]] = {}
            for inference_id, response in reversed(pending.items()):
                for status, key in (("Completed", "OutputLocation"), ("Failed", "FailureLocation")):
                    location = response.get(key)
                    if location and s3_objects.exists(tut.s3, location):
                        seen[inference_id] = (status, location)
                        break
            seen_at = clock() - start
            for inference_id in [i for i in pending if i in seen]:
                ended.append(AsyncResult(inference_id, *seen[inference_id], seen_at))
                del pending[inference_id]
            if not pending:
                live.end(f"{total} of {total} requests ended after {clock() - start:.0f} s")
                return ended
            if clock() - start > limit:
                live.end(f"{len(pending)} of {total} requests still pending: stopped waiting")
                raise TimeoutError(
                    f"no result after {limit:.0f} s for: {', '.join(sorted(pending))}"
                )
            live.update(f"{len(ended)} of {total} ended", len(ended), total)
            live.sleep(_poll(tut, tut.s3), sleep)


def wait_for_result(
    tut: Any, response: dict[str, Any], timeout: float | None = None, started: float | None = None
) -> AsyncResult:
    """Poll S3 until the request's output or failure object exists (see :func:`wait_for_results`)."""
    return wait_for_results(tut, [response], timeout=timeout, started=started)[0]


# --- notifications -------------------------------------------------------------------------------


def notification_inbox(tut: Any, name: str, topic_arns: Iterable[str]) -> str:
    """An SQS queue subscribed to ``topic_arns``; returns its URL.

    SNS may only deliver to a queue whose policy allows it: the policy lets
    ``sns.amazonaws.com`` send messages from these topics and nothing else (without it, AWS
    drops the notifications silently). The queue carries the tutorial's tags.
    """
    sqs = tut.client("sqs")
    topics = list(topic_arns)
    url = sqs.create_queue(QueueName=name, tags={t["Key"]: t["Value"] for t in tut.tags})[
        "QueueUrl"
    ]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "sns.amazonaws.com"},
                "Action": "sqs:SendMessage",
                "Resource": arn,
                "Condition": {"ArnEquals": {"aws:SourceArn": topics}},
            }
        ],
    }
    sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": json.dumps(policy)})
    for topic in topics:
        tut.sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return url


def read_notifications(
    tut: Any,
    queue_url: str,
    count: int,
    timeout: float | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> list[dict[str, Any]]:
    """Receive (and delete) at least ``count`` SageMaker notifications from the SNS-fed queue.

    Each SQS message wraps an SNS envelope whose ``Message`` is SageMaker's JSON; this returns
    those JSON documents, parsed, in the order received. Uses SQS long polling (the call waits
    up to 1 s locally, 10 s on AWS, for a message), so there is no sleep. Raises ``TimeoutError``
    if fewer than ``count`` arrive in time.
    """
    sqs = tut.client("sqs")
    limit = _timeout(tut, timeout)
    wait = 1 if tut.is_local else 10
    start = clock()
    notes: list[dict[str, Any]] = []
    while len(notes) < count:
        if clock() - start > limit:
            raise TimeoutError(f"{len(notes)} of {count} notifications after {limit:.0f} s")
        messages = sqs.receive_message(
            QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait
        ).get("Messages", [])
        for message in messages:
            envelope = json.loads(message["Body"])
            notes.append(json.loads(envelope["Message"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
    return notes


# --- metrics and scaling -------------------------------------------------------------------------


def backlog_metric(
    tut: Any,
    endpoint: str,
    name: str = "ApproximateBacklogSize",
    statistic: str = "Maximum",
    at_least: float | None = None,
    timeout: float | None = None,
    minutes: int = 60,
) -> float | None:
    """One backlog metric of ``endpoint`` over the last ``minutes`` (the ``statistic`` of all points).

    SageMaker publishes the backlog metrics (``ApproximateBacklogSize``,
    ``ApproximateBacklogSizePerInstance``, ``ApproximateAgeOfOldestRequest``,
    ``HasBacklogWithoutCapacity``) under the ``EndpointName`` dimension alone. They reach
    CloudWatch a little after the fact (about a minute on AWS), so with ``at_least`` this polls
    until the value reaches it or ``timeout`` passes. Returns None when there is no data point.
    """
    limit = _timeout(tut, timeout) if at_least is not None else 0.0
    if at_least is not None:
        announce_aws_wait(tut, f"{name} to reach CloudWatch", "about a minute", limit)
    start = time.monotonic()
    while True:
        flush_telemetry(tut)
        points = metric_datapoints(tut.cloudwatch, endpoint, name, [statistic], minutes=minutes)
        values = [p[statistic] for p in points]
        value = None
        if values:
            combine: dict[str, Callable[[list[float]], float]] = {
                "Maximum": max,
                "Minimum": min,
                "Sum": sum,
                "SampleCount": sum,
            }
            value = combine.get(statistic, max)(values)
        reached = at_least is None or (value is not None and value >= at_least)
        if reached or time.monotonic() - start > limit:
            return value
        time.sleep(
            max(POLL_SECONDS["local"], 0.2)
            if tut.is_local
            else poll_seconds(AWS_SCALING_POLL_SECONDS, tut.cloudwatch)
        )


def watch_instance_count(
    tut: Any,
    endpoint: str,
    until: int,
    timeout: float | None = None,
    show: Callable[[str], None] | None = print,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Poll DescribeEndpoint until the endpoint is InService with ``until`` instances.

    Prints one line: ``<n> instance(s)  <seconds> s`` when it gets there, or ``still <n>
    instance(s) after <seconds> s`` when ``timeout`` passes first; returns the last InService
    count seen (-1 if none), without raising, so a cell can also show that nothing changed.

    The counts in between are not printed: which of them a poll sees depends on the pace of the
    machine (locally an instance can come and go within a second), so they would make the same
    cell print different lines from run to run. Every change the autoscaler made is on record
    in ``DescribeScalingActivities``; read that to show the way there.
    """
    limit = _timeout(tut, timeout)
    announce_aws_wait(
        tut,
        f"getting to {until} instance{'' if until == 1 else 's'}",
        # scale-in waits for its CloudWatch alarm (15 one-minute periods for target tracking);
        # scale-out for a new instance to start
        "15 to 20 minutes" if until == 0 else "5 to 10 minutes",
        limit,
    )
    start = clock()
    last: int | None = None
    target = f"{until} instance{'' if until == 1 else 's'}"
    # locally seconds; on AWS up to 20 minutes
    with LiveWait(f"{endpoint} to {target}", show, clock, mode=None if tut.is_local else "auto") as live:
        while True:
            described = tut.sagemaker.describe_endpoint(EndpointName=endpoint)
            status = described["EndpointStatus"]
            if status == "InService":
                count = int(described["ProductionVariants"][0].get("CurrentInstanceCount", 0))
                last = count
                if count == until:
                    live.finish(f"{count} {_instances(count):<9} {clock() - start:.1f} s")
                    return count
            if clock() - start > limit:
                seen = "no count" if last is None else f"{last} {_instances(last)}"
                live.finish(f"still {seen} after {limit:.0f} s")
                return -1 if last is None else last
            live.update(status if last is None else f"{status}, {last} now")
            live.sleep(
                POLL_SECONDS["local"] * 2
                if tut.is_local
                else poll_seconds(AWS_SCALING_POLL_SECONDS, tut.sagemaker),
                sleep,
            )


def _instances(count: int) -> str:
    return "instance" if count == 1 else "instances"


def endpoint_cost(tut: Any, endpoint: str) -> tuple[float, float]:
    """(instance-seconds, USD) that ``endpoint`` has been billed so far, summed over its variants.

    Locally from the meter: only time with instances running counts, so time spent at zero
    instances costs nothing, as on AWS. On AWS an estimate from the current instance count and
    the time since the endpoint last changed (:func:`utils.billing.current_costs`).
    """
    from utils.billing import current_costs

    rows = [r for r in current_costs(tut)["Endpoints"] if r["EndpointName"] == endpoint]
    return (
        sum(r["InstanceSeconds"] for r in rows),
        sum(r["CostUsd"] or 0.0 for r in rows),
    )
