"""How SageMaker's List* operations filter, sort and page: one implementation for all of them.

``NextToken`` is the offset of the next page (an opaque string to clients, as on AWS);
``MaxResults`` defaults to 10 (ListTags: 50).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..core.errors import AwsError
from ..core.shapes import timestamp_seconds

Item = dict[str, Any]

_TIME_FILTERS: tuple[tuple[str, Callable[[Item, float], bool]], ...] = (
    ("CreationTimeBefore", lambda i, t: i["CreationTime"] < t),
    ("CreationTimeAfter", lambda i, t: i["CreationTime"] > t),
    ("LastModifiedTimeBefore", lambda i, t: i.get("LastModifiedTime", 0) < t),
    ("LastModifiedTimeAfter", lambda i, t: i.get("LastModifiedTime", 0) > t),
)


def filter_and_sort(
    items: list[Item], params: dict[str, Any], name_field: str, status_field: str
) -> list[Item]:
    """``NameContains``, the time bounds and ``StatusEquals``, then ``SortBy``/``SortOrder``
    (by CreationTime, newest first, unless asked otherwise)."""
    if params.get("NameContains"):
        needle = params["NameContains"]
        items = [i for i in items if needle in i[name_field]]
    for field, test in _TIME_FILTERS:
        if params.get(field) is not None:
            bound = timestamp_seconds(params[field])
            if bound is None:  # the shape check refuses these first; never a crash here
                raise AwsError("SerializationException", f"Invalid timestamp for {field}.")
            items = [i for i in items if test(i, bound)]
    if params.get("StatusEquals"):
        items = [i for i in items if i.get(status_field) == params["StatusEquals"]]
    sort_key = {"Name": name_field, "CreationTime": "CreationTime", "Status": status_field}.get(
        params.get("SortBy") or "CreationTime", "CreationTime"
    )
    items.sort(
        key=lambda i: i.get(sort_key, ""),
        reverse=params.get("SortOrder", "Descending") == "Descending",
    )
    return items


def page(items: list[Any], params: dict[str, Any], key: str, default_max: int = 10) -> Item:
    """``{key: <this page>, "NextToken": ...}`` (no token on the last page)."""
    try:
        start = int(params.get("NextToken") or 0)
    except ValueError:
        raise AwsError("ValidationException", "Invalid pagination token.") from None
    size = int(params.get("MaxResults") or default_max)
    out: Item = {key: items[start : start + size]}
    if start + size < len(items):
        out["NextToken"] = str(start + size)
    return out
