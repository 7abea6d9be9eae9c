"""The SigV4 verifier against AWS's own worked examples, and against botocore's signer.

The examples are those of the Amazon S3 API reference ("Signature Calculations for the
Authorization Header", "Query String Authentication", "Signature Calculations for the
Authorization Header: Transferring Payload in Multiple Chunks" and the trailer variant): AWS's
example key, a clock frozen at the examples' time, the published signatures. A verifier that
accepts them, and refuses them after any one change, computes SigV4 as S3 does.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.auth import HmacV1Auth, HmacV1QueryAuth, S3SigV4Auth, S3SigV4QueryAuth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from utils.local_sagemaker.core.credentials import LocalCredentials
from utils.local_sagemaker.core.sigv4 import (
    HttpRequest,
    Reason,
    Refusal,
    Verifier,
    canonical_query,
    canonical_uri,
)

KEY = LocalCredentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
T0 = datetime(2013, 5, 24, tzinfo=UTC).timestamp()
STAMP = "20130524T000000Z"
SCOPE = "20130524/us-east-1/s3/aws4_request"
EMPTY = hashlib.sha256(b"").hexdigest()
HOST = "examplebucket.s3.amazonaws.com"


class Bytes:
    """A request body for the verifier; counts how often it was read."""

    def __init__(self, data: bytes = b"") -> None:
        self.data = data
        self.reads = 0

    def read(self) -> bytes:
        self.reads += 1
        return self.data

    def sha256(self) -> str:
        return hashlib.sha256(self.read()).hexdigest()


def verifier(offset: float = 0.0) -> Verifier:
    return Verifier([KEY], clock=lambda: T0 + offset)


def header_request(
    method: str, target: str, headers: dict[str, str], signed: str, signature: str
) -> HttpRequest:
    path, _, query = target.partition("?")
    auth = f"AWS4-HMAC-SHA256 Credential={KEY.access_key_id}/{SCOPE},SignedHeaders={signed},Signature={signature}"
    return HttpRequest(method, path, query, {"host": HOST, **headers, "authorization": auth})


GET_OBJECT = (
    "GET",
    "/test.txt",
    {"range": "bytes=0-9", "x-amz-content-sha256": EMPTY, "x-amz-date": STAMP},
    "host;range;x-amz-content-sha256;x-amz-date",
    "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41",
)
PUT_OBJECT = (
    "PUT",
    "/test%24file.text",
    {
        "date": "Fri, 24 May 2013 00:00:00 GMT",
        "x-amz-date": STAMP,
        "x-amz-storage-class": "REDUCED_REDUNDANCY",
        "x-amz-content-sha256": hashlib.sha256(b"Welcome to Amazon S3.").hexdigest(),
    },
    "date;host;x-amz-content-sha256;x-amz-date;x-amz-storage-class",
    "98ad721746da40c64f1a55b78f14c238d841ea1380cd77a1b5971af0ece108bd",
)
GET_LIFECYCLE = (
    "GET",
    "/?lifecycle",
    {"x-amz-content-sha256": EMPTY, "x-amz-date": STAMP},
    "host;x-amz-content-sha256;x-amz-date",
    "fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543",
)
LIST_OBJECTS = (
    "GET",
    "/?max-keys=2&prefix=J",
    {"x-amz-content-sha256": EMPTY, "x-amz-date": STAMP},
    "host;x-amz-content-sha256;x-amz-date",
    "34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7",
)


@pytest.mark.parametrize("example", [GET_OBJECT, PUT_OBJECT, GET_LIFECYCLE, LIST_OBJECTS])
def test_the_s3_header_examples_of_the_aws_documentation_verify(example: tuple[Any, ...]) -> None:
    body = Bytes(b"Welcome to Amazon S3." if example[0] == "PUT" else b"")
    assert verifier().verify(header_request(*example), body) == KEY.access_key_id


def test_a_changed_header_path_or_query_is_a_mismatch_with_the_strings_aws_signs() -> None:
    method, target, headers, signed, signature = LIST_OBJECTS
    for changed in (
        header_request(method, "/?max-keys=3&prefix=J", headers, signed, signature),
        header_request(method, "/other?max-keys=2&prefix=J", headers, signed, signature),
        header_request(method, target, headers, signed, "0" * 64),
    ):
        with pytest.raises(Refusal) as refused:
            verifier().verify(changed, Bytes())
        assert refused.value.reason == Reason.MISMATCH
        assert refused.value.details["string_to_sign"].startswith(f"AWS4-HMAC-SHA256\n{STAMP}\n")
        assert refused.value.details["canonical_request"].startswith("GET\n/")


def test_the_body_must_match_its_declared_hash_and_is_read_once() -> None:
    body = Bytes(b"Welcome to Amazon S3!")
    with pytest.raises(Refusal) as refused:
        verifier().verify(header_request(*PUT_OBJECT), body)
    assert refused.value.reason == Reason.PAYLOAD_MISMATCH
    assert refused.value.details["computed"] == hashlib.sha256(body.data).hexdigest()


def test_time_is_checked_after_the_key_and_the_signature() -> None:
    late = verifier(offset=901)
    with pytest.raises(Refusal) as refused:
        late.verify(header_request(*GET_OBJECT), Bytes())
    assert refused.value.reason == Reason.SKEWED
    assert refused.value.details["request_time"] == STAMP
    method, target, headers, signed, _ = GET_OBJECT
    with pytest.raises(Refusal) as refused:
        late.verify(header_request(method, target, headers, signed, "0" * 64), Bytes())
    assert refused.value.reason == Reason.MISMATCH
    assert verifier(offset=900).verify(header_request(*GET_OBJECT), Bytes())
    assert verifier(offset=-900).verify(header_request(*GET_OBJECT), Bytes())


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"authorization": "Bearer token"}, Reason.UNSUPPORTED_SCHEME),
        (
            {"authorization": f"AWS4-HMAC-SHA256 Credential={KEY.access_key_id}/{SCOPE}"},
            Reason.MALFORMED,
        ),
        ({"x-amz-date": None}, Reason.MISSING_DATE),
        ({"x-amz-date": "2013-05-24T00:00:00Z"}, Reason.BAD_DATE),
        ({"x-amz-content-sha256": None}, Reason.PAYLOAD_HASH_MISSING),
        ({"x-amz-content-sha256": "abc"}, Reason.PAYLOAD_HASH_INVALID),
        ({"x-amz-meta-color": "red"}, Reason.HEADERS_NOT_SIGNED),
        ({"x-amz-security-token": "token"}, Reason.INVALID_TOKEN),
    ],
)
def test_each_defect_of_a_header_signature_has_its_reason(
    change: dict[str, str | None], reason: str
) -> None:
    request = header_request(*GET_OBJECT)
    headers = {k: v for k, v in {**request.headers, **change}.items() if v is not None}
    with pytest.raises(Refusal) as refused:
        verifier().verify(HttpRequest("GET", "/test.txt", "", headers), Bytes())
    assert refused.value.reason == reason


def test_an_unknown_access_key_is_named() -> None:
    method, target, headers, signed, signature = GET_OBJECT
    request = header_request(method, target, headers, signed, signature)
    auth = request.headers["authorization"].replace(KEY.access_key_id, "AKIAUNKNOWN")
    with pytest.raises(Refusal) as refused:
        verifier().verify(
            HttpRequest("GET", "/test.txt", "", {**request.headers, "authorization": auth}), Bytes()
        )
    assert (refused.value.reason, refused.value.details["access_key"]) == (
        Reason.UNKNOWN_KEY,
        "AKIAUNKNOWN",
    )


PRESIGNED_QUERY = (
    "X-Amz-Algorithm=AWS4-HMAC-SHA256"
    "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
    "&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-SignedHeaders=host"
    "&X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
)


def test_the_presigned_example_is_valid_from_15_minutes_early_until_it_expires() -> None:
    request = HttpRequest("GET", "/test.txt", PRESIGNED_QUERY, {"host": HOST})
    for offset in (-900, 0, 86400):
        assert verifier(offset).verify(request, Bytes()) == KEY.access_key_id
    with pytest.raises(Refusal) as refused:
        verifier(86400.001).verify(request, Bytes())
    assert refused.value.reason == Reason.EXPIRED
    assert refused.value.details["expires"] == 86400
    with pytest.raises(Refusal) as refused:
        verifier(-901).verify(request, Bytes())
    assert refused.value.reason == Reason.NOT_YET_VALID


@pytest.mark.parametrize(
    ("old", "new", "reason", "message"),
    [
        ("X-Amz-Expires=86400", "X-Amz-Expires=604801", Reason.QUERY_PARAMETERS, "expires-week"),
        ("X-Amz-Expires=86400", "X-Amz-Expires=-1", Reason.QUERY_PARAMETERS, "expires-negative"),
        ("X-Amz-Expires=86400&", "", Reason.QUERY_PARAMETERS, "missing"),
        ("X-Amz-Date=20130524T000000Z", "X-Amz-Date=2013-05-24", Reason.QUERY_PARAMETERS, "date"),
        ("AKIAIOSFODNN7EXAMPLE", "AKIAUNKNOWN", Reason.UNKNOWN_KEY, None),
        ("Signature=aee", "Signature=bee", Reason.MISMATCH, None),
    ],
)
def test_each_defect_of_a_presigned_url_has_its_reason(
    old: str, new: str, reason: str, message: str | None
) -> None:
    request = HttpRequest("GET", "/test.txt", PRESIGNED_QUERY.replace(old, new), {"host": HOST})
    with pytest.raises(Refusal) as refused:
        verifier().verify(request, Bytes())
    assert (refused.value.reason, refused.value.message) == (reason, message)


DATA = b"a" * 66560


def _chunked(signatures: list[str], trailer: list[str] | None = None) -> bytes:
    sizes = [65536, 1024, 0]
    parts = [
        f"{size:x};chunk-signature={signature}\r\n".encode() + DATA[:size] + b"\r\n"
        for size, signature in zip(sizes, signatures, strict=True)
    ]
    body = b"".join(parts)
    if trailer is not None:
        body = body[:-2] + "".join(f"{line}\r\n" for line in trailer).encode() + b"\r\n"
    return body


CHUNK_HEADERS = {
    "host": "s3.amazonaws.com",
    "x-amz-date": STAMP,
    "x-amz-storage-class": "REDUCED_REDUNDANCY",
    "content-encoding": "aws-chunked",
    "x-amz-decoded-content-length": "66560",
}


def test_the_chunked_upload_example_verifies_chunk_by_chunk() -> None:
    signed = (
        "content-encoding;content-length;host;x-amz-content-sha256;x-amz-date;"
        "x-amz-decoded-content-length;x-amz-storage-class"
    )
    headers = {
        **CHUNK_HEADERS,
        "content-length": "66824",
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
        "authorization": f"AWS4-HMAC-SHA256 Credential={KEY.access_key_id}/{SCOPE},"
        f"SignedHeaders={signed},"
        "Signature=4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9",
    }
    chunks = [
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9",
    ]
    request = HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", headers)
    assert verifier().verify(request, Bytes(_chunked(chunks))) == KEY.access_key_id
    tampered = _chunked(chunks).replace(b"a\r\n400", b"b\r\n400")
    with pytest.raises(Refusal) as refused:
        verifier().verify(request, Bytes(tampered))
    assert refused.value.reason == Reason.CHUNK_MISMATCH
    assert refused.value.details["string_to_sign"].startswith("AWS4-HMAC-SHA256-PAYLOAD\n")


def test_the_chunked_upload_example_with_a_trailer_verifies_the_trailer_too() -> None:
    signed = (
        "content-encoding;host;x-amz-content-sha256;x-amz-date;x-amz-decoded-content-length;"
        "x-amz-storage-class;x-amz-trailer"
    )
    headers = {
        **CHUNK_HEADERS,
        "x-amz-content-sha256": "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
        "x-amz-trailer": "x-amz-checksum-crc32c",
        "authorization": f"AWS4-HMAC-SHA256 Credential={KEY.access_key_id}/{SCOPE},"
        f"SignedHeaders={signed},"
        "Signature=106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e",
    }
    chunks = [
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992",
    ]
    trailer_signature = "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435"
    request = HttpRequest("PUT", "/examplebucket/chunkObject.txt", "", headers)
    body = _chunked(
        chunks, ["x-amz-checksum-crc32c:sOO8/Q==", f"x-amz-trailer-signature:{trailer_signature}"]
    )
    assert verifier().verify(request, Bytes(body)) == KEY.access_key_id
    with pytest.raises(Refusal) as refused:
        verifier().verify(request, Bytes(body.replace(b"sOO8/Q==", b"AAAAAA==")))
    assert refused.value.details["string_to_sign"].startswith("AWS4-HMAC-SHA256-TRAILER\n")


# -- what botocore signs, the verifier accepts -----------------------------------------------------


def _from_botocore(request: AWSRequest) -> HttpRequest:
    prepared = request.prepare()
    url = prepared.url.split("://", 1)[1]
    host, _, rest = url.partition("/")
    path, _, query = ("/" + rest).partition("?")
    headers = {k.lower(): v for k, v in prepared.headers.items()}
    headers.setdefault("host", host)
    return HttpRequest(prepared.method, path, query, headers)


@pytest.mark.parametrize(
    ("service", "path", "query"),
    [
        ("sagemaker", "/endpoints/loan-rt-1f2e3d4c/invocations", ""),
        ("sts", "/", ""),
        ("logs", "/", ""),
        ("sagemaker", "/a/./b/../c//d", "x=1&y=a%20b&z=%2B"),
        ("s3", "/bucket/a%20b/%2B/%C3%BC/~x/100%25", "prefix=a%2Fb&list-type=2"),
        ("s3", "/bucket//a//b/", "uploads"),
    ],
)
def test_botocore_signatures_of_each_service_verify(service: str, path: str, query: str) -> None:
    credentials = Credentials(KEY.access_key_id, KEY.secret_access_key)
    url = f"http://127.0.0.1:8765{path}" + (f"?{query}" if query else "")
    request = AWSRequest(method="POST", url=url, data=b'{"rows": [1, 2]}')
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    signer(credentials, service, "us-east-1").add_auth(request)
    body = Bytes(b'{"rows": [1, 2]}')
    assert Verifier([KEY]).verify(_from_botocore(request), body) == KEY.access_key_id
    assert body.reads == 1


def test_a_botocore_presigned_url_with_an_odd_key_verifies() -> None:
    credentials = Credentials(KEY.access_key_id, KEY.secret_access_key)
    url = "http://127.0.0.1:8765/bucket/a%20b%2Bc/%C3%BC.txt?versionId=x%2By"
    request = AWSRequest(method="GET", url=url)
    S3SigV4QueryAuth(credentials, "s3", "us-east-1", expires=60).add_auth(request)
    body = Bytes()
    assert Verifier([KEY]).verify(_from_botocore(request), body) == KEY.access_key_id
    assert body.reads == 0  # presigned S3 URLs sign no payload


def test_unsigned_payload_is_never_read() -> None:
    credentials = Credentials(KEY.access_key_id, KEY.secret_access_key)
    request = AWSRequest(method="PUT", url="http://127.0.0.1:8765/bucket/key", data=b"x" * 1000)
    # what boto3 does with Config(s3={"payload_signing_enabled": False})
    request.context["client_config"] = type("C", (), {"s3": {"payload_signing_enabled": False}})()
    S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(request)
    assert request.headers["X-Amz-Content-SHA256"] == "UNSIGNED-PAYLOAD"
    body = Bytes(b"x" * 1000)
    assert Verifier([KEY]).verify(_from_botocore(request), body) == KEY.access_key_id
    assert body.reads == 0


def test_signature_version_2_verifies_for_s3_as_boto3_presigns_by_default() -> None:
    """boto3 presigns S3 URLs and POST forms with version 2 in us-east-1 unless told otherwise."""
    credentials = Credentials(KEY.access_key_id, KEY.secret_access_key)
    url = "http://127.0.0.1:8765/bucket/a%20b.txt?uploadId=x%2By&partNumber=2"
    request = AWSRequest(method="PUT", url=url)
    HmacV1QueryAuth(credentials, expires=60).add_auth(request)
    assert "AWSAccessKeyId=" in request.url
    assert Verifier([KEY]).verify(_from_botocore(request), Bytes()) == KEY.access_key_id
    with pytest.raises(Refusal) as refused:
        Verifier([KEY], clock=lambda: time.time() + 61).verify(_from_botocore(request), Bytes())
    assert refused.value.reason == Reason.EXPIRED
    changed = _from_botocore(request)
    changed = HttpRequest(
        "PUT", changed.raw_path.replace("a%20b", "c"), changed.raw_query, changed.headers
    )
    with pytest.raises(Refusal) as refused:
        Verifier([KEY]).verify(changed, Bytes())
    assert refused.value.reason == Reason.MISMATCH
    assert refused.value.details["string_to_sign"].endswith(
        "/bucket/c.txt?partNumber=2&uploadId=x+y"
    )
    header = AWSRequest(
        method="GET", url="http://127.0.0.1:8765/bucket/key?acl", headers={"x-amz-meta-a": "b"}
    )
    HmacV1Auth(credentials).add_auth(header)
    assert Verifier([KEY]).verify(_from_botocore(header), Bytes()) == KEY.access_key_id
    # never for the SageMaker API, which only ever took version 4
    sagemaker = _from_botocore(header)
    sagemaker = HttpRequest("GET", "/", "", sagemaker.headers, service="sagemaker")
    with pytest.raises(Refusal) as refused:
        Verifier([KEY]).verify(sagemaker, Bytes())
    assert refused.value.reason == Reason.SIGNATURE_V2


def test_canonical_forms_follow_s3_and_the_other_services() -> None:
    assert canonical_uri("/b/a+b/100%/%7E", s3=True) == "/b/a%2Bb/100%25/~"
    assert canonical_uri("/a/./b/../c//d", s3=False) == "/a/c/d"
    assert canonical_uri("/x%20y", s3=False) == "/x%2520y"
    pairs = [("b", "2"), ("a", "b+c"), ("k-x", "2"), ("k", "1"), ("acl", "")]
    assert canonical_query(pairs) == "a=b%20c&acl=&b=2&k=1&k-x=2"
