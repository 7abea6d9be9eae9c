"""utils.asynchronous with fake clients: polling S3 for results, reading notifications, watching
the instance count. (The notebook runs the same helpers against the local
SageMaker; these tests pin their contracts without a server.)"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import botocore.exceptions
import pytest

from utils import asynchronous


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class FakeS3:
    """head_object answers 404 until an object 'appears' after a number of polls."""

    exceptions = SimpleNamespace(ClientError=botocore.exceptions.ClientError)

    def __init__(self, appear_after: dict[str, int]) -> None:
        self.appear_after = dict(appear_after)
        self.heads: dict[str, int] = {}

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        uri = f"s3://{Bucket}/{Key}"
        self.heads[uri] = self.heads.get(uri, 0) + 1
        if uri in self.appear_after and self.heads[uri] > self.appear_after[uri]:
            return {}
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject"
        )


def _tut(s3: Any = None, **clients: Any) -> Any:
    return SimpleNamespace(
        is_local=True, s3=s3, client=lambda name: clients[name], **clients
    )


def _response(i: str) -> dict[str, str]:
    return {
        "InferenceId": i,
        "OutputLocation": f"s3://b/out/{i}.out",
        "FailureLocation": f"s3://b/fail/{i}-error.out",
    }


def test_wait_for_results_reports_each_request_as_it_ends() -> None:
    s3 = FakeS3({"s3://b/out/one.out": 3, "s3://b/fail/two-error.out": 1})
    clock = FakeClock()
    ended = asynchronous.wait_for_results(
        _tut(s3), [_response("one"), _response("two")], clock=clock, sleep=clock.sleep
    )
    assert [(r.inference_id, r.status) for r in ended] == [("two", "Failed"), ("one", "Completed")]
    assert ended[0].location == "s3://b/fail/two-error.out"
    assert [r.ok for r in ended] == [False, True]
    assert ended[1].seconds == pytest.approx(3 * asynchronous.POLL_SECONDS["local"])


class SlowS3:
    """Objects appear at given times on ``clock``; every head_object takes ``head_seconds``."""

    exceptions = SimpleNamespace(ClientError=botocore.exceptions.ClientError)

    def __init__(self, clock: FakeClock, appear_at: dict[str, float], head_seconds: float) -> None:
        self.clock = clock
        self.appear_at = appear_at
        self.head_seconds = head_seconds

    def head_object(self, Bucket: str, Key: str) -> dict[str, Any]:
        uri = f"s3://{Bucket}/{Key}"
        self.clock.now += self.head_seconds
        if self.clock.now >= self.appear_at.get(uri, float("inf")):
            return {}
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "404", "Message": "Not Found"}}, "HeadObject"
        )


def test_a_slow_poll_never_reports_a_later_request_before_an_earlier_one_that_ended_first() -> None:
    # "one" ends at 0.9 s and "two" at 1.0 s, and each HeadObject takes 0.5 s: checked oldest
    # first, the first poll finds "one" missing at 0.5 s and "two" done at 1.0 s.
    clock = FakeClock()
    s3 = SlowS3(clock, {"s3://b/out/one.out": 0.9, "s3://b/out/two.out": 1.0}, head_seconds=0.5)
    ended = asynchronous.wait_for_results(
        _tut(s3), [_response("one"), _response("two")], clock=clock, sleep=clock.sleep
    )
    assert [r.inference_id for r in ended] == ["one", "two"]
    assert ended[0].seconds <= ended[1].seconds


def test_a_request_seen_in_an_earlier_poll_is_listed_first_whatever_the_order_sent() -> None:
    clock = FakeClock()
    s3 = SlowS3(clock, {"s3://b/out/one.out": 5.0, "s3://b/out/two.out": 1.0}, head_seconds=0.3)
    ended = asynchronous.wait_for_results(
        _tut(s3), [_response("one"), _response("two")], clock=clock, sleep=clock.sleep
    )
    assert [r.inference_id for r in ended] == ["two", "one"]
    assert ended[0].seconds < 5.0 <= ended[1].seconds


def test_wait_for_results_times_out_naming_the_pending_request() -> None:
    clock = FakeClock()
    with pytest.raises(TimeoutError, match="never"):
        asynchronous.wait_for_results(
            _tut(FakeS3({})), [_response("never")], timeout=1.0, clock=clock, sleep=clock.sleep
        )
    assert clock.now == pytest.approx(1.0, abs=0.1)


def test_other_s3_errors_are_raised() -> None:
    s3 = FakeS3({})

    def forbidden(**_: Any) -> None:
        raise botocore.exceptions.ClientError(
            {"Error": {"Code": "403", "Message": "Forbidden"}}, "HeadObject"
        )

    s3.head_object = forbidden  # type: ignore[method-assign]
    with pytest.raises(botocore.exceptions.ClientError):
        asynchronous.wait_for_result(_tut(s3), _response("x"))


def test_read_notifications_unwraps_sns_envelopes_and_deletes() -> None:
    notes = [{"inferenceId": str(i), "invocationStatus": "Completed"} for i in range(3)]
    batches = [[], notes[:2], notes[2:]]
    deleted: list[str] = []

    class FakeSqs:
        def receive_message(self, **kwargs: Any) -> dict[str, Any]:
            assert kwargs["WaitTimeSeconds"] >= 1  # long polling, not a sleep loop
            batch = batches.pop(0)
            return {
                "Messages": [
                    {"Body": json.dumps({"Message": json.dumps(n)}), "ReceiptHandle": n["inferenceId"]}
                    for n in batch
                ]
            }

        def delete_message(self, QueueUrl: str, ReceiptHandle: str) -> None:
            deleted.append(ReceiptHandle)

    got = asynchronous.read_notifications(_tut(sqs=FakeSqs()), "url", count=3)
    assert got == notes and deleted == ["0", "1", "2"]


def test_watch_instance_count_prints_only_the_count_it_reaches() -> None:
    # the counts on the way depend on when the polls fall: printing them would make a cell's
    # output differ from run to run
    states = [("Updating", 1), ("InService", 1), ("InService", 1), ("Updating", 0), ("InService", 0)]

    class FakeSm:
        def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
            status, count = states.pop(0) if len(states) > 1 else states[0]
            return {"EndpointStatus": status, "ProductionVariants": [{"CurrentInstanceCount": count}]}

    shown: list[str] = []
    clock = FakeClock()
    final = asynchronous.watch_instance_count(
        SimpleNamespace(is_local=True, sagemaker=FakeSm()), "e", until=0,
        show=shown.append, clock=clock, sleep=clock.sleep,
    )
    assert final == 0
    assert [line.split()[:2] for line in shown] == [["0", "instances"]]


def test_watch_instance_count_returns_the_last_count_at_timeout() -> None:
    class FakeSm:
        def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
            return {"EndpointStatus": "InService", "ProductionVariants": [{"CurrentInstanceCount": 0}]}

    shown: list[str] = []
    clock = FakeClock()
    final = asynchronous.watch_instance_count(
        SimpleNamespace(is_local=True, sagemaker=FakeSm()), "e", until=1, timeout=2,
        show=shown.append, clock=clock, sleep=clock.sleep,
    )
    assert final == 0 and clock.now > 2
    assert shown == ["still 0 instances after 2 s"]


@pytest.mark.parametrize(
    ("endpoint_url", "interval"),
    [("https://runtime.sagemaker.us-east-1.amazonaws.com", 15.0), ("http://127.0.0.1:8765", 0.25)],
)
def test_on_the_aws_path_the_instance_count_is_read_at_aws_pace_unless_the_server_is_here(
    endpoint_url: str, interval: float
) -> None:
    counts = [1, 1, 1, 0]

    class FakeSm:
        meta = SimpleNamespace(endpoint_url=endpoint_url)

        def describe_endpoint(self, EndpointName: str) -> dict[str, Any]:
            count = counts.pop(0)
            return {"EndpointStatus": "InService", "ProductionVariants": [{"CurrentInstanceCount": count}]}

    clock = FakeClock()
    tut = SimpleNamespace(is_local=False, sagemaker=FakeSm())
    final = asynchronous.watch_instance_count(
        tut, "e", until=0, show=None, clock=clock, sleep=clock.sleep
    )
    assert final == 0
    assert clock.now == pytest.approx(3 * interval)


@pytest.mark.parametrize(
    ("endpoint_url", "interval"),
    [("https://s3.us-east-1.amazonaws.com", 2.0), ("http://127.0.0.1:8765", 0.25)],
)
def test_on_the_aws_path_results_are_polled_every_2_s_unless_the_server_is_here(
    endpoint_url: str, interval: float
) -> None:
    s3 = FakeS3({"s3://b/out/a.out": 2})
    s3.meta = SimpleNamespace(endpoint_url=endpoint_url)  # type: ignore[attr-defined]
    clock = FakeClock()
    tut = SimpleNamespace(is_local=False, s3=s3)
    [result] = asynchronous.wait_for_results(
        tut, [_response("a")], clock=clock, sleep=clock.sleep
    )
    assert result.ok and result.seconds == pytest.approx(2 * interval)
