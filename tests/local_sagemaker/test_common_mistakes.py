"""Each mistake of notebook 07, asserted against the local SageMaker.

The notebook teaches by showing the symptom a learner meets on AWS: an exact error code and
message, a timeout, a throttle, a failed health check with its log line. If a change to the local
SageMaker hid one of them (a friendlier error, a missing limit), the lesson would be wrong; these
tests fail first.
"""

from __future__ import annotations

import importlib.util
import json
import os
import time
from types import SimpleNamespace
from typing import Any

import botocore.exceptions
import pytest
from local_server import INVOCATION_TIMEOUT, local_route

from utils import data, mistakes
from utils.artifact import SERVING_ENVIRONMENT, package_model
from utils.asynchronous import wait_for_result
from utils.local_sagemaker.container.libraries import scikit_learn_version_for_image

from .conftest import BUCKET, MODEL_FN, ROLE, archive_with, make_client, unique, wait_status

IMAGE_1_4 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
IMAGE_1_2 = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"
PING_FAILURE = (
    "The primary container for production variant AllTraffic did not pass the ping health check. "
    "Please check CloudWatch logs for this endpoint."
)
HAS_SERVERLESS = importlib.util.find_spec("utils.local_sagemaker.services.serverless") is not None
HAS_ASYNC = (
    importlib.util.find_spec("utils.local_sagemaker.services.async_inference") is not None
)


# --- fixtures ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loan_model(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from utils.model import train_model

    return train_model(seed=0)


@pytest.fixture(scope="module")
def archives(s3: Any, loan_model: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """S3 URLs of the tutorial's archive, the default-handler one and the slow one."""
    root = tmp_path_factory.mktemp("mistakes")
    built = {
        "loan": package_model(loan_model.pipeline, root / "loan"),
        "default": mistakes.package_default_handler_model(root / "default"),
        "slow": mistakes.package_slow_model(loan_model.pipeline, root / "slow"),
    }
    urls = {}
    for kind, path in built.items():
        key = f"mistakes/{kind}/model.tar.gz"
        s3.upload_file(str(path), BUCKET, key)
        urls[kind] = f"s3://{BUCKET}/{key}"
    return urls


def _create(
    sm: Any,
    model_url: str,
    image: str = IMAGE_1_4,
    env: dict[str, str] | None = None,
    variant: dict[str, Any] | None = None,
    extra: dict[str, Any] | None = None,
) -> str:
    name = unique("mistake")
    container: dict[str, Any] = {
        "Image": image, "ModelDataUrl": model_url,
        "Environment": {**SERVING_ENVIRONMENT, **(env or {})},
    }
    sm.create_model(ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE)
    production = {"VariantName": "AllTraffic", "ModelName": name}
    production.update(variant or {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1})
    sm.create_endpoint_config(
        EndpointConfigName=name, ProductionVariants=[production], **(extra or {})
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    return name


@pytest.fixture(scope="module")
def loan_endpoint(sm: Any, archives: dict[str, str]) -> str:
    name = _create(sm, archives["loan"])
    wait_status(sm, name, {"InService"})
    return name


@pytest.fixture(scope="module")
def default_endpoint(sm: Any, archives: dict[str, str]) -> str:
    name = _create(sm, archives["default"])
    wait_status(sm, name, {"InService"})
    return name


def _client_error(call: Any) -> dict[str, Any]:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call()
    return excinfo.value.response


def _log_messages(
    local_sm: str, logs: Any, endpoint: str, contains: str, group: str | None = None
) -> list[str]:
    """Messages of the endpoint's log group (or ``group``, filtered to streams named after
    ``endpoint``) with ``contains``, once logs are shipped; empty if none came within 30 s.

    The flush ships what the gateway has read from the workers so far; the container's line
    may still be in its pipe when the caller already has its answer (seen on a busy machine),
    so the read is repeated until a matching line is there, as the lessons' readers do.
    """
    deadline, delay = time.monotonic() + 30.0, 0.05
    while True:
        local_route(local_sm, "/_local/flush")
        pages = logs.get_paginator("filter_log_events").paginate(
            logGroupName=group or f"/aws/sagemaker/Endpoints/{endpoint}",
            **({"logStreamNamePrefix": endpoint + "/"} if group else {}),
        )
        messages = []
        for page in pages:
            messages += [e["message"] for e in page["events"] if contains in e["message"]]
        if messages or time.monotonic() > deadline:
            return messages
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


@pytest.fixture(scope="module")
def logs(local_sm: str) -> Any:
    return make_client("logs", local_sm)


# --- reusing a name --------------------------------------------------------------------------------


def test_reusing_an_endpoint_name_fails_and_update_endpoint_works(
    sm: Any, archives: dict[str, str], loan_endpoint: str
) -> None:
    error = _client_error(
        lambda: sm.create_endpoint(EndpointName=loan_endpoint, EndpointConfigName=loan_endpoint)
    )
    assert error["Error"]["Code"] == "ValidationException"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert error["Error"]["Message"] == (
        f'Cannot create already existing endpoint "arn:aws:sagemaker:us-east-1:123456789012:'
        f'endpoint/{loan_endpoint}".'
    )
    error = _client_error(
        lambda: sm.create_endpoint_config(
            EndpointConfigName=loan_endpoint,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": loan_endpoint,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    )
    assert error["Error"]["Message"].startswith(
        "Cannot create already existing endpoint configuration "
    )
    second = unique("cfg")
    sm.create_endpoint_config(
        EndpointConfigName=second,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": loan_endpoint,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.update_endpoint(EndpointName=loan_endpoint, EndpointConfigName=second)
    described = wait_status(sm, loan_endpoint, {"InService"})
    assert described["EndpointConfigName"] == second


# --- version mismatch ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("image", "version"),
    [
        (IMAGE_1_2, "1.2.1"),
        (IMAGE_1_4, "1.4.2"),
        ("sagemaker-scikit-learn:1.0-1-cpu-py3", "1.0.2"),
        ("123.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-scikit-learn:0.23-1-cpu-py3", "0.23.2"),
        ("sagemaker-scikit-learn:9.9-9-cpu-py3", None),  # unknown tag: no emulation
        ("sklearn-inference:1.2-1", None),  # not the AWS scikit-learn image
        ("", None),
    ],
)
def test_image_tags_map_to_the_container_scikit_learn(image: str, version: str | None) -> None:
    assert scikit_learn_version_for_image(image) == version


def test_library_mismatch_fails_the_ping_health_check(
    sm: Any, logs: Any, local_sm: str, archives: dict[str, str]
) -> None:
    name = _create(sm, archives["loan"], image=IMAGE_1_2)
    described = wait_status(sm, name, {"InService", "Failed"})
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == PING_FAILURE
    lines = _log_messages(local_sm, logs, name, "scikit-learn version mismatch")
    assert lines, "the model_fn's reason must be in CloudWatch Logs"
    assert (
        "this model was trained with scikit-learn 1.4.2, but this container runs scikit-learn "
        "1.2.1" in lines[-1]
    )
    sm.delete_endpoint(EndpointName=name)


def test_library_mismatch_fails_a_transform_job_too(
    sm: Any, s3: Any, logs: Any, local_sm: str, archives: dict[str, str]
) -> None:
    """Transform instances run the same container emulation as endpoint instances."""
    name = unique("mistake")
    sm.create_model(
        ModelName=name,
        PrimaryContainer={"Image": IMAGE_1_2, "ModelDataUrl": archives["loan"],
                          "Environment": SERVING_ENVIRONMENT},
        ExecutionRoleArn=ROLE,
    )
    body = data.to_csv_rows(data.generate_applications(2, seed=3))
    s3.put_object(Bucket=BUCKET, Key=f"mistakes/{name}/in/rows.csv", Body=body)
    sm.create_transform_job(
        TransformJobName=name,
        ModelName=name,
        TransformInput={
            "DataSource": {
                "S3DataSource": {
                    "S3DataType": "S3Prefix",
                    "S3Uri": f"s3://{BUCKET}/mistakes/{name}/in/",
                }
            },
            "ContentType": "text/csv",
            "SplitType": "Line",
        },
        TransformOutput={"S3OutputPath": f"s3://{BUCKET}/mistakes/{name}/out/"},
        TransformResources={"InstanceType": "ml.m5.large", "InstanceCount": 1},
    )
    deadline, delay = time.monotonic() + 120, 0.05
    while True:
        described = sm.describe_transform_job(TransformJobName=name)
        if described["TransformJobStatus"] in ("Completed", "Failed", "Stopped"):
            break
        assert time.monotonic() < deadline, described["TransformJobStatus"]
        time.sleep(delay)  # polling the job's status, with a growing interval
        delay = min(delay * 2, 1.0)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == (
        "AlgorithmError: Model container failed to respond to ping. Please ensure /ping endpoint "
        "is implemented and responds with an HTTP 200 status code"
    )
    lines = _log_messages(
        local_sm, logs, name, "scikit-learn version mismatch", "/aws/sagemaker/TransformJobs"
    )
    assert lines, "the model_fn's reason must be in the job's container log"
    assert (
        "this model was trained with scikit-learn 1.4.2, but this container runs scikit-learn "
        "1.2.1" in lines[-1]
    )
    assert "Contents" not in s3.list_objects_v2(Bucket=BUCKET, Prefix=f"mistakes/{name}/out/")


# --- input that does not match the model -----------------------------------------------------------


def _rows(n: int, numeric_only: bool = False) -> Any:
    frame = data.generate_applications(n, seed=3)
    return frame[data.NUMERIC_COLUMNS] if numeric_only else frame[data.FEATURE_COLUMNS]


@pytest.mark.parametrize(
    ("case", "log_text"),
    [
        # numpy 2.1 (the 1.4-2-py312 image's) quotes the cell as np.str_('...')
        ("header", "could not convert string to float: np.str_('duration_in_month')"),
        ("single_row", "Expected 2D array, got 1D array instead"),
        ("label", "X has 8 features, but LogisticRegression is expecting 7 features as input."),
        ("charset", "Content type text/csv; charset=utf-8 is not supported by this framework."),
    ],
)
def test_default_handlers_give_the_raw_errors(
    runtime: Any, logs: Any, local_sm: str, default_endpoint: str, case: str, log_text: str
) -> None:
    rows = _rows(2, numeric_only=True)
    content_type = "text/csv"
    if case == "header":
        body = rows.to_csv(index=False)
    elif case == "single_row":
        body = rows.head(1).to_csv(index=False, header=False)
    elif case == "label":
        body = rows.assign(creditability=1).to_csv(index=False, header=False)
    else:
        body, content_type = rows.to_csv(index=False, header=False), "text/csv; charset=utf-8"
    error = _client_error(
        lambda: runtime.invoke_endpoint(
            EndpointName=default_endpoint, ContentType=content_type, Body=body
        )
    )
    assert error["Error"]["Code"] == "ModelError"
    assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
    assert error["OriginalStatusCode"] == 500
    assert error["Error"]["Message"].startswith("Received server error (500) from primary")
    assert _log_messages(local_sm, logs, default_endpoint, log_text)
    # the same rows without the mistake are answered
    good = rows.to_csv(index=False, header=False)
    response = runtime.invoke_endpoint(
        EndpointName=default_endpoint, ContentType="text/csv", Body=good
    )
    assert response["Body"].read().decode().count('"') == 4  # ["good", "bad"]-like labels


@pytest.mark.parametrize(
    ("case", "container_text"),
    [
        ("header", "the first row looks like a header"),
        ("label", "is the label column (creditability) still in? Drop it before sending."),
        ("id", 'a transform job drops a leading ID column with InputFilter "$[1:]"'),
    ],
)
def test_the_tutorial_handlers_say_what_is_wrong(
    runtime: Any, logs: Any, local_sm: str, loan_endpoint: str, case: str, container_text: str
) -> None:
    frame = data.generate_applications(2, seed=3)
    features = frame[data.FEATURE_COLUMNS]
    if case == "header":
        body = features.to_csv(index=False)
    elif case == "label":
        body = features.assign(creditability="good").to_csv(index=False, header=False)
    else:
        body = frame[["application_id", *data.FEATURE_COLUMNS]].to_csv(index=False, header=False)
    error = _client_error(
        lambda: runtime.invoke_endpoint(
            EndpointName=loan_endpoint, ContentType="text/csv", Body=body
        )
    )
    # The caller sees the generic 500 page; the handler's own words are in the log.
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 500
    assert _log_messages(local_sm, logs, loan_endpoint, container_text)


def test_the_tutorial_handlers_accept_a_charset(runtime: Any, loan_endpoint: str) -> None:
    body = data.to_csv_rows(data.generate_applications(1, seed=3))
    response = runtime.invoke_endpoint(
        EndpointName=loan_endpoint, ContentType="text/csv; charset=utf-8", Body=body
    )
    assert b"probability_of_default" in response["Body"].read()


# --- payload over the limit ------------------------------------------------------------------------


def test_realtime_payload_over_6_mb(runtime: Any, loan_endpoint: str) -> None:
    body = b"1" * (6 * 1024 * 1024 + 1)
    error = _client_error(
        lambda: runtime.invoke_endpoint(EndpointName=loan_endpoint, ContentType="text/csv", Body=body)
    )
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"].endswith(" has oversize body.")
    assert error["Error"]["Message"].startswith("Request ")


# --- slower than the invocation timeout --------------------------------------------------------


def test_slow_model_times_out_on_a_realtime_endpoint(
    sm: Any, local_sm: str, archives: dict[str, str]
) -> None:
    seconds = INVOCATION_TIMEOUT + 2
    name = _create(sm, archives["slow"], env={"SLOW_PREDICT_SECONDS": str(seconds)})
    wait_status(sm, name, {"InService"})
    client = make_client("sagemaker-runtime", local_sm)
    body = data.to_csv_rows(data.generate_applications(1, seed=3))
    started = time.monotonic()
    error = _client_error(
        lambda: client.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=body)
    )
    assert time.monotonic() - started < seconds
    assert error["Error"]["Code"] == "ModelError"
    assert error["OriginalStatusCode"] == 0
    assert error["Error"]["Message"].startswith(
        'Received server error (0) from primary with message "Your invocation timed out while '
        "waiting for a response from container primary."
    )
    sm.delete_endpoint(EndpointName=name)


@pytest.mark.skipif(not HAS_ASYNC, reason="asynchronous inference has not landed")
def test_async_endpoint_is_the_fix_for_slow_models(
    sm: Any, s3: Any, local_sm: str, archives: dict[str, str]
) -> None:
    seconds = INVOCATION_TIMEOUT + 0.5  # slower than the (shortened) real-time limit
    output = f"s3://{BUCKET}/mistakes/async-out"
    name = _create(
        sm,
        archives["slow"],
        env={"SLOW_PREDICT_SECONDS": str(seconds)},
        extra={
            "AsyncInferenceConfig": {
                "OutputConfig": {"S3OutputPath": output, "S3FailurePath": output + "-failed"}
            }
        },
    )
    wait_status(sm, name, {"InService"})
    body = data.to_csv_rows(data.generate_applications(1, seed=3))
    s3.put_object(Bucket=BUCKET, Key="mistakes/async-in/one.csv", Body=body)
    client = make_client("sagemaker-runtime", local_sm)
    location = f"s3://{BUCKET}/mistakes/async-in/one.csv"
    too_short = client.invoke_endpoint_async(
        EndpointName=name, InputLocation=location, ContentType="text/csv",
        InvocationTimeoutSeconds=1,
    )
    enough = client.invoke_endpoint_async(
        EndpointName=name, InputLocation=location, ContentType="text/csv",
    )
    tut = SimpleNamespace(is_local=True, s3=s3)
    failed = wait_for_result(tut, too_short, timeout=30)
    assert not failed.ok
    assert "timed out" in failed.read(s3).decode()
    done = wait_for_result(tut, enough, timeout=30)
    assert done.ok, done.read(s3)
    assert b"probability_of_default" in done.read(s3)
    sm.delete_endpoint(EndpointName=name)


# --- serverless: cold starts, bursts, 4 MB -----------------------------------------------------


SERVERLESS = {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 1}}


#: A model that takes seconds to load, as real models do: what makes a serverless cold start long.
#: The sleep is wall time, so the cold start outlasts the strict timeout however busy the machine.
SLOW_LOAD = MODEL_FN + """
import time
_load = model_fn
def model_fn(model_dir):
    time.sleep(6)
    return _load(model_dir)
"""


@pytest.mark.skipif(not HAS_SERVERLESS, reason="serverless inference has not landed")
def test_serverless_cold_start_breaks_a_strict_client_timeout_and_provisioned_fixes_it(
    sm: Any, s3: Any, local_sm: str
) -> None:
    s3.put_object(Bucket=BUCKET, Key="mistakes/slow-load/model.tar.gz", Body=archive_with(SLOW_LOAD))
    model_url = f"s3://{BUCKET}/mistakes/slow-load/model.tar.gz"
    cold = _create(sm, model_url, variant=SERVERLESS)
    warm = _create(
        sm,
        model_url,
        variant={
            "ServerlessConfig": {
                "MemorySizeInMB": 2048, "MaxConcurrency": 1, "ProvisionedConcurrency": 1,
            }
        },
    )
    wait_status(sm, cold, {"InService"})
    wait_status(sm, warm, {"InService"})  # the provisioned instance has loaded the model
    strict = boto_strict(local_sm, read_timeout=3)
    body = "1,1\n3,3"
    with pytest.raises(botocore.exceptions.ReadTimeoutError):
        strict.invoke_endpoint(EndpointName=cold, ContentType="text/csv", Body=body)
    assert json.loads(_first_answer(strict, warm, body, attempts=5)) == [0, 1]
    for name in (cold, warm):
        sm.delete_endpoint(EndpointName=name)


def _first_answer(client: Any, endpoint: str, body: str, attempts: int) -> bytes:
    """The first answer within the client's timeout, over a few tries.

    A warm worker answers in milliseconds, but on a machine shared with other work one call can
    take longer than a strict timeout; the call it abandoned keeps the only concurrency slot busy
    a moment, so the next try may be throttled.
    """
    for attempt in range(1, attempts + 1):
        try:
            response = client.invoke_endpoint(EndpointName=endpoint, ContentType="text/csv", Body=body)
            return bytes(response["Body"].read())
        except (botocore.exceptions.ReadTimeoutError, botocore.exceptions.ClientError):
            if attempt == attempts:
                raise
    raise AssertionError("attempts must be at least 1")


def boto_strict(url: str, read_timeout: float) -> Any:
    return make_client(
        "sagemaker-runtime", url, read_timeout=read_timeout, retries={"total_max_attempts": 1}
    )


@pytest.mark.skipif(not HAS_SERVERLESS, reason="serverless inference has not landed")
def test_serverless_max_concurrency_throttles_a_burst_and_the_payload_limit_is_4_mb(
    sm: Any, runtime: Any, archives: dict[str, str]
) -> None:
    name = _create(
        sm, archives["slow"], env={"SLOW_PREDICT_SECONDS": "0.5"}, variant=SERVERLESS
    )
    wait_status(sm, name, {"InService"})
    body = data.to_csv_rows(data.generate_applications(1, seed=3))
    outcomes = mistakes.send_burst(runtime, name, body, clients=3)
    assert outcomes == {"ThrottlingException": 2, "ok": 1}
    error = _client_error(
        lambda: runtime.invoke_endpoint(
            EndpointName=name, ContentType="text/csv", Body=b"1" * (4 * 1024 * 1024 + 1)
        )
    )
    assert error["Error"]["Code"] == "ValidationError"
    assert error["Error"]["Message"].endswith(" has oversize body.")
    sm.delete_endpoint(EndpointName=name)


# --- forgetting to delete: the meter keeps counting --------------------------------------------


def test_a_running_endpoint_accrues_cost(local_sm: str, loan_endpoint: str) -> None:
    from utils import local_sagemaker as meter

    def billed() -> float:
        rows = meter.current_costs(local_sm)["Endpoints"]
        return sum(r["InstanceSeconds"] for r in rows if r["EndpointName"] == loan_endpoint)

    first = billed()
    deadline = time.monotonic() + 5
    while billed() <= first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert billed() > first, "an idle InService endpoint must keep accruing instance-seconds"



# --- notebook 08: clean up everything, by tags ---------------------------------------------------


def test_cleanup_everything_removes_scaling_alarms_and_tutorial_objects(
    local_sm: str, archives: dict[str, str]
) -> None:
    from utils.cleanup import cleanup, find_tagged
    from utils.session import setup

    saved = dict(os.environ)  # setup() exports the AWS settings, as in a notebook
    tut = setup(notebook="99", quiet=True)  # the session server: ensure_running finds it
    try:
        assert tut.endpoint_url == local_sm
        sm = tut.sagemaker
        name = tut.name("cleanup")
        sm.create_model(
            ModelName=name,
            PrimaryContainer={"Image": IMAGE_1_4, "ModelDataUrl": archives["loan"],
                              "Environment": SERVING_ENVIRONMENT},
            ExecutionRoleArn=ROLE, Tags=tut.tags,
        )
        sm.create_endpoint_config(
            EndpointConfigName=name, Tags=tut.tags,
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name,
                                 "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
        )
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name, Tags=tut.tags)
        wait_status(sm, name, {"InService"})
        resource = f"endpoint/{name}/variant/AllTraffic"
        dimension = "sagemaker:variant:DesiredInstanceCount"
        tut.autoscaling.register_scalable_target(
            ServiceNamespace="sagemaker", ResourceId=resource, ScalableDimension=dimension,
            MinCapacity=1, MaxCapacity=2,
        )
        tut.cloudwatch.put_metric_alarm(
            AlarmName=f"{name}-backlog", Namespace="AWS/SageMaker", MetricName="Invocations",
            Dimensions=[{"Name": "EndpointName", "Value": name}], Statistic="Sum", Period=60,
            EvaluationPeriods=1, Threshold=1.0, ComparisonOperator="GreaterThanThreshold",
        )
        tut.s3.put_object(Bucket=tut.bucket, Key="99_cleanup_test/out/x.out", Body=b"x")
        tut.s3.put_object(Bucket=tut.bucket, Key="not-the-tutorials/keep.txt", Body=b"x")
        found = find_tagged(tut)
        assert name in found.endpoints
        assert found.scalable_targets == [resource]
        assert found.alarms == [f"{name}-backlog"]
        assert "99_cleanup_test/out/x.out" in found.s3_keys
        assert "not-the-tutorials/keep.txt" not in found.s3_keys
        cleanup(tut, everything=True, quiet=True)
        left = find_tagged(tut)
        assert left.count() == 0
        assert tut.s3.get_object(Bucket=tut.bucket, Key="not-the-tutorials/keep.txt")
    finally:
        os.environ.clear()
        os.environ.update(saved)
