"""Transform jobs end to end: boto3 -> local SageMaker -> worker processes -> S3 ``.out`` objects.

Each test writes a few small objects to the local S3, runs one job and reads back what AWS would
leave: statuses, FailureReason, the ``.out`` objects and the job's CloudWatch log lines.
"""

from __future__ import annotations

import gzip
import json
import re
import time
import urllib.request
import uuid
from typing import Any

import botocore.exceptions
import psutil
import pytest
from job_helpers import BUCKET, ROLE, unique, wait_job
from local_server import local_route

CSV_ROWS = ["1,2,3", "4,5,6", "0,0,1"]  # sums 6, 15, 1


def put(s3: Any, prefix: str, objects: dict[str, bytes]) -> str:
    for name, body in objects.items():
        s3.put_object(Bucket=BUCKET, Key=f"{prefix}/{name}", Body=body)
    return f"s3://{BUCKET}/{prefix}/"


def read(s3: Any, prefix: str) -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/").get("Contents", [])
    return {
        o["Key"][len(prefix) + 1 :]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read()
        for o in listed
    }


def job_request(
    model: str, input_uri: str, output_uri: str, *, content_type: str = "text/csv", **extra: Any
) -> dict[str, Any]:
    request: dict[str, Any] = {
        "TransformJobName": unique("tj"),
        "ModelName": model,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": input_uri}},
            "ContentType": content_type,
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": output_uri,
            "Accept": content_type,
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(request.get(key), dict):
            request[key] = {**request[key], **value}
        else:
            request[key] = value
    return request


def run(sm: Any, request: dict[str, Any]) -> dict[str, Any]:
    arn = sm.create_transform_job(**request)["TransformJobArn"]
    assert arn.endswith(":transform-job/" + request["TransformJobName"].lower())
    return wait_job(sm, request["TransformJobName"])


def progress(url: str, name: str) -> dict[str, Any]:
    return local_route(url, f"/_local/transform-jobs/{name}")


#: The job's own lines start with AWS's UTC timestamp: 2020-03-24T07:41:22.833:[sagemaker logs]: …
AGENT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}:(\[sagemaker logs\]: .*)$")


def agent_lines(lines: list[str]) -> list[str]:
    """The ``[sagemaker logs]`` lines without their timestamp (each must carry one)."""
    found = [AGENT_LINE.match(line) for line in lines]
    assert all(found), [line for line, m in zip(lines, found, strict=True) if not m]
    return [m.group(1) for m in found if m]


def log_lines(url: str, logs: Any, name: str) -> dict[str, list[str]]:
    local_route(url, "/_local/flush")
    streams = logs.describe_log_streams(
        logGroupName="/aws/sagemaker/TransformJobs", logStreamNamePrefix=name + "/"
    )["logStreams"]
    return {
        s["logStreamName"]: [
            e["message"]
            for e in logs.get_log_events(
                logGroupName="/aws/sagemaker/TransformJobs", logStreamName=s["logStreamName"]
            )["events"]
        ]
        for s in streams
    }


def prefix() -> str:
    return f"t-{uuid.uuid4().hex[:8]}"


# -- happy paths ----------------------------------------------------------------------------------


def test_csv_lines_complete_with_statuses_and_shapes(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv": "\n".join(CSV_ROWS).encode() + b"\n"})
    request = job_request(model, uri, f"s3://{BUCKET}/{p}/out")
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["_seen"][0] == "InProgress"
    assert "FailureReason" not in described
    assert described["TransformEndTime"] >= described["TransformStartTime"]
    assert described["MaxPayloadInMB"] == 6
    assert described["ModelClientConfig"] == {
        "InvocationsTimeoutInSeconds": 600,
        "InvocationsMaxRetries": 3,
    }
    assert read(s3, p + "/out") == {"a.csv.out": b"6,big\n15,big\n1,small\n"}
    listed = sm.list_transform_jobs(NameContains=request["TransformJobName"])
    assert [j["TransformJobStatus"] for j in listed["TransformJobSummaries"]] == ["Completed"]


def test_csv_id_column_input_filter_join_output_filter(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    body = b"".join(f"id-{n},{row}\n".encode() for n, row in enumerate(CSV_ROWS))
    uri = put(s3, p + "/in", {"ids.csv": body})
    request = job_request(
        model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-1]"},
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert described["DataProcessing"]["OutputFilter"] == "$[0,-1]"
    assert read(s3, p + "/out")["ids.csv.out"] == b"id-0,big\nid-1,big\nid-2,small\n"


def test_csv_quoted_cells_take_the_same_path(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    body = b'"id,0",1,2,3\n"id ""1""",4,5,6\n'
    uri = put(s3, p + "/in", {"q.csv": body})
    request = job_request(
        model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input", "OutputFilter": "$[0,-2:]"},
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert read(s3, p + "/out")["q.csv.out"] == b'"id,0",6,big\n"id ""1""",15,big\n'


def test_jsonlines_join_and_filters(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    lines = [{"id": "a", "x": [1, 2]}, {"id": "b", "x": [3, 4]}]
    body = b"".join(json.dumps(line).encode() + b"\n" for line in lines)
    uri = put(s3, p + "/in", {"r.jsonl": body})
    request = job_request(
        model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        content_type="application/jsonlines",
        DataProcessing={"JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"},
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    out = read(s3, p + "/out")["r.jsonl.out"].decode().splitlines()
    assert [json.loads(line) for line in out] == [
        {"id": "a", "SageMakerOutput": {"sum": 3}},
        {"id": "b", "SageMakerOutput": {"sum": 7}},
    ]


def test_gzip_input_is_decompressed(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv.gz": gzip.compress("\n".join(CSV_ROWS).encode())})
    request = job_request(
        model, uri, f"s3://{BUCKET}/{p}/out", TransformInput={"CompressionType": "Gzip"}
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert read(s3, p + "/out") == {"a.csv.gz.out": b"6,big\n15,big\n1,small\n"}


def test_single_vs_multi_record_request_counts(sm: Any, s3: Any, model: str, local_sm: str) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv": "\n".join(CSV_ROWS * 4).encode()})
    counts = {}
    for strategy in ("MultiRecord", "SingleRecord"):
        request = job_request(model, uri, f"s3://{BUCKET}/{p}/{strategy}", BatchStrategy=strategy)
        described = run(sm, request)
        assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
        counts[strategy] = progress(local_sm, request["TransformJobName"])["Requests"]
        assert read(s3, f"{p}/{strategy}")["a.csv.out"].count(b"\n") == 12
    assert counts == {"MultiRecord": 1, "SingleRecord": 12}


def test_two_instances_split_the_files(
    sm: Any, s3: Any, model: str, local_sm: str, logs: Any
) -> None:
    p = prefix()
    files = {f"part-{n}.csv": f"{n},1\n".encode() for n in range(4)}
    uri = put(s3, p + "/in", files)
    request = job_request(
        model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        TransformResources={"InstanceCount": 2},
        MaxConcurrentTransforms=2,
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Completed", described.get("FailureReason")
    assert sorted(read(s3, p + "/out")) == [f"part-{n}.csv.out" for n in range(4)]
    state = progress(local_sm, request["TransformJobName"])
    assert [i["ObjectsAssigned"] for i in state["Instances"]] == [2, 2]
    assert state["ObjectsCompleted"] == 4 and state["RecordsCompleted"] == 4
    streams = log_lines(local_sm, logs, request["TransformJobName"])
    # per instance, AWS's two streams: <job>/<instance id>-<epoch> and the same + /data-log
    name = re.escape(request["TransformJobName"])
    containers = [s for s in streams if re.fullmatch(name + r"/i-[0-9a-f]+-\d{10}", s)]
    assert len(containers) == 2 and len(streams) == 4, sorted(streams)
    for stream in containers:
        assert any("POST /invocations" in line for line in streams[stream])
        assert not any("[sagemaker logs]" in line for line in streams[stream])
        assert (
            "[sagemaker logs]: MaxConcurrentTransforms=2, MaxPayloadInMB=6, "
            "BatchStrategy=MULTI_RECORD" in agent_lines(streams[stream + "/data-log"])
        )


# -- failures -------------------------------------------------------------------------------------


def test_header_row_fails_the_job_and_logs_why(
    sm: Any, s3: Any, model: str, local_sm: str, logs: Any
) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"with-header.csv": b"a,b,c\n" + "\n".join(CSV_ROWS).encode()})
    request = job_request(model, uri, f"s3://{BUCKET}/{p}/out")
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == "AlgorithmError: See job logs for more information"
    assert read(s3, p + "/out") == {}
    streams = log_lines(local_sm, logs, request["TransformJobName"])
    (data_log,) = (s for s in streams if s.endswith("/data-log"))
    container = streams[data_log.removesuffix("/data-log")]
    lines = agent_lines(streams[data_log])
    key = f"{BUCKET}/{p}/in/with-header.csv"
    assert (
        "[sagemaker logs]: MaxConcurrentTransforms=1, MaxPayloadInMB=6, "
        "BatchStrategy=MULTI_RECORD" in lines
    )
    assert f"[sagemaker logs]: {key}: Bad HTTP status received from algorithm: 500" in lines
    assert f"[sagemaker logs]: {key}: Message:" in lines
    # the handler's exception is in the container's own stream, not in data-log
    assert any("could not convert string to float: 'a'" in line for line in container)
    # InvocationsMaxRetries=3 by default: 4 attempts
    assert progress(local_sm, request["TransformJobName"])["Requests"] == 4


def test_one_bad_file_gets_no_out_the_others_finish(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    files = {
        "1-good.csv": b"1,1\n",
        "2-bad.csv": b"1,oops\n",
        "3-good.csv": b"2,2\n",
    }
    uri = put(s3, p + "/in", files)
    request = job_request(
        model, uri, f"s3://{BUCKET}/{p}/out", ModelClientConfig={"InvocationsMaxRetries": 0}
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("AlgorithmError")
    assert read(s3, p + "/out") == {"1-good.csv.out": b"2,small\n", "3-good.csv.out": b"4,small\n"}


def test_unreadable_objects_are_logged_by_their_instance_the_others_finish(
    sm: Any, s3: Any, model: str, local_sm: str, logs: Any
) -> None:
    """Each instance's first object is read while the instances start (read ahead): a read
    that failed then is reported when the instance comes to it, as a read of its own would be."""
    p = prefix()
    put(s3, p + "/in", {"2-good.csv": b"1,1\n", "3-good.csv": b"2,2\n"})
    manifest = [{"prefix": f"s3://{BUCKET}/{p}/in/"}, "0-gone.csv", "1-gone.csv", "2-good.csv",
                "3-good.csv"]
    s3.put_object(Bucket=BUCKET, Key=f"{p}/manifest.json", Body=json.dumps(manifest).encode())
    request = job_request(
        model, "", f"s3://{BUCKET}/{p}/out", TransformResources={"InstanceCount": 2}
    )
    request["TransformInput"]["DataSource"]["S3DataSource"] = {
        "S3DataType": "ManifestFile", "S3Uri": f"s3://{BUCKET}/{p}/manifest.json"
    }
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Failed"
    # the first instance to report its failure names the job's FailureReason
    assert described["FailureReason"] in {
        f"ClientError: Unable to read s3://{BUCKET}/{p}/in/{n}-gone.csv from S3. Check that the "
        "object exists and that the role passed to CreateModel can read it."
        for n in (0, 1)
    }
    assert read(s3, p + "/out") == {"2-good.csv.out": b"2,small\n", "3-good.csv.out": b"4,small\n"}
    state = progress(local_sm, request["TransformJobName"])
    assert state["ObjectsFailed"] == 2 and state["ObjectsCompleted"] == 2
    streams = log_lines(local_sm, logs, request["TransformJobName"])
    data_logs = sorted(agent_lines(streams[s]) for s in streams if s.endswith("/data-log"))
    # objects are dealt round-robin in key order: each instance's first one is gone
    assert [lines[1:] for lines in data_logs] == sorted(
        [f"[sagemaker logs]: {BUCKET}/{p}/in/{n}-gone.csv: Unable to read the object from S3 "
         "(NoSuchKey)."]
        for n in (0, 1)
    )
    assert all(lines[0].startswith("[sagemaker logs]: MaxConcurrentTransforms=") for lines in data_logs)


def test_data_error_is_a_client_error(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv": b"1,2\n"})
    request = job_request(
        model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        DataProcessing={"InputFilter": "$[5]"},  # outside the 2-column rows
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"].startswith("ClientError: ")


def test_an_empty_prefix_is_refused_at_create(sm: Any, model: str) -> None:
    uri = f"s3://{BUCKET}/{prefix()}/nothing/"
    request = job_request(model, uri, f"s3://{BUCKET}/x")
    with pytest.raises(botocore.exceptions.ClientError) as refused:
        sm.create_transform_job(**request)
    error = refused.value.response["Error"]
    assert error["Code"] == "ValidationException"
    assert error["Message"] == (
        f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure '
        "that the bucket exists in the selected region (us-east-1), that objects exist under "
        f'that S3 prefix, and that the role "{ROLE}" has "s3:ListBucket" permissions on bucket '
        f'"{BUCKET}".'
    )
    with pytest.raises(botocore.exceptions.ClientError, match="Could not find requested job"):
        sm.describe_transform_job(TransformJobName=request["TransformJobName"])


def test_request_without_an_answer_in_time_is_logged_as_aws_logs_it(
    sm: Any, s3: Any, slow_model: str, local_sm: str, logs: Any
) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv": b"1,1\n"})
    request = job_request(
        slow_model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        ModelClientConfig={"InvocationsTimeoutInSeconds": 1, "InvocationsMaxRetries": 0},
    )
    described = run(sm, request)
    assert described["TransformJobStatus"] == "Failed"
    assert described["FailureReason"] == "AlgorithmError: See job logs for more information"
    assert read(s3, p + "/out") == {}
    streams = log_lines(local_sm, logs, request["TransformJobName"])
    (data_log,) = (s for s in streams if s.endswith("/data-log"))
    key = f"{BUCKET}/{p}/in/a.csv"
    assert f"[sagemaker logs]: {key}: Unable to get response from algorithm" in agent_lines(
        streams[data_log]
    )


def test_stop_keeps_no_output(sm: Any, s3: Any, slow_model: str) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv": b"1,1\n"})
    request = job_request(slow_model, uri, f"s3://{BUCKET}/{p}/out")
    sm.create_transform_job(**request)
    sm.stop_transform_job(TransformJobName=request["TransformJobName"])
    status = sm.describe_transform_job(TransformJobName=request["TransformJobName"])
    assert status["TransformJobStatus"] in ("Stopping", "Stopped")
    described = wait_job(sm, request["TransformJobName"], timeout=20)
    assert described["TransformJobStatus"] == "Stopped"
    assert read(s3, p + "/out") == {}
    # stopping again is harmless
    sm.stop_transform_job(TransformJobName=request["TransformJobName"])


def _agents(url: str) -> list[psutil.Process]:
    """The batch agent processes the gateway at ``url`` runs now."""
    with urllib.request.urlopen(f"{url}/_local/health") as response:
        gateway = psutil.Process(json.loads(response.read())["pid"])
    return [
        p
        for p in gateway.children(recursive=True)
        if "utils.local_sagemaker.services.transform.agent" in " ".join(p.cmdline())
    ]


def test_stop_with_data_processing_stops_the_agents(
    sm: Any, s3: Any, slow_model: str, local_sm: str
) -> None:
    p = prefix()
    # a needlessly quoted field: csv.writer writes it bare, so the record is parsed, in the agent
    uri = put(s3, p + "/in", {"a.csv": b'"id",1,1\n'})
    request = job_request(
        slow_model,
        uri,
        f"s3://{BUCKET}/{p}/out",
        DataProcessing={"InputFilter": "$[1:]", "JoinSource": "Input"},
    )
    sm.create_transform_job(**request)
    name = request["TransformJobName"]
    deadline, delay = time.monotonic() + 60, 0.02
    while progress(local_sm, name)["Requests"] == 0:  # until the agent prepared the object
        assert time.monotonic() < deadline, "the job never sent a request"
        time.sleep(delay)
        delay = min(delay * 2, 0.2)
    assert len(_agents(local_sm)) == 1
    sm.stop_transform_job(TransformJobName=name)
    assert wait_job(sm, name, timeout=20)["TransformJobStatus"] == "Stopped"
    assert read(s3, p + "/out") == {}
    assert _agents(local_sm) == []


# -- API errors -----------------------------------------------------------------------------------


def test_name_stays_taken_after_the_job_ends(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    uri = put(s3, p + "/in", {"a.csv": b"1,1\n"})
    request = job_request(model, uri, f"s3://{BUCKET}/{p}/out")
    assert run(sm, request)["TransformJobStatus"] == "Completed"
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.create_transform_job(**request)
    assert raised.value.response["Error"]["Code"] == "ResourceInUse"
    assert "already exists" in raised.value.response["Error"]["Message"]
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.stop_transform_job(TransformJobName=request["TransformJobName"])
    assert raised.value.response["Error"]["Code"] == "ValidationException"


def test_unknown_job_and_missing_model(sm: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.describe_transform_job(TransformJobName="no-such-job")
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert raised.value.response["Error"]["Message"] == (
        "Could not find requested job with name no-such-job"
    )
    request = job_request("no-such-model", f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out")
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.create_transform_job(**request)
    assert raised.value.response["Error"]["Message"] == (
        'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/no-such-model".'
    )


def test_validation_comes_from_the_transform_library(sm: Any, model: str) -> None:
    request = job_request(
        model, f"s3://{BUCKET}/in/", f"s3://{BUCKET}/out", MaxConcurrentTransforms=20
    )
    with pytest.raises(botocore.exceptions.ClientError) as raised:
        sm.create_transform_job(**request)
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "MaxConcurrentTransforms (20) and MaxPayloadInMB (6)" in str(raised.value)


def test_role_is_not_needed_but_tags_are_kept(sm: Any, s3: Any, model: str) -> None:
    p = prefix()
    s3.put_object(Bucket=BUCKET, Key=f"{p}/a.csv", Body=b"1,2\n")
    request = job_request(
        model, f"s3://{BUCKET}/{p}/", f"s3://{BUCKET}/{p}-out", Tags=[{"Key": "k", "Value": "v"}]
    )
    arn = sm.create_transform_job(**request)["TransformJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "k", "Value": "v"}]
    wait_job(sm, request["TransformJobName"])
    assert ROLE  # the execution role belongs to the model, not the job
