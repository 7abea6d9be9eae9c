"""Healing: an instance that dies or hangs is replaced while the endpoint stays InService.

AWS keeps pinging an endpoint's instances after start-up and replaces one that fails its health
checks, the endpoint staying ``InService`` (developer guide, "How Your Container Should Respond
to Health Check (Ping) Requests"). These tests kill (SIGKILL) or freeze (SIGSTOP) a real worker
process and watch, by polling, for: the replacement (a new instance id), the endpoint answering
again, calls in the gap failing with AWS's ``ServiceUnavailable``, the reason in the endpoint's
log group, and a model that keeps failing being restarted with growing delays.

How fast serving resumes is measured by ``benchmarks/bench_healing.py``, never asserted here.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sys
import time
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError
from local_server import local_route, make_client

from .conftest import BUCKET, MODEL_FN, archive_with, deploy, wait_status
from .test_async import deploy_async, put_input, wait_object
from .test_serverless import deploy_serverless

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="kills and freezes worker processes with POSIX signals"
)

#: Loads normally the first time; every later instance of the same deployment (a replacement)
#: takes 2 s to load, so the gap in which no instance serves is long enough to observe.
SLOW_RESTART = MODEL_FN.replace(
    "def model_fn(model_dir):",
    """def model_fn(model_dir):
    import time
    marker = os.path.join(model_dir, "started-once")
    if os.path.exists(marker):
        time.sleep(2)
    open(marker, "w").close()""",
)

#: Loads the first time only: every replacement fails its health check.
FAILS_AFTER_FIRST = MODEL_FN.replace(
    "def model_fn(model_dir):",
    """def model_fn(model_dir):
    marker = os.path.join(model_dir, "started-once")
    if os.path.exists(marker):
        raise RuntimeError("model_fn failed on purpose: this model loads only once")
    open(marker, "w").close()""",
)


@pytest.fixture(scope="module")
def urls(s3: Any) -> dict[str, str]:
    out = {}
    for name, code in (("slow-restart", SLOW_RESTART), ("fails-after-first", FAILS_AFTER_FIRST)):
        key = f"models/{name}/model.tar.gz"
        s3.put_object(Bucket=BUCKET, Key=key, Body=archive_with(code))
        out[name] = f"s3://{BUCKET}/{key}"
    return out


@pytest.fixture(scope="module")
def logs(local_sm: str) -> Any:
    return make_client("logs", local_sm)


def instances(url: str, name: str) -> list[dict[str, Any]]:
    return list(local_route(url, f"/_local/endpoints/{name}")["Instances"])


def poll(predicate: Callable[[], Any], timeout: float = 60.0) -> Any:
    """Call ``predicate`` until it returns something truthy (short interval, bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)


def invoke(runtime: Any, name: str) -> dict[str, Any]:
    return runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,1\n2,2")


def answers(runtime: Any, name: str) -> bool:
    try:
        invoke(runtime, name)
    except ClientError as err:
        assert err.response["Error"]["Code"] == "ServiceUnavailable", err.response
        return False
    return True


def log_lines(local_sm: str, logs: Any, name: str, pattern: str) -> list[str]:
    local_route(local_sm, "/_local/flush")
    events = logs.filter_log_events(
        logGroupName=f"/aws/sagemaker/Endpoints/{name}", filterPattern=f'"{pattern}"'
    )["events"]
    return [e["message"] for e in sorted(events, key=lambda e: e["timestamp"])]


def replaced(local_sm: str, name: str, old_id: str) -> dict[str, Any] | None:
    """The one live instance of ``name``, once it is not ``old_id``."""
    live = [i for i in instances(local_sm, name) if i["Alive"]]
    if len(live) == 1 and live[0]["InstanceId"] != old_id:
        return live[0]
    return None


def test_killed_worker_is_replaced_and_the_endpoint_stays_in_service(
    sm: Any, runtime: Any, local_sm: str, logs: Any, urls: dict[str, str]
) -> None:
    name = deploy(sm, urls["slow-restart"])
    wait_status(sm, name, {"InService"})
    invoke(runtime, name)
    [old] = instances(local_sm, name)

    os.kill(old["Pid"], signal.SIGKILL)
    # The replacement loads for 2 s: calls in that gap fail fast with AWS's error.
    with pytest.raises(ClientError) as gap:
        poll(lambda: not answers(runtime, name) and invoke(runtime, name), timeout=10)
    assert gap.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert gap.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503

    def serving_again() -> bool:
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        return answers(runtime, name)

    poll(serving_again)
    new = poll(lambda: replaced(local_sm, name, old["InstanceId"]))
    assert new["Pid"] != old["Pid"]
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    why = poll(lambda: log_lines(local_sm, logs, name, f"instance {old['InstanceId']} was killed"))
    assert "was killed by SIGKILL; it receives no more requests" in why[0]
    streams = {
        s["logStreamName"]
        for s in logs.describe_log_streams(logGroupName=f"/aws/sagemaker/Endpoints/{name}")[
            "logStreams"
        ]
    }
    assert {f"AllTraffic/{old['InstanceId']}", f"AllTraffic/{new['InstanceId']}"} <= streams
    sm.delete_endpoint(EndpointName=name)


def test_hung_worker_is_replaced(
    sm: Any, runtime: Any, local_sm: str, logs: Any, model_urls: dict[str, str]
) -> None:
    name = deploy(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    [old] = instances(local_sm, name)
    os.kill(old["Pid"], signal.SIGSTOP)  # alive, but answers nothing: only /ping can tell
    try:
        new = poll(lambda: replaced(local_sm, name, old["InstanceId"]))
        poll(lambda: answers(runtime, name))
        assert new["Pid"] != old["Pid"]
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
        why = poll(lambda: log_lines(local_sm, logs, name, "health checks in a row"))
        assert f"instance {old['InstanceId']} failed 3 health checks in a row" in why[0]
    finally:
        with contextlib.suppress(ProcessLookupError):  # gone already, as it should be
            os.kill(old["Pid"], signal.SIGCONT)
    sm.delete_endpoint(EndpointName=name)


def test_a_model_that_keeps_failing_is_restarted_with_backoff(
    sm: Any, runtime: Any, local_sm: str, logs: Any, urls: dict[str, str]
) -> None:
    name = deploy(sm, urls["fails-after-first"])
    wait_status(sm, name, {"InService"})
    [old] = instances(local_sm, name)
    os.kill(old["Pid"], signal.SIGKILL)

    def delays() -> list[float]:
        lines = log_lines(local_sm, logs, name, "the next replacement starts in")
        found = [float(m.group(1)) for m in map(re.compile(r"starts in ([\d.]+) s").search, lines) if m]
        return found if len(found) >= 3 else []

    announced = poll(delays, timeout=30)
    assert announced[:3] == [1.0, 2.0, 4.0], announced  # doubling, not a tight loop
    # Meanwhile the endpoint is InService, calls fail fast, and the model's own error is logged.
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    assert not answers(runtime, name)
    assert log_lines(local_sm, logs, name, "this model loads only once")
    sm.delete_endpoint(EndpointName=name)
    wait_gone(sm, name)


def wait_gone(sm: Any, name: str) -> None:
    def gone() -> bool:
        try:
            sm.describe_endpoint(EndpointName=name)
        except ClientError:
            return True
        return False

    poll(gone)


def test_provisioned_serverless_worker_is_replaced(
    sm: Any, runtime: Any, local_sm: str, model_urls: dict[str, str]
) -> None:
    name = deploy_serverless(sm, model_urls["default"], provisioned=1)
    wait_status(sm, name, {"InService"})
    [old] = instances(local_sm, name)
    os.kill(old["Pid"], signal.SIGKILL)
    new = poll(lambda: replaced(local_sm, name, old["InstanceId"]))
    assert new["Pid"] != old["Pid"]
    invoke(runtime, name)
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    sm.delete_endpoint(EndpointName=name)


def test_async_worker_is_replaced_and_queued_requests_are_served(
    sm: Any, runtime: Any, local_sm: str, s3: Any, urls: dict[str, str]
) -> None:
    name = deploy_async(sm, urls["slow-restart"])
    wait_status(sm, name, {"InService"})
    [old] = instances(local_sm, name)
    os.kill(old["Pid"], signal.SIGKILL)
    # Sent while the replacement loads: it waits in the queue, then the new instance serves it.
    sent = runtime.invoke_endpoint_async(
        EndpointName=name, InputLocation=put_input(s3, b"1,1\n2,2"), ContentType="text/csv"
    )
    assert wait_object(s3, sent["OutputLocation"], timeout=60)
    assert replaced(local_sm, name, old["InstanceId"])
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "InService"
    sm.delete_endpoint(EndpointName=name)
