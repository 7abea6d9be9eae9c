"""Calls the local SageMaker does not implement: an AWS error that names the operation.

The gateway serves SageMaker and its runtime itself and hands S3, IAM, STS, CloudWatch, CloudWatch
Logs, Application Auto Scaling, SNS and SQS to moto. A call that neither implements must still be
answered the way AWS answers a call it will not take: an error in that service's own protocol,
HTTP 400, whose message names the operation. A client then raises a ``ClientError`` saying
``The local SageMaker does not implement IAM ChangePassword yet.`` instead of failing to
parse a bare 500 page (which botocore also retries, as it retries every 5xx).

Which operation a request calls comes from its service's botocore model (:func:`identify`):
``X-Amz-Target`` (JSON), the ``Action`` parameter (query), the path of an RPC v2 CBOR call
(``/service/<service>/operation/<Operation>``), or the method, URI template and query keys of a
REST call. moto raises ``NotImplementedError`` for an action it lacks, except in S3, whose
handlers fall back to another operation for a sub-resource they do not know; so S3 calls are
checked against :data:`S3_SERVED` before they reach moto.

Error codes (:data:`CODES`): ``UnknownOperationException`` for the JSON and CBOR protocols (what
AWS's JSON services answer for a target they do not know), ``InvalidAction`` for the query
protocol (AWS's common error for an unknown action), ``NotImplemented`` for S3 (S3's own code for
functionality it does not implement, sent with 400 here so that no client retries it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import parse_qs
from xml.sax.saxutils import escape

import botocore.session
from botocore.model import ServiceModel

#: (HTTP status, headers, body): what the gateway sends.
Answer = tuple[int, list[tuple[str, str]], bytes]

#: The botocore service behind each SigV4 signing name the gateway routes.
SERVICES = {
    "sagemaker": "sagemaker",  # the runtime signs as "sagemaker" too: see identify()
    "s3": "s3",
    "s3express": "s3",
    "s3-object-lambda": "s3",
    "iam": "iam",
    "sts": "sts",
    "monitoring": "cloudwatch",
    "logs": "logs",
    "application-autoscaling": "application-autoscaling",
    "sns": "sns",
    "sqs": "sqs",
}

#: Query-protocol services a client may call unsigned (STS's AssumeRoleWithWebIdentity): found
#: by the request's ``Version`` parameter.
_UNSIGNED_BY_VERSION = {"2011-06-15": "sts", "2010-05-08": "iam", "2010-03-31": "sns"}

CODES = {
    "json": "UnknownOperationException",
    "rest-json": "UnknownOperationException",
    "smithy-rpc-v2-cbor": "UnknownOperationException",
    "query": "InvalidAction",
    "rest-xml": "NotImplemented",
}

#: The S3 operations moto serves (moto's implementation coverage for S3, moto 5.x); any other S3
#: operation is answered as not implemented before it reaches moto.
S3_SERVED = frozenset(
    {
        "AbortMultipartUpload",
        "CompleteMultipartUpload",
        "CopyObject",
        "CreateBucket",
        "CreateMultipartUpload",
        "DeleteBucket",
        "DeleteBucketCors",
        "DeleteBucketEncryption",
        "DeleteBucketLifecycle",
        "DeleteBucketOwnershipControls",
        "DeleteBucketPolicy",
        "DeleteBucketReplication",
        "DeleteBucketTagging",
        "DeleteBucketWebsite",
        "DeleteObject",
        "DeleteObjectTagging",
        "DeleteObjects",
        "DeletePublicAccessBlock",
        "GetBucketAccelerateConfiguration",
        "GetBucketAcl",
        "GetBucketCors",
        "GetBucketEncryption",
        "GetBucketInventoryConfiguration",
        "GetBucketLifecycle",
        "GetBucketLifecycleConfiguration",
        "GetBucketLocation",
        "GetBucketLogging",
        "GetBucketNotificationConfiguration",
        "GetBucketOwnershipControls",
        "GetBucketPolicy",
        "GetBucketReplication",
        "GetBucketTagging",
        "GetBucketVersioning",
        "GetObject",
        "GetObjectAcl",
        "GetObjectAttributes",
        "GetObjectLegalHold",
        "GetObjectLockConfiguration",
        "GetObjectTagging",
        "GetPublicAccessBlock",
        "HeadBucket",
        "HeadObject",
        "ListBucketInventoryConfigurations",
        "ListBuckets",
        "ListMultipartUploads",
        "ListObjectVersions",
        "ListObjects",
        "ListObjectsV2",
        "ListParts",
        "PutBucketAccelerateConfiguration",
        "PutBucketAcl",
        "PutBucketCors",
        "PutBucketEncryption",
        "PutBucketInventoryConfiguration",
        "PutBucketLifecycle",
        "PutBucketLifecycleConfiguration",
        "PutBucketLogging",
        "PutBucketNotificationConfiguration",
        "PutBucketOwnershipControls",
        "PutBucketPolicy",
        "PutBucketReplication",
        "PutBucketTagging",
        "PutBucketVersioning",
        "PutBucketWebsite",
        "PutObject",
        "PutObjectAcl",
        "PutObjectLegalHold",
        "PutObjectLockConfiguration",
        "PutObjectRetention",
        "PutObjectTagging",
        "PutPublicAccessBlock",
        "RestoreObject",
        "SelectObjectContent",
        "UploadPart",
        "UploadPartCopy",
    }
)


@dataclass(frozen=True)
class Call:
    """One request as its service's botocore model sees it (``operation`` None: no match)."""

    service: ServiceModel
    protocol: str
    operation: str | None
    #: The operation the request names (an ``Action``, a target), known to the model or not.
    requested: str | None = None

    @property
    def label(self) -> str:
        """``IAM ChangePassword``: how the messages name the call."""
        service_id = self.service.metadata.get("serviceId", self.service.service_name)
        return f"{service_id} {self.operation or 'operation'}"

    @property
    def served(self) -> bool:
        """False for an S3 operation moto does not serve (see :data:`S3_SERVED`)."""
        return self.service.service_name != "s3" or self.operation in S3_SERVED


@cache
def service_model(name: str) -> ServiceModel:
    return botocore.session.get_session().get_service_model(name)


def identify(
    signing_name: str | None,
    method: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    body: bytes,
) -> Call | None:
    """Which operation of which routed service a request calls; None for other services.

    ``headers`` has lower-case names. ``signing_name`` is the service of the SigV4 credential
    scope, or None for an unsigned request.
    """
    form = parse_qs(body.decode("utf-8", "replace")) if _is_form(headers) else {}
    if signing_name is None:
        signing_name = _UNSIGNED_BY_VERSION.get((form.get("Version") or [""])[0])
    name = SERVICES.get(signing_name or "")
    if name is None:
        return None
    if name == "sagemaker" and not headers.get("x-amz-target"):
        name = "sagemaker-runtime"
    model = service_model(name)
    if headers.get("smithy-protocol") == "rpc-v2-cbor":
        match = re.fullmatch(r"/service/[^/]+/operation/([A-Za-z0-9]+)", path)
        named = match[1] if match else None
        return Call(model, "smithy-rpc-v2-cbor", _known(model, named), named)
    target = headers.get("x-amz-target")
    if target:
        named = target.rpartition(".")[2]
        return Call(model, "json", _known(model, named), named)
    if model.protocol in ("rest-xml", "rest-json"):
        return Call(model, model.protocol, _match_rest(model, method, path, query))
    actions = form.get("Action") or parse_qs(query).get("Action") or []
    named = actions[0] if actions else None
    return Call(model, "query", _known(model, named), named)


def _is_form(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").startswith("application/x-www-form-urlencoded")


def _known(model: ServiceModel, operation: str | None) -> str | None:
    return operation if operation in model.operation_names else None


@dataclass(frozen=True)
class _Route:
    operation: str
    method: str
    path: re.Pattern[str]
    #: (key, value or None) the URI template fixes, then the query members the input requires
    query: tuple[tuple[str, str | None], ...]
    required: tuple[str, ...]
    literal_segments: int
    deprecated: bool


@cache
def _routes(name: str) -> tuple[_Route, ...]:
    """Every operation of a REST service as a matchable route."""
    model = service_model(name)
    routes = []
    for operation in model.operation_names:
        operation_model = model.operation_model(operation)
        template, _, query = operation_model.http["requestUri"].partition("?")
        parts = []
        literal = 0
        for segment in [s for s in template.split("/") if s]:
            if segment.startswith("{") and segment.endswith("+}"):
                parts.append(".+")
            elif segment.startswith("{"):
                parts.append("[^/]+")
            else:
                parts.append(re.escape(segment))
                literal += 1
        pattern = re.compile("/" + "/".join(parts) + ("/?" if parts else ""))
        fixed = tuple(
            (key, value or None)
            for key, _, value in (item.partition("=") for item in query.split("&") if item)
        )
        shape: Any = operation_model.input_shape
        required = tuple(
            member.serialization.get("name", member_name)
            for member_name, member in (shape.members.items() if shape is not None else ())
            if member.serialization.get("location") == "querystring"
            and member_name in shape.required_members
        )
        routes.append(
            _Route(
                operation,
                operation_model.http["method"],
                pattern,
                fixed,
                required,
                literal,
                bool(operation_model.deprecated),
            )
        )
    return tuple(routes)


def _match_rest(model: ServiceModel, method: str, path: str, query: str) -> str | None:
    """The REST operation whose method, URI template and query keys fit the request best."""
    params = parse_qs(query, keep_blank_values=True)
    best: tuple[int, int, bool] | None = None
    found = None
    for route in _routes(model.service_name):
        if route.method != method or not route.path.fullmatch(path):
            continue
        if any(
            key not in params or (value is not None and value not in params[key])
            for key, value in route.query
        ) or any(key not in params for key in route.required):
            continue
        score = (len(route.query) + len(route.required), route.literal_segments, not route.deprecated)
        if best is None or score > best:
            best, found = score, route.operation
    return found


# -- answers ------------------------------------------------------------------------------------


def not_implemented(call: Call, request_id: str) -> Answer:
    """The 400 a client gets for an operation the local SageMaker does not implement."""
    # FIDELITY services.unimplemented-operations DIFFERS: not every AWS call is implemented
    #   local: A call the local SageMaker does not implement answers HTTP 400 in its service's own
    #     format (UnknownOperationException, InvalidAction, or S3's NotImplemented) with "The local
    #     SageMaker does not implement <service> <operation> yet."
    #   why: the local SageMaker implements what the tutorial uses; moto serves much of the other
    #     services, not all of them.
    #   notice: On AWS the call works, given the permissions.
    message = f"The local SageMaker does not implement {call.label} yet."
    return error(call, CODES[call.protocol], message, 400, request_id)


def unknown_operation(call: Call, request_id: str) -> Answer:
    """The 400 for a JSON, CBOR or query request naming no operation of its service (a typo in
    ``X-Amz-Target`` or ``Action``, or none at all): never handed to moto, which fails on it."""
    # FIDELITY services.unknown-operation UNCONFIRMED: a request that names no operation of the service
    #   local: HTTP 400; query services: InvalidAction "Could not find operation <name> for
    #     version <API version>." (MissingAction "The request must contain the parameter
    #     Action." without one); JSON services: UnknownOperationException "Unknown operation
    #     '<target>'.".
    #   source: InvalidAction, MissingAction (both 400) are in the AWS "Common Errors" lists of
    #     the query services' API references; UnknownOperationException is what botocore models
    #     and AWS JSON services answer for an unknown target.
    #   why: the message texts are our best reading of AWS's; only the codes are documented.
    #   notice: the message wording can differ on AWS.
    named = call.requested
    if call.protocol == "query":
        if not named:
            message = "The request must contain the parameter Action."
            return error(call, "MissingAction", message, 400, request_id)
        version = call.service.api_version
        message = f"Could not find operation {named} for version {version}."
        return error(call, "InvalidAction", message, 400, request_id)
    message = f"Unknown operation {named or ''!r}."
    return error(call, "UnknownOperationException", message, 400, request_id)


def internal_failure(call: Call, detail: str, request_id: str) -> Answer:
    """A 500 in the call's protocol when moto itself fails on a request (its bug, not yours)."""
    code = "InternalError" if call.protocol == "rest-xml" else "InternalFailure"
    message = f"The local SageMaker failed on {call.label}: {detail}"
    return error(call, code, message, 500, request_id)


def error(call: Call, code: str, message: str, status: int, request_id: str) -> Answer:
    """An AWS error in the protocol the request used."""
    headers = [("x-amzn-RequestId", request_id)]
    if call.protocol == "json":
        version = call.service.metadata.get("jsonVersion", "1.1")
        headers.append(("Content-Type", f"application/x-amz-json-{version}"))
        body = json.dumps({"__type": code, "message": message}).encode()
    elif call.protocol == "rest-json":
        headers += [("Content-Type", "application/json"), ("x-amzn-ErrorType", code)]
        body = json.dumps({"message": message}).encode()
    elif call.protocol == "smithy-rpc-v2-cbor":
        headers += [("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor")]
        body = _cbor_text_map({"__type": code, "message": message})
    elif call.protocol == "rest-xml":
        headers.append(("Content-Type", "application/xml"))
        body = (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f"<Error><Code>{escape(code)}</Code><Message>{escape(message)}</Message>"
            f"<RequestId>{escape(request_id)}</RequestId></Error>"
        ).encode()
    else:  # query
        headers.append(("Content-Type", "text/xml"))
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{escape(code)}</Code>"
            f"<Message>{escape(message)}</Message></Error>"
            f"<RequestId>{escape(request_id)}</RequestId></ErrorResponse>"
        ).encode()
    return status, headers, body


def _cbor_text_map(items: Mapping[str, str]) -> bytes:
    """A CBOR map of text strings (RFC 8949): all an RPC v2 CBOR error body holds."""
    out = _cbor_head(5, len(items))
    for key, value in items.items():
        for text in (key, value):
            data = text.encode()
            out += _cbor_head(3, len(data)) + data
    return out


def _cbor_head(major: int, length: int) -> bytes:
    if length < 24:
        return bytes([major << 5 | length])
    for info, size in ((24, 1), (25, 2), (26, 4), (27, 8)):
        if length < 1 << (8 * size):
            return bytes([major << 5 | info]) + length.to_bytes(size, "big")
    raise ValueError("a CBOR item longer than 2**64 bytes")
