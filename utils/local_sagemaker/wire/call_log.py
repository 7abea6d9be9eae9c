"""Which AWS API calls reach the local SageMaker, one JSON line per request, when asked to.

``LOCAL_SAGEMAKER_CALL_LOG=/path/to/calls.jsonl`` (read when the gateway starts) turns it on.
Each line names the call and the IAM actions AWS would authorise for it::

    {"service": "sagemaker", "operation": "CreateModel", "access_key": "...", "app": null,
     "actions": ["sagemaker:CreateModel", "sagemaker:AddTags", "iam:PassRole"],
     "resource": "loan-model-1a2b3c4d", "tags": {"project": "...", "notebook": "02"},
     "implied": [{"action": "sagemaker:AddTags", ...}, {"action": "iam:PassRole",
                  "resource": "arn:aws:iam::...:role/...", "context": {...}}]}

The AWS rehearsal (tests/rehearsal) uses it to list every action the notebooks call and to check
the tutorial's IAM policy (``iam/``) against that list. ``app`` tells the learner's calls (none)
from the local SageMaker's own (``local-sagemaker``: they stand for the execution role's and the
services' own work) and from a client that names itself (``AWS_SDK_UA_APP_ID``).

How an operation is named, per protocol: JSON (``X-Amz-Target: Service.Operation``), query
(``Action=`` in the form body or the query string), SageMaker Runtime's REST paths, and S3's
REST requests by method, path and sub-resource. The IAM action usually has the operation's
name; where AWS authorises a call with another action, or with more than one, the tables below
say so, each with its source.
"""

from __future__ import annotations

import contextlib
import io
import json
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from ..core.settings import ACCOUNT_ID, STATE_APP_ID

#: IAM service prefix per SigV4 signing name, where they differ.
IAM_PREFIX = {"monitoring": "cloudwatch", "runtime.sagemaker": "sagemaker"}

#: S3 operations authorised by another action ("Amazon S3 actions" in the S3 user guide:
#: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html).
S3_ACTION = {
    "ListObjectsV2": "ListBucket",
    "ListObjects": "ListBucket",
    "HeadBucket": "ListBucket",
    "HeadObject": "GetObject",
    "DeleteObjects": "DeleteObject",
    "CreateMultipartUpload": "PutObject",
    "UploadPart": "PutObject",
    "CompleteMultipartUpload": "PutObject",
    "ListBuckets": "ListAllMyBuckets",
}

#: Calls that no IAM policy governs: GetCallerIdentity works even when every action is denied
#: (https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html).
NO_PERMISSION_NEEDED = {("sts", "GetCallerIdentity")}

_JSON_BODY_LIMIT = 1 << 20


def _signing_scope(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    """(access key id, signing service) from the SigV4 ``Authorization`` header."""
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    index = auth.find(marker)
    if index < 0:
        return None, None
    scope = auth[index + len(marker) :].split(",", 1)[0].split("/")
    if len(scope) < 5:
        return scope[0] or None, None
    return scope[0], scope[3].lower()


def user_agent_app(environ: dict[str, Any]) -> str | None:
    """The ``app/<id>`` a client puts in its User-Agent (``AWS_SDK_UA_APP_ID``), if any."""
    agent = str(environ.get("HTTP_USER_AGENT", ""))
    for part in agent.split():
        if part.startswith("app/"):
            return part[len("app/") :]
    return None


def _peek_body(environ: dict[str, Any]) -> bytes:
    """Read the (small) body and put an equivalent stream back for the handler."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length <= 0 or length > _JSON_BODY_LIMIT:
        return b""
    body = bytes(environ["wsgi.input"].read(length))
    environ["wsgi.input"] = io.BytesIO(body)
    return body


def _s3_operation(
    method: str, path: str, query: dict[str, list[str]], environ: dict[str, Any]
) -> str:
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    if not bucket:
        return "ListBuckets"
    if not key:
        if method == "GET":
            if "location" in query:
                return "GetBucketLocation"
            if "tagging" in query:
                return "GetBucketTagging"
            return "ListObjectsV2" if query.get("list-type") == ["2"] else "ListObjects"
        return {
            "HEAD": "HeadBucket",
            "PUT": "CreateBucket",
            "DELETE": "DeleteBucket",
            "POST": "DeleteObjects" if "delete" in query else "PostBucket",
        }.get(method, method)
    if method == "PUT":
        if "uploadId" in query:
            return "UploadPart"
        if "tagging" in query:
            return "PutObjectTagging"
        return "CopyObject" if environ.get("HTTP_X_AMZ_COPY_SOURCE") else "PutObject"
    if method == "POST":
        return "CreateMultipartUpload" if "uploads" in query else "CompleteMultipartUpload"
    if method == "DELETE":
        return "AbortMultipartUpload" if "uploadId" in query else "DeleteObject"
    if method == "GET":
        return "GetObjectTagging" if "tagging" in query else "GetObject"
    return {"HEAD": "HeadObject"}.get(method, method)


def describe_request(environ: dict[str, Any]) -> dict[str, Any] | None:
    """The service, operation, IAM actions and main resource of one request, or None."""
    access_key, service = _signing_scope(environ)
    if service is None:
        return None
    path = environ.get("PATH_INFO", "")
    method = environ.get("REQUEST_METHOD", "GET")
    query = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    params: dict[str, Any] = {}
    resource = None
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if target:
        operation = target.rsplit(".", 1)[-1]
        try:
            params = json.loads(_peek_body(environ) or b"{}")
        except ValueError:
            params = {}
    elif service == "s3":
        operation = _s3_operation(method, unquote(path), query, environ)
        resource = "arn:aws:s3:::" + unquote(path).lstrip("/")
        if operation == "DeleteObjects":  # the keys are in the body: objects of this bucket
            resource += "/*"
    elif service == "sagemaker" and path.startswith("/endpoints/"):
        name, _, tail = path[len("/endpoints/") :].partition("/")
        operation = "InvokeEndpointAsync" if tail == "async-invocations" else "InvokeEndpoint"
        resource = unquote(name)
    else:
        form = parse_qs(_peek_body(environ).decode("utf-8", "replace")) if method == "POST" else {}
        action = (form.get("Action") or query.get("Action") or [None])[0]
        if action is None:
            return None
        operation = action
        params = {k: v[0] for k, v in form.items()}
    prefix = IAM_PREFIX.get(service, service)
    actions = [] if (service, operation) in NO_PERMISSION_NEEDED else [f"{prefix}:{operation}"]
    if service == "s3" and operation in S3_ACTION:
        actions = [f"s3:{S3_ACTION[operation]}"]
    implied = implied_actions(prefix, operation, params)
    actions += [item["action"] for item in implied]
    if resource is None and isinstance(params, dict):
        resource = _resource_name(params)
        stream = params.get("logStreamName")
        if operation == "DeleteLogStream" and isinstance(stream, str):
            # authorised on the stream itself: log-group:<group>:log-stream:<stream>
            resource = f"{resource}:log-stream:{stream}"
    entry = {
        "service": service,
        "operation": operation,
        "actions": actions,
        "resource": resource,
        "access_key": access_key,
        "app": user_agent_app(environ),
    }
    if implied:
        entry["implied"] = implied
    context = request_context(prefix, params)
    if context:  # condition keys of the call's own action
        entry["context"] = context
    tags = request_tags(params)
    if tags:  # the request's tags, which aws:RequestTag conditions look at
        entry["tags"] = tags
    return entry


def request_context(prefix: str, params: dict[str, Any]) -> dict[str, str]:
    """Service condition keys the request sets (e.g. Application Auto Scaling's namespace)."""
    if prefix == "application-autoscaling" and isinstance(params, dict):
        keys = {
            "application-autoscaling:service-namespace": params.get("ServiceNamespace"),
            "application-autoscaling:scalable-dimension": params.get("ScalableDimension"),
        }
        return {k: v for k, v in keys.items() if isinstance(v, str)}
    return {}


def request_tags(params: dict[str, Any]) -> dict[str, str]:
    """Tags a create call sets, in any protocol's shape: a ``Tags`` list of ``Key``/``Value``
    (JSON), ``Tags.member.N.Key`` (query, SNS) or a ``tags`` map (SQS)."""
    if not isinstance(params, dict):
        return {}
    tags = params.get("Tags")
    if isinstance(tags, list):
        return {str(t.get("Key")): str(t.get("Value")) for t in tags if isinstance(t, dict)}
    if isinstance(params.get("tags"), dict):
        return {str(k): str(v) for k, v in params["tags"].items()}
    found = {}
    index = 1
    while f"Tags.member.{index}.Key" in params:
        found[params[f"Tags.member.{index}.Key"]] = params.get(f"Tags.member.{index}.Value", "")
        index += 1
    return found


#: The service-linked role Application Auto Scaling creates for SageMaker endpoints.
_AUTOSCALING_SERVICE = "sagemaker.application-autoscaling.amazonaws.com"
_AUTOSCALING_ROLE = (
    f"arn:aws:iam::{ACCOUNT_ID}:role/aws-service-role/{_AUTOSCALING_SERVICE}/"
    "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint"
)


def implied_actions(prefix: str, operation: str, params: dict[str, Any]) -> list[dict[str, Any]]:
    """Further actions AWS checks for this call, each with its resource and request context.

    * SageMaker ``Create*`` with ``Tags`` also needs ``sagemaker:AddTags``
      (https://docs.aws.amazon.com/sagemaker/latest/dg/security_iam_id-based-policy-examples.html,
      "Require tagging", and the service authorization reference's note on tagging on create);
      so does tagging an SNS topic (``sns:TagResource``) or an SQS queue (``sqs:TagQueue``) on
      creation (the CreateTopic and CreateQueue API references say so);
    * passing an execution role (``CreateModel``'s ``ExecutionRoleArn``) needs ``iam:PassRole``
      (https://docs.aws.amazon.com/sagemaker/latest/dg/sagemaker-roles.html#sagemaker-roles-pass-role);
    * autoscaling a SageMaker variant needs SageMaker and CloudWatch alarm permissions and, the
      first time, ``iam:CreateServiceLinkedRole``
      (https://docs.aws.amazon.com/sagemaker/latest/dg/endpoint-auto-scaling-prerequisites.html).
    """
    implied: list[dict[str, Any]] = []

    def add(action: str, resource: str | None = None, **context: Any) -> None:
        implied.append({"action": action, "resource": resource, "context": context})

    tagged = bool(request_tags(params))
    if prefix == "sagemaker" and operation.startswith("Create") and tagged:
        add("sagemaker:AddTags")
    if (prefix, operation) == ("sns", "CreateTopic") and tagged:
        add("sns:TagResource")
    if (prefix, operation) == ("sqs", "CreateQueue") and tagged:
        add("sqs:TagQueue")
    role = params.get("ExecutionRoleArn")
    if prefix == "sagemaker" and isinstance(role, str):
        add("iam:PassRole", role, **{"iam:PassedToService": "sagemaker.amazonaws.com"})
    if prefix == "application-autoscaling" and params.get("ServiceNamespace") == "sagemaker":
        endpoint = str(params.get("ResourceId", "")).split("/")[1:2]
        name = endpoint[0] if endpoint else None
        if operation == "RegisterScalableTarget":
            add("sagemaker:DescribeEndpoint", name)
            add("sagemaker:DescribeEndpointConfig", name)
            add("sagemaker:UpdateEndpointWeightsAndCapacities", name)
            add(
                "iam:CreateServiceLinkedRole",
                _AUTOSCALING_ROLE,
                **{"iam:AWSServiceName": _AUTOSCALING_SERVICE},
            )
        if operation == "PutScalingPolicy" and params.get("PolicyType") == "TargetTrackingScaling":
            # target tracking creates its alarms with the caller's permissions
            add("cloudwatch:PutMetricAlarm", f"TargetTracking-{params.get('ResourceId')}-*")
            add("cloudwatch:DescribeAlarms", f"TargetTracking-{params.get('ResourceId')}-*")
        if operation in ("DeleteScalingPolicy", "DeregisterScalableTarget"):
            add("cloudwatch:DeleteAlarms", f"TargetTracking-{params.get('ResourceId')}-*")
    return implied


#: Parameters naming a call's main resource, most specific first (CreateTransformJob names its
#: job and its model; CreateEndpoint its endpoint and its configuration).
_NAME_KEYS = (
    "EndpointName",
    "TransformJobName",
    "EndpointConfigName",
    "ModelName",
    "PolicySourceArn",
    "RoleName",
    "logGroupName",
    "ResourceId",
    "QueueName",
    "Name",
    "TopicArn",
    "QueueUrl",
    "AlarmName",
    "ResourceArn",
)


def _resource_name(params: dict[str, Any]) -> str | None:
    alarms = params.get("AlarmNames") or params.get("AlarmNames.member.1")
    if alarms:  # DeleteAlarms, DescribeAlarms by name: the first one stands for all
        return str(alarms[0] if isinstance(alarms, list) else alarms)
    for key in _NAME_KEYS:
        value = params.get(key)
        if isinstance(value, str):
            return value
    return None


class CallLog:
    """Appends one JSON line per described request to a file (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._thread = threading.local()  # .held: the HeldCalls of this thread's requests
        path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, environ: dict[str, Any]) -> None:
        entry = describe_request(environ)
        if entry is None or entry.get("app") == STATE_APP_ID:
            return  # not an AWS call: the local SageMaker saving or restoring its own state
        line = json.dumps(entry, sort_keys=True) + "\n"
        held: HeldCalls | None = getattr(self._thread, "held", None)
        if held is not None:
            held.add(line)
        else:
            self.write([line])

    def write(self, lines: list[str]) -> None:
        if lines:
            with self._lock, self.path.open("a", encoding="utf-8") as out:
                out.write("".join(lines))

    @contextlib.contextmanager
    def hold(self) -> Iterator[Callable[[], None]]:
        """Hold the entries of the requests this thread makes inside the block (the gateway's
        own calls reach it in the calling thread): they are written when the function it yields
        is called, at once if that was before, and never if it is not called."""
        held = HeldCalls(self)
        self._thread.held = held
        try:
            yield held.release
        finally:
            self._thread.held = None


class HeldCalls:
    """Entries held by :meth:`CallLog.hold` until :meth:`release`."""

    def __init__(self, log: CallLog) -> None:
        self._log = log
        self._lines: list[str] = []
        self._released = False
        self._lock = threading.Lock()

    def add(self, line: str) -> None:
        with self._lock:
            if not self._released:
                self._lines.append(line)
                return
        self._log.write([line])

    def release(self) -> None:
        with self._lock:
            self._released = True
            lines, self._lines = self._lines, []
        self._log.write(lines)


def read(path: Path) -> list[dict[str, Any]]:
    """Every entry a call log holds."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
