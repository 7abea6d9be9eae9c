"""Naming each request's operation and IAM actions for the AWS rehearsal's record."""

from __future__ import annotations

import io
import json

from utils.local_sagemaker.wire.call_log import CallLog, describe_request, read


def _environ(
    service: str, method: str = "POST", path: str = "/", body: bytes = b"", **extra: str
) -> dict:
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.input": io.BytesIO(body),
        "HTTP_AUTHORIZATION": (
            f"AWS4-HMAC-SHA256 Credential=AKIDLEARNER/20260101/us-east-1/{service}/aws4_request, "
            "SignedHeaders=host, Signature=abc"
        ),
    }
    environ.update(extra)
    return environ


def test_json_protocol_with_implied_actions_and_tags() -> None:
    body = json.dumps(
        {
            "ModelName": "loan-model-1",
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/handson-sagemaker-role",
            "Tags": [{"Key": "project", "Value": "handson-sagemaker-inference"}],
        }
    ).encode()
    environ = _environ("sagemaker", body=body, HTTP_X_AMZ_TARGET="SageMaker.CreateModel")
    entry = describe_request(environ)
    assert entry["operation"] == "CreateModel"
    assert entry["actions"] == ["sagemaker:CreateModel", "sagemaker:AddTags", "iam:PassRole"]
    assert entry["resource"] == "loan-model-1"
    assert entry["tags"] == {"project": "handson-sagemaker-inference"}
    assert entry["access_key"] == "AKIDLEARNER"
    passrole = entry["implied"][1]
    assert passrole["resource"].endswith("role/handson-sagemaker-role")
    assert passrole["context"] == {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert environ["wsgi.input"].read() == body  # the handler still gets the whole body


def test_query_protocol_and_requests_needing_no_permission() -> None:
    body = b"Action=GetRole&Version=2010-05-08&RoleName=r"
    assert describe_request(_environ("iam", body=body))["actions"] == ["iam:GetRole"]
    sts = describe_request(_environ("sts", body=b"Action=GetCallerIdentity&Version=2011-06-15"))
    assert sts["operation"] == "GetCallerIdentity" and sts["actions"] == []


def test_deleting_a_log_stream_is_authorised_on_the_stream() -> None:
    body = json.dumps(
        {"logGroupName": "/aws/sagemaker/TransformJobs", "logStreamName": "job/i-1-17/data-log"}
    ).encode()
    environ = _environ("logs", body=body, HTTP_X_AMZ_TARGET="Logs_20140328.DeleteLogStream")
    entry = describe_request(environ)
    assert entry["actions"] == ["logs:DeleteLogStream"]
    assert entry["resource"] == "/aws/sagemaker/TransformJobs:log-stream:job/i-1-17/data-log"
    group = json.dumps({"logGroupName": "/aws/sagemaker/Endpoints/ep"}).encode()
    environ = _environ("logs", body=group, HTTP_X_AMZ_TARGET="Logs_20140328.DeleteLogGroup")
    assert describe_request(environ)["resource"] == "/aws/sagemaker/Endpoints/ep"


def test_runtime_and_s3_rest_requests() -> None:
    invoke = describe_request(_environ("sagemaker", path="/endpoints/loan-1/invocations"))
    assert (invoke["operation"], invoke["actions"]) == (
        "InvokeEndpoint",
        ["sagemaker:InvokeEndpoint"],
    )
    s3 = {
        ("GET", "/b", "list-type=2"): ("ListObjectsV2", "s3:ListBucket"),
        ("HEAD", "/b", ""): ("HeadBucket", "s3:ListBucket"),
        ("PUT", "/b", ""): ("CreateBucket", "s3:CreateBucket"),
        ("PUT", "/b/k/x.csv", ""): ("PutObject", "s3:PutObject"),
        ("HEAD", "/b/k", ""): ("HeadObject", "s3:GetObject"),
        ("POST", "/b", "delete"): ("DeleteObjects", "s3:DeleteObject"),
        ("POST", "/b/k", "uploads"): ("CreateMultipartUpload", "s3:PutObject"),
    }
    for (method, path, query), (operation, action) in s3.items():
        entry = describe_request(_environ("s3", method=method, path=path, QUERY_STRING=query))
        assert (entry["operation"], entry["actions"]) == (operation, [action]), (method, path)
    assert entry["resource"] == "arn:aws:s3:::b/k"


def test_autoscaling_a_variant_implies_sagemaker_alarm_and_role_permissions() -> None:
    body = json.dumps(
        {
            "ServiceNamespace": "sagemaker",
            "ResourceId": "endpoint/loan-1/variant/AllTraffic",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
        }
    ).encode()
    target = "AnyScaleFrontendService.RegisterScalableTarget"
    entry = describe_request(
        _environ("application-autoscaling", body=body, HTTP_X_AMZ_TARGET=target)
    )
    assert "sagemaker:UpdateEndpointWeightsAndCapacities" in entry["actions"]
    assert "iam:CreateServiceLinkedRole" in entry["actions"]


def test_unsigned_requests_are_not_recorded_and_the_log_reads_back(tmp_path) -> None:
    assert describe_request({"PATH_INFO": "/_local/health", "REQUEST_METHOD": "GET"}) is None
    log = CallLog(tmp_path / "calls.jsonl")
    log.record({"PATH_INFO": "/_local/health", "REQUEST_METHOD": "GET"})
    log.record(_environ("iam", body=b"Action=GetRole&RoleName=r"))
    assert [e["operation"] for e in read(tmp_path / "calls.jsonl")] == ["GetRole"]


def test_the_local_sagemakers_own_state_saving_is_not_recorded(tmp_path) -> None:
    """Saving and restoring the state is no AWS call (the rehearsal must not check it against
    the execution role); the service's own calls on the learner's behalf still are."""
    from utils.local_sagemaker.core.settings import SERVICE_APP_ID, STATE_APP_ID

    log = CallLog(tmp_path / "calls.jsonl")
    for app in (STATE_APP_ID, SERVICE_APP_ID):
        log.record(_environ("s3", method="GET", HTTP_USER_AGENT=f"Boto3/1.35 md/x app/{app}"))
    assert [e["app"] for e in read(tmp_path / "calls.jsonl")] == [SERVICE_APP_ID]
