"""``scheme://bucket/key`` URIs of S3 objects, split into bucket and key."""

from __future__ import annotations


def split_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``.

    The scheme is not checked here (the request models already constrain it);
    ``ValueError`` when there is no ``://`` at all.
    """
    _, sep, rest = uri.partition("://")
    if not sep:
        raise ValueError(f"{uri!r} is not a URI (s3://bucket/key)")
    bucket, _, key = rest.partition("/")
    return bucket, key
