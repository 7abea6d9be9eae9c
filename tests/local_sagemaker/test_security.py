"""Only the learner's own clients drive the local SageMaker (SECURITY.md), checked from outside.

Each refusal is checked the way an attacker or a mistaken learner meets it (a web page's
preflight and form post, a foreign Host, no signature, a wrong key, a wrong secret, an expired
presigned URL, a direct call to a worker), with the error code and message a learner's boto3
shows, and with proof that nothing was stored or run. The clients that must keep working with
signing on are checked too: boto3 uploads in every payload form, presigned URLs and POST
policies, the AWS CLI.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.parse
import urllib.request
import uuid
import zlib
from pathlib import Path
from typing import Any

import boto3
import botocore.auth
import botocore.exceptions
import pytest
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials
from local_server import local_route

from utils.artifact import SERVING_ENVIRONMENT
from utils.local_sagemaker.core.credentials import client_environment_for
from utils.local_sagemaker.core.sigv4 import Scope, signing_key

from .conftest import BUCKET, ROLE, archive_with, make_client, unique, wait_status

EVIL = "https://evil.example"


def _client(url: str, service: str, **changes: Any) -> Any:
    """A boto3 client with the local key, or with ``access_key``/``secret``/``unsigned`` changes."""
    env = client_environment_for(url)
    config = Config(
        retries={"max_attempts": 1, "mode": "standard"},
        signature_version=UNSIGNED if changes.get("unsigned") else None,
    )
    return boto3.client(
        service,
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=changes.get("access_key", env["AWS_ACCESS_KEY_ID"]),
        aws_secret_access_key=changes.get("secret", env["AWS_SECRET_ACCESS_KEY"]),
        config=config,
    )


def _error(call: Any) -> tuple[int, str, str]:
    """(HTTP status, code, message) of the ClientError boto3 raises, as a learner sees them."""
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        call()
    error = excinfo.value.response
    return (
        error["ResponseMetadata"]["HTTPStatusCode"],
        error["Error"]["Code"],
        error["Error"]["Message"],
    )


def _raw(
    url: str, method: str, path: str, body: bytes = b"", **headers: str
) -> tuple[int, dict[str, str], bytes]:
    """One request exactly as given (no signature, any Host), as a web page or a classmate sends it."""
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        conn.putrequest(method, path, skip_host="Host" in headers, skip_accept_encoding=True)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value)
        conn.endheaders(body)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _stored(s3: Any, key: str) -> bool:
    try:
        s3.head_object(Bucket=BUCKET, Key=key)
    except botocore.exceptions.ClientError as err:
        assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 404
        return False
    return True


def _model_exists(sm: Any, name: str) -> bool:
    try:
        sm.describe_model(ModelName=name)
    except botocore.exceptions.ClientError as err:
        assert err.response["Error"]["Code"] == "ValidationException"
        return False
    return True


def _form(fields: dict[str, str], content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="x.bin"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc


# -- browsers -------------------------------------------------------------------------------------


def test_cors_preflights_are_not_granted(local_sm: str) -> None:
    for path, requested in ((f"/{BUCKET}/page.txt", "PUT"), ("/", "POST")):
        status, headers, body = _raw(
            local_sm,
            "OPTIONS",
            path,
            Host=_host(local_sm),
            Origin=EVIL,
            **{"Access-Control-Request-Method": requested},
            **{"Access-Control-Request-Headers": "x-amz-target,content-type"},
        )
        assert status == 403
        assert not any(name.startswith("access-control-") for name in headers)
    # S3's own answer for a bucket without CORS (the last path is the control plane's "/")
    status, _, body = _raw(
        local_sm,
        "OPTIONS",
        f"/{BUCKET}/page.txt",
        Host=_host(local_sm),
        Origin=EVIL,
        **{"Access-Control-Request-Method": "PUT"},
    )
    assert b"<Code>AccessForbidden</Code>" in body
    assert b"CORSResponse: CORS is not enabled for this bucket." in body


def test_a_cross_origin_form_upload_stores_nothing(local_sm: str, s3: Any) -> None:
    key = unique("from-a-web-page")
    body, content_type = _form({"key": key}, b"<script>alert(1)</script>")
    status, headers, answer = _raw(
        local_sm,
        "POST",
        f"/{BUCKET}",
        body,
        Host=_host(local_sm),
        Origin=EVIL,
        **{"Content-Type": content_type, "Sec-Fetch-Site": "cross-site"},
    )
    assert status == 403
    assert b"<Code>AccessDenied</Code>" in answer
    assert b"LOCAL_SAGEMAKER_ALLOWED_ORIGINS" in answer
    assert "access-control-allow-origin" not in headers
    assert not _stored(s3, key)
    # the same form from a classmate's script (no Origin): no signature, no access
    status, _, answer = _raw(
        local_sm, "POST", f"/{BUCKET}", body, Host=_host(local_sm), **{"Content-Type": content_type}
    )
    assert (status, b"<Message>Access Denied</Message>" in answer) == (403, True)
    assert not _stored(s3, key)


def test_a_cross_origin_simple_post_runs_nothing(local_sm: str, sm: Any) -> None:
    """A page's text/plain POST needs no preflight; it reaches neither the runtime nor the API."""
    name = unique("web-page-model")
    request = json.dumps(
        {"ModelName": name, "ExecutionRoleArn": ROLE, "PrimaryContainer": {"Image": "x"}}
    ).encode()
    for path in ("/", "/endpoints/any/invocations"):
        status, headers, answer = _raw(
            local_sm,
            "POST",
            path,
            request,
            Host=_host(local_sm),
            Origin=EVIL,
            **{"Content-Type": "text/plain", "Sec-Fetch-Site": "cross-site"},
        )
        assert status == 403, answer
        assert "access-control-allow-origin" not in headers
    assert not _model_exists(sm, name)
    # a no-cors request without Origin, marked cross-site by the browser
    status, _, _ = _raw(
        local_sm, "GET", "/_local/costs", Host=_host(local_sm), **{"Sec-Fetch-Site": "cross-site"}
    )
    assert status == 403


def test_a_foreign_host_is_refused_even_when_signed(local_sm: str, s3: Any) -> None:
    """DNS rebinding: the page's own name in Host. Signed for that name, still refused."""
    key = unique("rebound")
    port = urllib.parse.urlsplit(local_sm).port
    env = client_environment_for(local_sm)
    request = AWSRequest(
        method="PUT", url=f"http://attacker.example:{port}/{BUCKET}/{key}", data=b"payload"
    )
    credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    headers = dict(request.headers.items())
    status, _, answer = _raw(
        local_sm, "PUT", f"/{BUCKET}/{key}", b"payload", Host=f"attacker.example:{port}", **headers
    )
    assert status == 403
    assert b"DNS rebinding" in answer
    assert not _stored(s3, key)
    for host in (f"localhost:{port}", f"127.0.0.1:{port}"):
        assert _raw(local_sm, "GET", "/_local/health", Host=host)[0] == 200


# -- signatures -----------------------------------------------------------------------------------


def test_unsigned_requests_get_each_services_missing_token_error(
    local_sm: str, sm: Any, s3: Any
) -> None:
    key, model = unique("unsigned"), unique("unsigned-model")
    unsigned = {
        service: _client(local_sm, service, unsigned=True)
        for service in ("s3", "sagemaker", "sagemaker-runtime", "sts", "logs")
    }
    assert _error(lambda: unsigned["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"x")) == (
        403,
        "AccessDenied",
        "Access Denied",
    )
    assert _error(
        lambda: unsigned["sagemaker"].create_model(
            ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}
        )
    ) == (403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    assert _error(
        lambda: unsigned["sagemaker-runtime"].invoke_endpoint(EndpointName="any", Body=b"1")
    ) == (403, "MissingAuthenticationTokenException", "Missing Authentication Token")
    assert _error(lambda: unsigned["sts"].get_caller_identity()) == (
        403,
        "MissingAuthenticationToken",
        "Request is missing Authentication Token",
    )
    assert (
        _error(lambda: unsigned["logs"].describe_log_groups())[1]
        == "MissingAuthenticationTokenException"
    )
    assert not _stored(s3, key)
    assert not _model_exists(sm, model)


def test_an_unknown_access_key_gets_each_services_error(local_sm: str, sm: Any, s3: Any) -> None:
    key, model = unique("wrong-key"), unique("wrong-key-model")
    wrong = {
        s: _client(local_sm, s, access_key="AKIAIOSFODNN7EXAMPLE")
        for s in ("s3", "sagemaker", "sts", "sagemaker-runtime")
    }
    status, code, message = _error(
        lambda: wrong["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"x")
    )
    assert (status, code, message) == (
        403,
        "InvalidAccessKeyId",
        "The AWS Access Key Id you provided does not exist in our records.",
    )
    assert _error(
        lambda: wrong["sagemaker"].create_model(
            ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}
        )
    ) == (
        400,
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
    )
    assert _error(lambda: wrong["sts"].get_caller_identity()) == (
        403,
        "InvalidClientTokenId",
        "The security token included in the request is invalid.",
    )
    assert _error(
        lambda: wrong["sagemaker-runtime"].invoke_endpoint(EndpointName="any", Body=b"1")
    )[1] == ("UnrecognizedClientException")
    assert not _stored(s3, key)
    assert not _model_exists(sm, model)


def test_a_wrong_secret_gets_each_services_signature_error(local_sm: str, sm: Any, s3: Any) -> None:
    key, model = unique("wrong-secret"), unique("wrong-secret-model")
    wrong = {
        s: _client(local_sm, s, secret="not-the-secret")
        for s in ("s3", "sagemaker", "sts", "cloudwatch")
    }
    status, code, message = _error(
        lambda: wrong["s3"].put_object(Bucket=BUCKET, Key=key, Body=b"x")
    )
    assert (status, code) == (403, "SignatureDoesNotMatch")
    assert message == (
        "The request signature we calculated does not match the signature you provided. "
        "Check your key and signing method."
    )
    assert _error(
        lambda: wrong["sagemaker"].create_model(
            ModelName=model, ExecutionRoleArn=ROLE, PrimaryContainer={"Image": "x"}
        )
    ) == (
        400,
        "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided. Check "
        "your AWS Secret Access Key and signing method. Consult the service documentation for details.",
    )
    assert _error(lambda: wrong["sts"].get_caller_identity())[:2] == (403, "SignatureDoesNotMatch")
    # CloudWatch speaks JSON but reports query codes (botocore: awsQueryCompatible)
    assert _error(lambda: wrong["cloudwatch"].list_metrics())[1] == "SignatureDoesNotMatch"
    assert not _stored(s3, key)
    assert not _model_exists(sm, model)


def test_s3_says_what_it_signed_when_the_signature_differs(local_sm: str) -> None:
    wrong = _client(local_sm, "s3", secret="not-the-secret")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        wrong.list_objects_v2(Bucket=BUCKET, Prefix="a b")
    error = excinfo.value.response["Error"]
    assert error["CanonicalRequest"].startswith(f"GET\n/{BUCKET}\n")
    assert "prefix=a%20b" in error["CanonicalRequest"]
    assert error["StringToSign"].startswith("AWS4-HMAC-SHA256\n")


@pytest.fixture
def clock_at(monkeypatch: pytest.MonkeyPatch) -> Any:
    """Make botocore sign as if its clock said ``now + offset``."""

    def shift(seconds: float) -> None:
        moment = datetime.datetime.now(datetime.UTC).replace(tzinfo=None) + datetime.timedelta(
            seconds=seconds
        )
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: moment)

    return shift


def test_a_clock_more_than_15_minutes_off_is_refused(local_sm: str, clock_at: Any, s3: Any) -> None:
    clock_at(-20 * 60)
    key = unique("skewed")
    status, code, message = _error(
        lambda: _client(local_sm, "s3").put_object(Bucket=BUCKET, Key=key, Body=b"x")
    )
    assert (status, code) == (403, "RequestTimeTooSkewed")
    assert message == "The difference between the request time and the current time is too large."
    status, code, message = _error(lambda: _client(local_sm, "sagemaker").list_models())
    assert (status, code) == (400, "InvalidSignatureException")
    assert message.startswith("Signature expired: ") and message.endswith(" - 15 min.)")
    clock_at(+20 * 60)
    assert _error(lambda: _client(local_sm, "sts").get_caller_identity())[2].startswith(
        "Signature not yet current: "
    )
    clock_at(-10 * 60)  # within the window
    assert _client(local_sm, "sagemaker").list_models()["Models"] is not None
    assert not _stored(s3, key)


def test_a_session_token_from_the_learners_aws_profile_is_refused(local_sm: str) -> None:
    env = client_environment_for(local_sm)
    client = boto3.client(
        "sagemaker",
        endpoint_url=local_sm,
        region_name="us-east-1",
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        aws_session_token="FwoGZXIvYXdzEBYaD...",
        config=Config(retries={"max_attempts": 1}),
    )
    assert _error(client.list_models)[1] == "UnrecognizedClientException"


# -- presigned URLs and POST policies -------------------------------------------------------------


def _fetch(url: str, method: str = "GET", body: bytes = b"") -> tuple[int, bytes]:
    """Send to a presigned URL as a browser or curl would (no Content-Type of our own)."""
    parts = urllib.parse.urlsplit(url)
    status, _, answer = _raw(url, method, f"{parts.path}?{parts.query}", body)
    return status, answer


@pytest.mark.parametrize("version", [None, "s3v4"], ids=["boto3-default", "s3v4"])
def test_presigned_urls_work_until_they_expire(
    local_sm: str, s3: Any, clock_at: Any, version: str | None
) -> None:
    """boto3's default presigned URL is Signature Version 2 in us-east-1; s3v4 on request."""
    signer = make_client("s3", local_sm, signature_version=version)
    key = unique("presigned")
    params = {"Bucket": BUCKET, "Key": key}
    put = signer.generate_presigned_url("put_object", Params=params, ExpiresIn=300)
    assert ("X-Amz-Signature=" in put) == (version == "s3v4")
    assert _fetch(put, "PUT", b"uploaded")[0] == 200
    get = signer.generate_presigned_url("get_object", Params=params, ExpiresIn=300)
    assert _fetch(get) == (200, b"uploaded")
    # expired: signed two hours ago for one hour (version 4), or past its Expires (version 2)
    clock_at(-2 * 3600)
    late = {"Bucket": BUCKET, "Key": key + "-late"}
    expires = 3600 if version else -3600
    for url, method, body in (
        (signer.generate_presigned_url("get_object", Params=params, ExpiresIn=expires), "GET", b""),
        (signer.generate_presigned_url("put_object", Params=late, ExpiresIn=expires), "PUT", b"x"),
    ):
        status, answer = _fetch(url, method, body)
        assert status == 403
        assert b"<Code>AccessDenied</Code><Message>Request has expired</Message>" in answer
    clock_at(0)
    assert not _stored(s3, key + "-late")


@pytest.mark.parametrize("version", [None, "s3v4"], ids=["boto3-default", "s3v4"])
def test_presigned_post_forms_are_checked_against_their_policy(
    local_sm: str, s3: Any, version: str | None
) -> None:
    """A form upload (boto3's presigned POST) is stored only as its signed policy allows."""
    signer = make_client("s3", local_sm, signature_version=version)
    key = unique("form")
    post = signer.generate_presigned_post(
        BUCKET, key, Conditions=[["content-length-range", 1, 100]], ExpiresIn=300
    )
    body, content_type = _form(post["fields"], b"from a form")
    path = urllib.parse.urlsplit(post["url"]).path
    status, _, answer = _raw(
        local_sm, "POST", path, body, Host=_host(local_sm), **{"Content-Type": content_type}
    )
    assert status == 204, answer
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"from a form"
    other = unique("not-in-policy")
    for fields, content, expected in (
        (
            {**post["fields"], "key": other},
            b"x",
            b"Invalid according to Policy: Policy Condition failed: ",
        ),
        ({**post["fields"], "x-amz-meta-a": "b"}, b"x", b"Extra input fields: x-amz-meta-a"),
        (post["fields"], b"y" * 101, b"<Code>EntityTooLarge</Code>"),
        (
            {**post["fields"], _signature_field(post): "AAAA"},
            b"x",
            b"<Code>SignatureDoesNotMatch</Code>",
        ),
    ):
        body, content_type = _form(fields, content)
        status, _, answer = _raw(
            local_sm, "POST", path, body, Host=_host(local_sm), **{"Content-Type": content_type}
        )
        assert status in (400, 403) and expected in answer, answer
    assert not _stored(s3, other)
    expired = signer.generate_presigned_post(BUCKET, other, ExpiresIn=-60)
    body, content_type = _form(expired["fields"], b"x")
    status, _, answer = _raw(
        local_sm, "POST", path, body, Host=_host(local_sm), **{"Content-Type": content_type}
    )
    assert (status, b"Invalid according to Policy: Policy expired." in answer) == (403, True)
    too_big = signer.generate_presigned_post(
        BUCKET, other, Conditions=[["content-length-range", 1, 10]]
    )
    body, content_type = _form(too_big["fields"], b"z" * 11)
    status, _, answer = _raw(
        local_sm, "POST", path, body, Host=_host(local_sm), **{"Content-Type": content_type}
    )
    assert (status, b"<Code>EntityTooLarge</Code>" in answer) == (400, True)
    assert not _stored(s3, other)


def _signature_field(post: dict[str, Any]) -> str:
    return "x-amz-signature" if "x-amz-signature" in post["fields"] else "signature"


def _signature_field(post: dict[str, Any]) -> str:
    return "x-amz-signature" if "x-amz-signature" in post["fields"] else "signature"


# -- uploads in every payload form ----------------------------------------------------------------


def test_uploads_work_in_every_payload_form(local_sm: str, s3: Any, tmp_path: Path) -> None:
    # a signed SHA-256 (botocore over http), UNSIGNED-PAYLOAD, a multipart upload
    s3.put_object(Bucket=BUCKET, Key="forms/sha256", Body=b"signed body")
    unsigned = make_client("s3", local_sm, s3={"payload_signing_enabled": False})
    unsigned.put_object(Bucket=BUCKET, Key="forms/unsigned", Body=b"unsigned body")
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(6 * 1024 * 1024))
    s3.upload_file(
        str(big),
        BUCKET,
        "forms/multipart",
        Config=TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024
        ),
    )
    assert s3.get_object(Bucket=BUCKET, Key="forms/sha256")["Body"].read() == b"signed body"
    assert s3.get_object(Bucket=BUCKET, Key="forms/unsigned")["Body"].read() == b"unsigned body"
    assert s3.get_object(Bucket=BUCKET, Key="forms/multipart")["Body"].read() == big.read_bytes()
    # aws-chunked with a trailing checksum and no signatures (botocore's form over https)
    data = b"chunked and trailed " * 1000
    checksum = base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()
    body = (
        f"{len(data):x}\r\n".encode()
        + data
        + f"\r\n0\r\nx-amz-checksum-crc32:{checksum}\r\n\r\n".encode()
    )
    _put_chunked(local_sm, "forms/trailer", body, len(data), "STREAMING-UNSIGNED-PAYLOAD-TRAILER")
    assert s3.get_object(Bucket=BUCKET, Key="forms/trailer")["Body"].read() == data
    # aws-chunked with a signature per chunk (the Java and Go SDKs' form)
    _put_signed_chunks(local_sm, "forms/signed-chunks", data)
    assert s3.get_object(Bucket=BUCKET, Key="forms/signed-chunks")["Body"].read() == data
    with pytest.raises(AssertionError, match="SignatureDoesNotMatch"):
        _put_signed_chunks(local_sm, "forms/tampered", data, tamper=True)
    assert not _stored(s3, "forms/tampered")


def _signed_headers(url: str, key: str, headers: dict[str, str], payload: str) -> dict[str, str]:
    """The headers of a PUT signed with the local key, declaring ``payload`` as its hash."""
    env = client_environment_for(url)
    request = AWSRequest(method="PUT", url=f"{url}/{BUCKET}/{key}", headers=headers)
    credentials = Credentials(env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"])
    auth = S3SigV4Auth(credentials, "s3", "us-east-1")
    auth.payload = lambda _request: payload  # type: ignore[method-assign]
    auth.add_auth(request)
    return dict(request.headers.items())


def _put_chunked(url: str, key: str, body: bytes, length: int, payload: str) -> None:
    headers = {
        "Content-Encoding": "aws-chunked",
        "X-Amz-Decoded-Content-Length": str(length),
        "X-Amz-Trailer": "x-amz-checksum-crc32",
    }
    signed = _signed_headers(url, key, headers, payload)
    status, _, answer = _raw(url, "PUT", f"/{BUCKET}/{key}", body, Host=_host(url), **signed)
    assert status == 200, answer


def _put_signed_chunks(url: str, key: str, data: bytes, tamper: bool = False) -> None:
    """Sign the headers, then each chunk with the previous signature (SigV4 chunked upload)."""
    env = client_environment_for(url)
    headers = {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data))}
    signed = _signed_headers(url, key, headers, "STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    timestamp = signed["X-Amz-Date"]
    previous = signed["Authorization"].rsplit("Signature=", 1)[1]
    key_bytes = signing_key(env["AWS_SECRET_ACCESS_KEY"], timestamp[:8], "us-east-1", "s3")
    scope = Scope(env["AWS_ACCESS_KEY_ID"], timestamp[:8], "us-east-1", "s3")
    body = b""
    for chunk in (data[:8192], data[8192:], b""):
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                timestamp,
                scope.text,
                previous,
                hashlib.sha256(b"").hexdigest(),
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        previous = hmac.new(key_bytes, string_to_sign.encode(), hashlib.sha256).hexdigest()
        sent = chunk.replace(b"c", b"k", 1) if tamper and chunk else chunk
        body += f"{len(chunk):x};chunk-signature={previous}\r\n".encode() + sent + b"\r\n"
    status, _, answer = _raw(url, "PUT", f"/{BUCKET}/{key}", body, Host=_host(url), **signed)
    assert status == 200, answer.decode()


# -- workers --------------------------------------------------------------------------------------

RECORDING_HANDLER = """
import os, joblib
def record(step):
    with open(os.environ["CALLS_FILE"], "a") as calls:
        calls.write(step + "\\n")
def model_fn(model_dir):
    record("model_fn")
    return joblib.load(os.path.join(model_dir, "model.joblib"))
def input_fn(body, content_type):
    record("input_fn")
    text = body.decode() if isinstance(body, bytes) else body
    return [[float(v) for v in text.split(",")]]
"""


def test_workers_answer_only_the_gateway(
    local_sm: str, sm: Any, s3: Any, runtime: Any, tmp_path: Path
) -> None:
    calls = tmp_path / "calls.txt"
    archive_key = f"models/{unique('recording')}/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=archive_key, Body=archive_with(RECORDING_HANDLER))
    name = unique("workers")
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": "sklearn-inference:1.4-2",
            "ModelDataUrl": f"s3://{BUCKET}/{archive_key}",
            "Environment": {**SERVING_ENVIRONMENT, "CALLS_FILE": str(calls)},
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    try:
        wait_status(sm, name, {"InService"})
        runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1.0,1.0")
        before = calls.read_text()
        assert before.splitlines() == ["model_fn", "input_fn"]
        [instance] = local_route(local_sm, f"/_local/endpoints/{name}")["Instances"]
        worker = instance["Url"]
        for headers in ({}, {"X-Local-SageMaker-Worker-Secret": "guess"}):
            for method, path, body in (("GET", "/ping", b""), ("POST", "/invocations", b"1.0,1.0")):
                status, _, answer = _raw(
                    worker,
                    method,
                    path,
                    body,
                    Host=_host(worker),
                    **{"Content-Type": "text/csv", **headers},
                )
                assert status == 403, answer
        assert calls.read_text() == before  # nothing ran
        # the gateway's own requests carry the secret; so may the benchmark's
        status, _, answer = _raw(
            worker,
            "POST",
            "/invocations",
            b"1.0,1.0",
            Host=_host(worker),
            **{"Content-Type": "text/csv", **instance["Headers"]},
        )
        assert status == 200, answer
    finally:
        sm.delete_endpoint(EndpointName=name)


def test_model_code_calls_aws_with_the_local_key_and_never_sees_the_worker_secret(
    local_sm: str, sm: Any, s3: Any, runtime: Any
) -> None:
    """Code in an endpoint reaches the AWS services (as with an execution role on AWS)."""
    handler = textwrap.dedent(
        """
        import json, os, boto3
        def model_fn(model_dir):
            # the slow part (a boto3 client, an STS call) at load, so a retried request is quick
            names = sorted(k for k in os.environ if "SECRET" in k and "AWS" not in k)
            account = boto3.client("sts").get_caller_identity()["Account"]
            return {"secrets": names, "account": account}
        def transform_fn(model, body, content_type, accept):
            return json.dumps(model), "application/json"
        """
    )
    archive_key = f"models/{unique('env')}/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=archive_key, Body=archive_with(handler))
    name = unique("env")
    sm.create_model(
        ModelName=name,
        ExecutionRoleArn=ROLE,
        PrimaryContainer={
            "Image": "sklearn-inference:1.4-2",
            "ModelDataUrl": f"s3://{BUCKET}/{archive_key}",
            "Environment": SERVING_ENVIRONMENT,
        },
    )
    sm.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[
            {
                "VariantName": "AllTraffic",
                "ModelName": name,
                "InstanceType": "ml.m5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    try:
        wait_status(sm, name, {"InService"})
        # The model loads on the first request, within the tests' short invocation timeout;
        # on a busy machine that request can time out while the load goes on: ask again.
        for _attempt in range(10):
            try:
                answer = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1")
                break
            except runtime.exceptions.ModelError as error:
                assert "timed out" in str(error), error
        else:
            pytest.fail("every request timed out")
        assert json.loads(answer["Body"].read()) == {"secrets": [], "account": "123456789012"}
    finally:
        sm.delete_endpoint(EndpointName=name)


# -- the AWS CLI ----------------------------------------------------------------------------------


def test_the_aws_cli_works_with_the_local_key_and_shows_awss_error_without_it(
    local_sm: str,
) -> None:
    aws = str(Path(sys.executable).parent / "aws")
    env = {**os.environ, **client_environment_for(local_sm)}
    done = subprocess.run(
        [aws, "sts", "get-caller-identity", "--output", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    assert json.loads(done.stdout)["Account"] == "123456789012"
    env["AWS_SECRET_ACCESS_KEY"] = "not-the-secret"
    done = subprocess.run(
        [aws, "sagemaker", "list-endpoints"], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode != 0
    assert (
        "An error occurred (InvalidSignatureException) when calling the ListEndpoints operation"
        in done.stderr
    )
