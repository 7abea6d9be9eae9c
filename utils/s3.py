"""S3 by URI: the few object operations the lessons share (split, exists, read, delete a prefix).

Transform jobs and asynchronous endpoints answer with ``s3://bucket/key`` URIs, so these take
URIs and a boto3 S3 client, and work the same on the local SageMaker and on AWS.
"""

from __future__ import annotations

from typing import Any

__all__ = ["delete_prefix", "exists", "read_bytes", "read_text", "split_s3_uri"]

#: Error codes S3 answers HeadObject / GetObject with when the object is not there (yet).
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/a/b.out`` -> ``("bucket", "a/b.out")``; a prefix may be empty."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an S3 URI: {uri!r}")
    bucket, _, key = uri[len("s3://") :].partition("/")
    return bucket, key


def exists(s3: Any, uri: str) -> bool:
    """Whether the object at ``uri`` exists (``HeadObject``: checks without downloading)."""
    bucket, key = split_s3_uri(uri)
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except s3.exceptions.ClientError as error:
        if error.response.get("Error", {}).get("Code") in _NOT_FOUND:
            return False
        raise


def read_bytes(s3: Any, uri: str) -> bytes:
    """The whole object at ``uri``."""
    bucket, key = split_s3_uri(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def read_text(s3: Any, uri: str) -> str:
    """The object at ``uri`` decoded as UTF-8."""
    return read_bytes(s3, uri).decode("utf-8")


def delete_prefix(s3: Any, uri: str) -> int:
    """Delete every object under the S3 prefix ``uri``; returns how many were deleted."""
    bucket, prefix = split_s3_uri(uri)
    deleted = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        keys = [{"Key": o["Key"]} for o in page.get("Contents", [])]
        if keys:
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys, "Quiet": True})
            deleted += len(keys)
    return deleted
