"""AWS Signature Version 4, checked the way AWS checks it, for every request the gateway serves.

A request proves it comes from the holder of the local key (``credentials.py``) in one of the
forms AWS accepts:

* the ``Authorization`` header, which every SDK call and the AWS CLI send;
* the query string (``X-Amz-Algorithm``, ``X-Amz-Credential`` ...): presigned URLs;
* an S3 POST policy: the form fields of ``generate_presigned_post``, for browser uploads;

and, for S3 bodies sent as ``aws-chunked`` with ``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``, a signature
per chunk. S3 in us-east-1 (the local SageMaker's region) also takes Signature Version 2 (HMAC-SHA1
over S3's string to sign): boto3 presigns S3 URLs and POST forms that way unless the client is
configured with ``signature_version="s3v4"``, so a notebook's presigned URL must verify as on AWS. :class:`Verifier` answers with the access key id or raises :class:`Refusal`, which
names *what* failed; ``auth_errors`` turns it into the error AWS gives for that service.

The order of the checks is AWS's: the form of the signature, then the access key, then the
signature itself, and only then the time, so a wrong secret reads as a wrong secret even on a
request that is also too old. Requests may be 15 minutes off the local clock either way; a
presigned URL is good from 15 minutes before its ``X-Amz-Date`` until ``X-Amz-Expires`` seconds
after it (at most 7 days).

Cost on the hot path: the signing key (four HMACs) is derived once per key, day, region and
service and cached; per request there is one SHA-256 of the canonical request and one HMAC. The
body is hashed only when its hash is part of the signature (never for ``UNSIGNED-PAYLOAD``) and
read only once: :class:`Body` keeps it for the service behind the gateway.

Sources for the texts and rules of S3 (which has its own): the SigV4 pages of the Amazon S3 API
reference (header, query string, chunked upload and POST policy forms) and their worked
examples; the texts of the other services are those AWS returns to botocore (see ``auth_errors``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import io
import json
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any, Protocol
from urllib.parse import quote, unquote, unquote_plus, unquote_to_bytes

from botocore.utils import normalize_url_path

from .credentials import LocalCredentials

ALGORITHM = "AWS4-HMAC-SHA256"
TERMINATOR = "aws4_request"
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"
STREAMING_UNSIGNED_TRAILER = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
STREAMING_SIGNED = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
STREAMING_SIGNED_TRAILER = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#: What S3 accepts in ``x-amz-content-sha256`` besides a SHA-256 (the ECDSA variants need keys the
#: local SageMaker does not issue; they fail as a signature mismatch).
PAYLOAD_LITERALS = frozenset(
    {
        UNSIGNED_PAYLOAD,
        STREAMING_UNSIGNED_TRAILER,
        STREAMING_SIGNED,
        STREAMING_SIGNED_TRAILER,
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD",
        "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD-TRAILER",
    }
)
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()

# FIDELITY auth.clock-skew UNCONFIRMED: how far a request's time may be from the clock
#   local: 15 minutes, for every service.
#   source: AWS's documented rule (the RequestExpired entry of every service's Common Errors
#     page), and what S3, STS and IAM answer.
#   why: a few AWS JSON services allow only 5 minutes; SageMaker's own limit is not on record.
#   notice: a request 5 to 15 minutes off may be refused by SageMaker on AWS.
#: Requests more than this far from the local clock are refused.
MAX_SKEW = timedelta(minutes=15)
_MAX_SKEW_SECONDS = MAX_SKEW.total_seconds()
#: The longest ``X-Amz-Expires`` S3 accepts: 7 days.
MAX_PRESIGNED_SECONDS = 604_800

_AMZ_DATE = re.compile(r"^\d{8}T\d{6}Z$")
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")
_QUERY_AUTH_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
_POST_AUTH_FIELDS = ("x-amz-algorithm", "x-amz-credential", "x-amz-date", "x-amz-signature")
_V2_QUERY_PARAMS = ("AWSAccessKeyId", "Signature", "Expires")
_V2_POST_FIELDS = ("awsaccesskeyid", "signature")
#: Query parameters that are part of a Signature Version 2 resource (botocore's list, S3's rule).
V2_SUBRESOURCES = frozenset(
    [
        "accelerate",
        "acl",
        "cors",
        "defaultObjectAcl",
        "location",
        "logging",
        "partNumber",
        "policy",
        "requestPayment",
        "torrent",
        "versioning",
        "versionId",
        "versions",
        "website",
        "uploads",
        "uploadId",
        "response-content-type",
        "response-content-language",
        "response-expires",
        "response-cache-control",
        "response-content-disposition",
        "response-content-encoding",
        "delete",
        "lifecycle",
        "tagging",
        "restore",
        "storageClass",
        "notification",
        "replication",
        "analytics",
        "metrics",
        "inventory",
        "select",
        "select-type",
        "object-lock",
    ]
)
#: Form fields an S3 POST policy need not mention (AWS: "each form field that you specify in a
#: form, except x-amz-signature, file, policy, and field names that have an x-ignore- prefix";
#: with version 2, "except AWSAccessKeyId, signature, file, policy ...").
_POST_EXEMPT_FIELDS = frozenset({"x-amz-signature", "file", "policy"})
_V2_POST_EXEMPT_FIELDS = frozenset({"awsaccesskeyid", "signature", "file", "policy"})


class Reason:
    """Why a request was refused; ``auth_errors`` maps each to each protocol's error."""

    MISSING = "missing"  # no signature of any form
    UNSUPPORTED_SCHEME = "unsupported-scheme"  # Authorization: Bearer ..., Basic ...
    SIGNATURE_V2 = "signature-v2"  # Signature Version 2 where only version 4 is accepted
    V2_QUERY_PARAMETERS = "v2-query-parameters"  # a version 2 presigned URL's parameters
    MALFORMED = "malformed"  # the Authorization header or the credential scope
    WRONG_SERVICE = "wrong-service"  # scope names another service than the one called
    MISSING_DATE = "missing-date"
    BAD_DATE = "bad-date"
    SCOPE_DATE = "scope-date"  # the scope's date is not the request's date
    HOST_NOT_SIGNED = "host-not-signed"
    UNKNOWN_KEY = "unknown-key"
    INVALID_TOKEN = "invalid-token"  # a session token: local keys never have one
    MISMATCH = "mismatch"
    HEADERS_NOT_SIGNED = "headers-not-signed"  # S3: an x-amz-* header outside SignedHeaders
    PAYLOAD_HASH_MISSING = "payload-hash-missing"  # S3: no x-amz-content-sha256
    PAYLOAD_HASH_INVALID = "payload-hash-invalid"
    PAYLOAD_MISMATCH = "payload-mismatch"  # the body is not what x-amz-content-sha256 says
    CHUNK_MISMATCH = "chunk-mismatch"  # aws-chunked: a chunk or trailer signature
    CHUNK_MALFORMED = "chunk-malformed"
    SKEWED = "skewed"
    BOTH_MECHANISMS = "both-mechanisms"  # Authorization header and query parameters
    QUERY_PARAMETERS = "query-parameters"  # a presigned URL's parameters
    EXPIRED = "expired"  # a presigned URL after X-Amz-Expires
    NOT_YET_VALID = "not-yet-valid"  # a presigned URL more than 15 minutes early
    POST_FIELD = "post-field"  # S3 POST: a missing or malformed form field
    POLICY_INVALID = "policy-invalid"  # S3 POST: the policy document itself
    POLICY_DENIED = "policy-denied"  # S3 POST: expired policy, failed condition, extra field
    ENTITY_TOO_SMALL = "entity-too-small"  # S3 POST: content-length-range
    ENTITY_TOO_LARGE = "entity-too-large"


class Refusal(Exception):
    """A request the local SageMaker refuses, and what the error needs to say about it.

    ``message`` is set where the text is specific to the case (it then is AWS's text for the
    service being called); ``details`` carries the values errors quote (key id, times, the
    strings that were signed).
    """

    def __init__(self, reason: str, message: str | None = None, **details: Any) -> None:
        super().__init__(message or reason)
        self.reason = reason
        self.message = message
        self.details = details


@dataclass(frozen=True)
class HttpRequest:
    """What the signature covers, exactly as received (path and query still percent-encoded).

    ``headers`` maps lower-case names to values (repeated headers joined with ``,``).
    ``service`` is the service that will answer (``"s3"``, ``"sagemaker"`` ...) when the request
    itself says which (an ``X-Amz-Target``), else None: then the credential scope decides.
    """

    method: str
    raw_path: str
    raw_query: str
    headers: Mapping[str, str]
    service: str | None = None
    query: list[tuple[str, str]] = field(init=False)

    def __post_init__(self) -> None:
        pairs = []
        for part in self.raw_query.split("&"):
            if part:
                name, _, value = part.partition("=")
                pairs.append((name, value))
        object.__setattr__(self, "query", pairs)

    def param(self, name: str) -> str | None:
        """A query parameter by name (case-insensitive, as S3 reads them), decoded."""
        lower = name.lower()
        for key, value in self.query:
            if unquote_plus(key).lower() == lower:
                return unquote_plus(value)
        return None


class Body(Protocol):
    """The request body, read at most once, only when a check needs it."""

    def sha256(self) -> str:
        """Hex SHA-256 of the whole body."""

    def read(self) -> bytes:
        """The whole body."""


@dataclass(frozen=True)
class Scope:
    """``<key>/<date>/<region>/<service>/aws4_request``."""

    access_key: str
    date: str
    region: str
    service: str

    @property
    def text(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


class Verifier:
    """Checks signatures made with any of ``credentials``; thread-safe."""

    def __init__(
        self,
        credentials: Iterable[LocalCredentials],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._secrets = {c.access_key_id: c.secret_access_key for c in credentials}
        self._clock = clock
        self._keys: dict[tuple[str, str, str, str], bytes] = {}

    # -- entry point ----------------------------------------------------------------------------

    def verify(self, request: HttpRequest, body: Body) -> str:
        """The access key id that signed ``request``, or :class:`Refusal`."""
        authorization = request.headers.get("authorization", "")
        presigned = presigned_v2 = False
        if request.query:
            presigned = request.param("X-Amz-Algorithm") is not None or any(
                request.param(name) is not None for name in ("X-Amz-Credential", "X-Amz-Signature")
            )
            presigned_v2 = any(request.param(name) is not None for name in _V2_QUERY_PARAMS[:2])
        if authorization.strip():
            if presigned or presigned_v2:
                raise Refusal(Reason.BOTH_MECHANISMS, value=authorization)
            if authorization.startswith("AWS "):
                return self._verify_v2_header(request, authorization)
            return self._verify_header(request, body, authorization.strip())
        if presigned:
            return self._verify_query(request, body)
        if presigned_v2:
            return self._verify_v2_query(request)
        content_type = request.headers.get("content-type", "")
        if request.method == "POST" and content_type.lower().startswith("multipart/form-data"):
            return self._verify_post(request, body)
        raise Refusal(Reason.MISSING)

    # -- the Authorization header ---------------------------------------------------------------

    def _verify_header(self, request: HttpRequest, body: Body, authorization: str) -> str:
        scheme, _, rest = authorization.partition(" ")
        if scheme != ALGORITHM:
            raise Refusal(Reason.UNSUPPORTED_SCHEME, value=authorization, algorithm=scheme)
        components = _components(rest, authorization)
        scope = _parse_scope(components["Credential"], authorization, query=False)
        is_s3 = scope.service == "s3"
        self._check_service(request, scope)
        signed = [name.strip().lower() for name in components["SignedHeaders"].split(";")]
        timestamp, when = self._request_time(request)
        if scope.date != timestamp[:8]:
            raise Refusal(Reason.SCOPE_DATE, scope_date=scope.date, timestamp=timestamp)
        if "host" not in signed:
            raise Refusal(Reason.HOST_NOT_SIGNED, names="host")
        secret = self._secret(scope.access_key)
        if "x-amz-security-token" in request.headers:
            raise Refusal(Reason.INVALID_TOKEN, token=request.headers["x-amz-security-token"])
        declared = request.headers.get("x-amz-content-sha256")
        if is_s3:
            if declared is None:
                raise Refusal(Reason.PAYLOAD_HASH_MISSING)
            if declared not in PAYLOAD_LITERALS and not _HEX64.match(declared):
                raise Refusal(Reason.PAYLOAD_HASH_INVALID, value=declared)
        payload_hash = declared if declared is not None else body.sha256()
        canonical = canonical_request(
            request.method,
            canonical_uri(request.raw_path, s3=is_s3),
            canonical_query(request.query),
            [(name, request.headers.get(name, "")) for name in signed],
            payload_hash,
        )
        key = self._signing_key(secret, scope)
        string_to_sign = _string_to_sign(timestamp, scope, canonical)
        self._compare(components["Signature"], key, string_to_sign, scope, canonical)
        if is_s3:
            _check_all_amz_headers_signed(request, signed, exempt=())
        self._check_skew(when, timestamp)
        if declared is None or declared in (UNSIGNED_PAYLOAD, STREAMING_UNSIGNED_TRAILER):
            return scope.access_key
        if declared in (STREAMING_SIGNED, STREAMING_SIGNED_TRAILER):
            verify_chunks(
                body.read(),
                key,
                timestamp,
                scope,
                seed=components["Signature"].lower(),
                trailer=declared == STREAMING_SIGNED_TRAILER,
            )
        elif _HEX64.match(declared):
            computed = body.sha256()
            if computed != declared.lower():
                raise Refusal(Reason.PAYLOAD_MISMATCH, client=declared, computed=computed)
        return scope.access_key

    # -- presigned URLs -------------------------------------------------------------------------

    def _verify_query(self, request: HttpRequest, body: Body) -> str:
        values = {name: request.param(name) for name in _QUERY_AUTH_PARAMS}
        missing = [name for name, value in values.items() if value is None]
        credential = values["X-Amz-Credential"] or ""
        service = (credential.split("/") + [""] * 5)[3]
        if missing:
            raise Refusal(Reason.QUERY_PARAMETERS, "missing", missing=missing, service=service)
        algorithm, amz_date, expires_text = (
            values["X-Amz-Algorithm"],
            values["X-Amz-Date"],
            values["X-Amz-Expires"],
        )
        if algorithm != ALGORITHM:
            raise Refusal(Reason.QUERY_PARAMETERS, "algorithm", value=algorithm)
        try:
            signed_at = _amz_time(amz_date or "") if _AMZ_DATE.match(amz_date or "") else None
        except Refusal:
            signed_at = None
        if signed_at is None:
            raise Refusal(Reason.QUERY_PARAMETERS, "date", value=amz_date)
        try:
            expires = int(expires_text or "")
        except ValueError:
            raise Refusal(Reason.QUERY_PARAMETERS, "expires-number") from None
        if expires < 0:
            raise Refusal(Reason.QUERY_PARAMETERS, "expires-negative")
        if expires > MAX_PRESIGNED_SECONDS:
            raise Refusal(Reason.QUERY_PARAMETERS, "expires-week")
        scope = _parse_scope(credential, credential, query=True)
        assert amz_date is not None
        if scope.date != amz_date[:8]:
            raise Refusal(Reason.SCOPE_DATE, scope_date=scope.date, timestamp=amz_date, query=True)
        self._check_service(request, scope)
        is_s3 = scope.service == "s3"
        signed = [n.strip().lower() for n in (values["X-Amz-SignedHeaders"] or "").split(";")]
        if "host" not in signed:
            raise Refusal(Reason.HOST_NOT_SIGNED, names="host")
        secret = self._secret(scope.access_key)
        token = request.param("X-Amz-Security-Token")
        if token is not None:
            raise Refusal(Reason.INVALID_TOKEN, token=token)
        if is_s3:
            payload_hash = request.param("X-Amz-Content-Sha256") or UNSIGNED_PAYLOAD
        else:
            payload_hash = body.sha256()
        unsigned_query = [
            (name, value)
            for name, value in request.query
            if unquote_plus(name).lower() != "x-amz-signature"
        ]
        canonical = canonical_request(
            request.method,
            canonical_uri(request.raw_path, s3=is_s3),
            canonical_query(unsigned_query),
            [(name, request.headers.get(name, "")) for name in signed],
            payload_hash,
        )
        key = self._signing_key(secret, scope)
        string_to_sign = _string_to_sign(amz_date, scope, canonical)
        provided = values["X-Amz-Signature"] or ""
        self._compare(provided, key, string_to_sign, scope, canonical)
        if is_s3:
            _check_all_amz_headers_signed(request, signed, exempt=("x-amz-content-sha256",))
        now = datetime.fromtimestamp(self._clock(), UTC)
        if signed_at - now > MAX_SKEW:
            raise Refusal(Reason.NOT_YET_VALID, date=amz_date, server_time=now)
        ends = signed_at + timedelta(seconds=expires)
        if expires == 0 or now > ends:
            raise Refusal(Reason.EXPIRED, expires=expires, expires_at=ends, server_time=now)
        return scope.access_key

    # -- S3 POST policies -----------------------------------------------------------------------

    def _verify_post(self, request: HttpRequest, body: Body) -> str:
        form = parse_form(request.headers.get("content-type", ""), body.read())
        fields = {name.lower(): value for name, value in form.fields}
        if any(name in fields for name in _V2_POST_FIELDS):
            return self._verify_v2_post(request, form, fields)
        if "policy" not in fields and not any(name in fields for name in _POST_AUTH_FIELDS):
            raise Refusal(Reason.MISSING)  # anonymous: a private bucket refuses it
        for name in (*_POST_AUTH_FIELDS, "policy"):
            if name not in fields:
                raise Refusal(Reason.POST_FIELD, "missing", field=_post_field_title(name))
        if fields["x-amz-algorithm"] != ALGORITHM:
            # FIDELITY auth.s3-post-algorithm UNCONFIRMED: another algorithm than AWS4-HMAC-SHA256 in an S3 POST form
            #   local: the text S3 gives for the query-string form (Amazon S3 API reference,
            #     "Authenticating requests: query parameters").
            #   why: S3's text for the POST form is not on record.
            #   notice: the message wording can differ on AWS.
            raise Refusal(Reason.POST_FIELD, "algorithm", field="X-Amz-Algorithm")
        scope = _parse_scope(fields["x-amz-credential"], fields["x-amz-credential"], post=True)
        secret = self._secret(scope.access_key)
        if "x-amz-security-token" in fields:
            raise Refusal(Reason.INVALID_TOKEN, token=fields["x-amz-security-token"])
        policy_text = fields["policy"]
        key = self._signing_key(secret, scope)
        expected = hmac.new(key, policy_text.encode(), hashlib.sha256).hexdigest()
        provided = fields["x-amz-signature"]
        if not hmac.compare_digest(expected, provided.lower()):
            raise Refusal(
                Reason.MISMATCH,
                access_key=scope.access_key,
                string_to_sign=policy_text,
                signature=provided,
                canonical_request=None,
            )
        policy = _decode_policy(policy_text)
        bucket = _bucket_of(request.raw_path)
        self._check_policy(policy, form, fields, bucket, exempt=_POST_EXEMPT_FIELDS)
        return scope.access_key

    # -- Signature Version 2 (S3 only) ---------------------------------------------------------

    def _verify_v2_header(self, request: HttpRequest, authorization: str) -> str:
        """``Authorization: AWS <key>:<signature>``, dated by ``Date`` (or ``x-amz-date``)."""
        self._check_v2_allowed(request)
        access_key, _, provided = authorization[4:].strip().partition(":")
        amz_date = request.headers.get("x-amz-date")
        date = request.headers.get("date")
        try:
            when = parsedate_to_datetime(amz_date or date or "").astimezone(UTC)
        except (TypeError, ValueError):
            raise Refusal(Reason.MISSING_DATE) from None
        # With x-amz-date the Date line is empty: x-amz-date is signed among the amz headers.
        string_to_sign = _v2_string_to_sign(request, "" if amz_date else (date or ""))
        self._compare_v2(access_key, provided, string_to_sign)
        _refuse_token(request.headers.get("x-amz-security-token"))
        self._check_skew(when, when.strftime("%Y%m%dT%H%M%SZ"))
        return access_key

    def _verify_v2_query(self, request: HttpRequest) -> str:
        """A version 2 presigned URL: ``AWSAccessKeyId``, ``Signature``, ``Expires``."""
        self._check_v2_allowed(request)
        values = {name: request.param(name) for name in _V2_QUERY_PARAMS}
        if any(value is None for value in values.values()):
            raise Refusal(Reason.V2_QUERY_PARAMETERS)
        expires_text = values["Expires"] or ""
        string_to_sign = _v2_string_to_sign(request, expires_text)
        access_key = values["AWSAccessKeyId"] or ""
        self._compare_v2(access_key, values["Signature"] or "", string_to_sign)
        _refuse_token(request.param("x-amz-security-token"))
        now = datetime.fromtimestamp(self._clock(), UTC)
        try:
            ends = datetime.fromtimestamp(int(expires_text), UTC)
        except (ValueError, OverflowError, OSError):
            raise Refusal(Reason.V2_QUERY_PARAMETERS) from None
        if now > ends:
            raise Refusal(Reason.EXPIRED, expires=None, expires_at=ends, server_time=now)
        return access_key

    def _verify_v2_post(self, request: HttpRequest, form: Form, fields: dict[str, str]) -> str:
        for name, title in (
            ("awsaccesskeyid", "AWSAccessKeyId"),
            ("signature", "Signature"),
            ("policy", "Policy"),
        ):
            if name not in fields:
                raise Refusal(Reason.POST_FIELD, "missing", field=title)
        policy_text = fields["policy"]
        self._compare_v2(fields["awsaccesskeyid"], fields["signature"], policy_text)
        _refuse_token(fields.get("x-amz-security-token"))
        policy = _decode_policy(policy_text)
        bucket = _bucket_of(request.raw_path)
        self._check_policy(policy, form, fields, bucket, exempt=_V2_POST_EXEMPT_FIELDS)
        return fields["awsaccesskeyid"]

    @staticmethod
    def _check_v2_allowed(request: HttpRequest) -> None:
        if request.service is not None or "x-amz-target" in request.headers:
            raise Refusal(Reason.SIGNATURE_V2)  # only S3 ever took version 2 this way

    def _compare_v2(self, access_key: str, provided: str, string_to_sign: str) -> None:
        """HMAC-SHA1 of ``string_to_sign`` with the key's secret, base64, as S3 compares it."""
        secret = self._secret(access_key)
        digest = hmac.new(secret.encode(), string_to_sign.encode(), hashlib.sha1).digest()
        if not hmac.compare_digest(base64.b64encode(digest).decode(), provided.strip()):
            raise Refusal(
                Reason.MISMATCH,
                access_key=access_key,
                string_to_sign=string_to_sign,
                signature=provided,
                canonical_request=None,
            )

    def _check_policy(
        self,
        policy: dict[str, Any],
        form: Form,
        fields: dict[str, str],
        bucket: str,
        exempt: frozenset[str],
    ) -> None:
        expiration = _policy_expiration(policy.get("expiration"))
        if datetime.fromtimestamp(self._clock(), UTC) > expiration:
            raise Refusal(Reason.POLICY_DENIED, "Invalid according to Policy: Policy expired.")
        conditions = policy.get("conditions")
        if conditions is None:
            raise Refusal(Reason.POLICY_INVALID, "Invalid Policy: Policy missing conditions.")
        if not isinstance(conditions, list):
            raise Refusal(
                Reason.POLICY_INVALID, "Invalid Policy: Invalid 'conditions' value: must be a List."
            )
        values = {**fields, "bucket": bucket}
        covered = set()
        for condition in conditions:
            name = _check_condition(condition, values, form.file_size)
            if name:
                covered.add(name)
        for name, _ in form.fields:
            lower = name.lower()
            if lower in exempt or lower.startswith("x-ignore-") or lower in covered:
                continue
            raise Refusal(
                Reason.POLICY_DENIED, f"Invalid according to Policy: Extra input fields: {name}"
            )

    # -- shared steps ---------------------------------------------------------------------------

    def _check_service(self, request: HttpRequest, scope: Scope) -> None:
        if request.service is not None and scope.service != request.service:
            raise Refusal(Reason.WRONG_SERVICE, expected=request.service, found=scope.service)

    def _secret(self, access_key: str) -> str:
        secret = self._secrets.get(access_key)
        if secret is None:
            raise Refusal(Reason.UNKNOWN_KEY, access_key=access_key)
        return secret

    def _request_time(self, request: HttpRequest) -> tuple[str, datetime]:
        """``X-Amz-Date`` (or ``Date``) as SigV4's timestamp text and as a time."""
        amz_date = request.headers.get("x-amz-date")
        if amz_date is not None:
            if not _AMZ_DATE.match(amz_date):
                raise Refusal(Reason.BAD_DATE, value=amz_date)
            when = _amz_time(amz_date)
            return amz_date, when
        date = request.headers.get("date")
        if date is None:
            raise Refusal(Reason.MISSING_DATE)
        try:
            when = parsedate_to_datetime(date).astimezone(UTC)
        except (TypeError, ValueError):
            raise Refusal(Reason.BAD_DATE, value=date) from None
        return when.strftime("%Y%m%dT%H%M%SZ"), when

    def _check_skew(self, when: datetime, timestamp: str) -> None:
        clock = self._clock()
        if abs(clock - when.timestamp()) > _MAX_SKEW_SECONDS:
            now = datetime.fromtimestamp(clock, UTC)
            raise Refusal(Reason.SKEWED, request_time=timestamp, server_time=now, late=when < now)

    def _signing_key(self, secret: str, scope: Scope) -> bytes:
        """Derived once per (secret, day, region, service): four HMACs saved per request."""
        cache_key = (secret, scope.date, scope.region, scope.service)
        key = self._keys.get(cache_key)
        if key is None:
            key = signing_key(secret, scope.date, scope.region, scope.service)
            if len(self._keys) > 256:  # a new day, or clients of many services: start over
                self._keys.clear()
            self._keys[cache_key] = key
        return key

    @staticmethod
    def _compare(
        provided: str, key: bytes, string_to_sign: str, scope: Scope, canonical: str
    ) -> None:
        expected = hmac.digest(key, string_to_sign.encode(), "sha256").hex()
        if not hmac.compare_digest(expected, provided.strip().lower()):
            raise Refusal(
                Reason.MISMATCH,
                access_key=scope.access_key,
                string_to_sign=string_to_sign,
                canonical_request=canonical,
                signature=provided,
            )


# -- the canonical request ------------------------------------------------------------------------


def canonical_uri(raw_path: str, s3: bool) -> str:
    """The path as SigV4 signs it.

    S3 signs each byte of the path URI-encoded once (``/`` and ``~`` kept, empty segments kept);
    every other service signs the normalised path (dot segments and repeated slashes removed),
    URI-encoded a second time: exactly what botocore computes from the path it sends.
    """
    path = raw_path or "/"
    if _PLAIN_PATH.fullmatch(path) and "//" not in path and "/." not in path:
        return path  # nothing to decode, normalise or encode: the usual case
    if s3:
        return quote(unquote_to_bytes(path), safe="/~")
    return quote(normalize_url_path(path), safe="/~")


#: A path of unreserved characters and slashes (SigV4's encoding leaves it as it is).
_PLAIN_PATH = re.compile(r"/[A-Za-z0-9_.~/-]*")


def canonical_query(pairs: list[tuple[str, str]]) -> str:
    """Names and values decoded and URI-encoded again, sorted by name, then value."""
    if not pairs:
        return ""
    encoded = sorted(
        (quote(unquote_plus(name), safe="-_.~"), quote(unquote_plus(value), safe="-_.~"))
        for name, value in pairs
    )
    return "&".join(f"{name}={value}" for name, value in encoded)


def canonical_request(
    method: str,
    uri: str,
    query: str,
    headers: list[tuple[str, str]],
    payload_hash: str,
) -> str:
    lines = [f"{name}:{' '.join(value.split())}" for name, value in headers]
    names = ";".join([name for name, _ in headers])  # a list: inlined, no generator to resume
    return "\n".join([method.upper(), uri, query, *lines, "", names, payload_hash])


def signing_key(secret: str, date: str, region: str, service: str) -> bytes:
    key = _hmac(("AWS4" + secret).encode(), date)
    for part in (region, service, TERMINATOR):
        key = _hmac(key, part)
    return key


def _amz_time(text: str) -> datetime:
    """``20130524T000000Z`` (already matched by ``_AMZ_DATE``) as a time; strptime is ~20x slower."""
    try:
        return datetime(
            int(text[0:4]),
            int(text[4:6]),
            int(text[6:8]),
            int(text[9:11]),
            int(text[11:13]),
            int(text[13:15]),
            tzinfo=UTC,
        )
    except ValueError:  # 20131324T000000Z: the right shape, not a date
        raise Refusal(Reason.BAD_DATE, value=text) from None


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def _string_to_sign(timestamp: str, scope: Scope, canonical: str) -> str:
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{timestamp}\n{scope.text}\n{digest}"


def _components(rest: str, authorization: str) -> dict[str, str]:
    """``Credential=..., SignedHeaders=..., Signature=...`` (commas, spaces or both between)."""
    components: dict[str, str] = {}
    for part in rest.replace(",", " ").split():  # commas, whitespace or both between
        name, sep, value = part.partition("=")
        if not sep:
            raise Refusal(Reason.MALFORMED, "component", component=part, header=authorization)
        components[name] = value
    missing = [n for n in ("Credential", "SignedHeaders", "Signature") if not components.get(n)]
    if missing:
        raise Refusal(Reason.MALFORMED, "components", missing=missing, header=authorization)
    return components


def _parse_scope(credential: str, where: str, query: bool = False, post: bool = False) -> Scope:
    form = "query" if query else "post" if post else "header"
    parts = credential.split("/")
    if len(parts) != 5 or not parts[0]:
        raise Refusal(Reason.MALFORMED, "credential", form=form, header=where)
    key, date, region, service, terminator = parts
    if len(date) != 8 or not date.isdecimal():  # what \d{8} matches
        raise Refusal(Reason.MALFORMED, "scope-date", value=date, form=form, header=where)
    if terminator != TERMINATOR:
        raise Refusal(Reason.MALFORMED, "terminator", value=terminator, form=form, header=where)
    return Scope(key, date, region, service)


def _refuse_token(token: str | None) -> None:
    """Local keys are long-term keys: a session token with one belongs to something else."""
    if token is not None:
        raise Refusal(Reason.INVALID_TOKEN, token=token)


def _check_all_amz_headers_signed(
    request: HttpRequest, signed: list[str], exempt: tuple[str, ...]
) -> None:
    """S3 refuses ``x-amz-*`` headers the signature does not cover."""
    unsigned = sorted(
        name
        for name in request.headers
        if name.startswith("x-amz-") and name not in signed and name not in exempt
    )
    if unsigned:
        raise Refusal(Reason.HEADERS_NOT_SIGNED, names=", ".join(unsigned))


# -- aws-chunked bodies with a signature per chunk ------------------------------------------------


def verify_chunks(
    data: bytes, key: bytes, timestamp: str, scope: Scope, seed: str, trailer: bool
) -> None:
    """Check each chunk's signature (and the trailer's) of an ``aws-chunked`` body.

    Chunk ``n`` signs ``AWS4-HMAC-SHA256-PAYLOAD``, the time, the scope, the previous signature
    (the header's for the first), the hash of nothing and the hash of its data; the trailer signs
    ``AWS4-HMAC-SHA256-TRAILER``, the time, the scope, the last signature and the hash of its lines.
    """
    previous = seed
    position = 0
    while True:
        end = data.find(b"\r\n", position)
        if end < 0:
            raise Refusal(Reason.CHUNK_MALFORMED)
        size_text, _, extension = data[position:end].decode("latin-1").partition(";")
        name, _, signature = extension.partition("=")
        try:
            size = int(size_text, 16)
        except ValueError:
            raise Refusal(Reason.CHUNK_MALFORMED) from None
        if name.strip() != "chunk-signature" or not signature:
            raise Refusal(Reason.CHUNK_MALFORMED)
        start = end + 2
        chunk = data[start : start + size]
        if len(chunk) != size:
            raise Refusal(Reason.CHUNK_MALFORMED)
        string_to_sign = "\n".join(
            [
                "AWS4-HMAC-SHA256-PAYLOAD",
                timestamp,
                scope.text,
                previous,
                EMPTY_SHA256,
                hashlib.sha256(chunk).hexdigest(),
            ]
        )
        expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, signature.strip().lower()):
            raise Refusal(
                Reason.CHUNK_MISMATCH,
                access_key=scope.access_key,
                string_to_sign=string_to_sign,
                signature=signature,
            )
        previous = expected
        position = start + size
        if size == 0:
            break
        if data[position : position + 2] != b"\r\n":
            raise Refusal(Reason.CHUNK_MALFORMED)
        position += 2
    if not trailer:
        return
    lines = data[position:].decode("latin-1").split("\r\n")
    headers = [line for line in lines if line and not line.startswith("x-amz-trailer-signature:")]
    signature = next(
        (line.partition(":")[2] for line in lines if line.startswith("x-amz-trailer-signature:")),
        "",
    )
    text = "".join(f"{line}\n" for line in headers)
    string_to_sign = "\n".join(
        [
            "AWS4-HMAC-SHA256-TRAILER",
            timestamp,
            scope.text,
            previous,
            hashlib.sha256(text.encode("latin-1")).hexdigest(),
        ]
    )
    expected = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip().lower()):
        raise Refusal(
            Reason.CHUNK_MISMATCH,
            access_key=scope.access_key,
            string_to_sign=string_to_sign,
            signature=signature,
        )


# -- S3 POST forms --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Form:
    """The fields of a ``multipart/form-data`` body (in order) and the size of its file."""

    fields: list[tuple[str, str]]
    file_size: int | None


def parse_form(content_type: str, data: bytes) -> Form:
    """The fields of a POST upload (werkzeug's multipart parser) and the size of its file."""
    from werkzeug.formparser import parse_form_data

    environ = {
        "REQUEST_METHOD": "POST",
        "CONTENT_TYPE": content_type,
        "CONTENT_LENGTH": str(len(data)),
        "wsgi.input": io.BytesIO(data),
    }
    try:
        _, form, files = parse_form_data(environ, silent=False)
    except ValueError:
        raise Refusal(Reason.MISSING) from None  # not a form S3 could read: nothing signed
    upload = files.get("file")
    file_size = len(upload.stream.read()) if upload is not None else None
    return Form(list(form.items(multi=True)), file_size)


def _post_field_title(name: str) -> str:
    """``x-amz-signature`` -> ``X-Amz-Signature``, ``policy`` -> ``Policy`` (S3's spelling)."""
    return "-".join(part[:1].upper() + part[1:] for part in name.split("-"))


def _decode_policy(text: str) -> dict[str, Any]:
    if not text:
        raise Refusal(Reason.POLICY_INVALID, "Invalid Policy: Expecting '{' but found End-of-Input")
    try:
        raw = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise Refusal(Reason.POLICY_INVALID, "Invalid Policy: invalid Base64 encoding.") from None
    try:
        policy = json.loads(raw)
    except ValueError:
        raise Refusal(Reason.POLICY_INVALID, "Invalid Policy: Invalid JSON.") from None
    if not isinstance(policy, dict):
        raise Refusal(Reason.POLICY_INVALID, "Invalid Policy: Invalid JSON.")
    return policy


def _policy_expiration(value: Any) -> datetime:
    if value is None:
        raise Refusal(Reason.POLICY_INVALID, "Invalid Policy: Policy missing expiration.")
    for pattern in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(str(value), pattern).replace(tzinfo=UTC)
        except ValueError:
            continue
    raise Refusal(Reason.POLICY_INVALID, f"Invalid Policy: Invalid 'expiration' value: '{value}'")


def _check_condition(condition: Any, values: dict[str, str], file_size: int | None) -> str | None:
    """Raise if ``condition`` fails; return the form field it covers, if any."""
    if isinstance(condition, dict):
        if len(condition) != 1:
            raise Refusal(
                Reason.POLICY_INVALID,
                "Invalid Policy: Invalid Simple-Condition: Simple-Conditions must have exactly "
                "one property specified.",
            )
        ((name, expected),) = condition.items()
        if not isinstance(expected, str):
            raise Refusal(
                Reason.POLICY_INVALID,
                "Invalid Policy: Invalid Simple-Condition: value must be a string.",
            )
        field_name = str(name).lower()
        if values.get(field_name) != expected:
            _condition_failed(condition)
        return field_name
    if not isinstance(condition, list) or not condition:
        raise Refusal(
            Reason.POLICY_INVALID,
            "Invalid Policy: Invalid condition test: must be a List or Object.",
        )
    operation = str(condition[0]).lower()
    if operation == "content-length-range":
        if len(condition) != 3:
            raise Refusal(
                Reason.POLICY_INVALID,
                f"Invalid Policy: Invalid {condition[0]}: wrong number of arguments.",
            )
        size = file_size or 0
        low, high = int(condition[1]), int(condition[2])
        if size < low:
            raise Refusal(Reason.ENTITY_TOO_SMALL, size=size, limit=low)
        if size > high:
            raise Refusal(Reason.ENTITY_TOO_LARGE, size=size, limit=high)
        return None
    if operation not in ("eq", "starts-with"):
        raise Refusal(
            Reason.POLICY_INVALID,
            f"Invalid Policy: Invalid Condition: unknown operation '{condition[0]}'.",
        )
    if len(condition) != 3:
        raise Refusal(
            Reason.POLICY_INVALID,
            f"Invalid Policy: Invalid {condition[0]}: wrong number of arguments.",
        )
    name = str(condition[1]).lower().removeprefix("$")
    actual = values.get(name)
    expected = str(condition[2])
    ok = actual == expected if operation == "eq" else (actual or "").startswith(expected)
    if actual is None or not ok:
        _condition_failed(condition)
    return name


def _condition_failed(condition: Any) -> None:
    raise Refusal(
        Reason.POLICY_DENIED,
        f"Invalid according to Policy: Policy Condition failed: {json.dumps(condition)}",
    )


def _v2_string_to_sign(request: HttpRequest, date_line: str) -> str:
    """S3's Signature Version 2 string: method, Content-MD5, Content-Type, the date (or the
    presigned URL's Expires), the ``x-amz-*`` headers, the resource with its subresources.

    A presigned URL carries as query parameters what the client would otherwise have sent as
    headers (``Content-Type``, ``x-amz-*``), so both count.
    """
    query = {
        unquote_plus(name): unquote_plus(value)
        for name, value in request.query
        if unquote_plus(name) not in _V2_QUERY_PARAMS
    }

    def field(name: str) -> str:
        value = request.headers.get(name)
        return (value if value is not None else query.get(name, "")).strip()

    amz = {n: v.strip() for n, v in request.headers.items() if n.startswith("x-amz-")}
    for name, value in query.items():
        if name.lower().startswith("x-amz-"):
            amz.setdefault(name.lower(), value.strip())
    subresources = []
    for part in request.raw_query.split("&"):
        name, sep, value = part.partition("=")
        if name in V2_SUBRESOURCES:
            subresources.append((name, f"{name}{sep}{unquote(value)}"))
    subresources.sort(key=lambda item: item[0])
    resource = request.raw_path
    if subresources:
        resource += "?" + "&".join(text for _, text in subresources)
    lines = [request.method.upper(), field("content-md5"), field("content-type"), date_line]
    lines += [f"{name}:{amz[name]}" for name in sorted(amz)]
    return "\n".join([*lines, resource])


def _bucket_of(raw_path: str) -> str:
    return unquote_to_bytes(raw_path.lstrip("/").split("/", 1)[0]).decode("utf-8", "replace")
