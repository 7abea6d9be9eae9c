"""Input selection, manifest parsing, output keys and AssembleWith."""

from __future__ import annotations

import json

import pytest

from utils.local_sagemaker.services.transform.assembly import (
    InputObject,
    assemble,
    assign_to_instances,
    objects_for_prefix,
    output_uri,
    parse_manifest,
    relative_name,
)
from utils.local_sagemaker.services.transform.errors import TransformDataError

KEYS = ["in/a.csv", "in/sub/b.csv", "in/", "in/sub/", "other/c.csv", "input2/d.csv"]


def test_prefix_with_slash_keeps_sub_folders() -> None:
    objects = objects_for_prefix(KEYS, "s3://b/in/")
    assert [(o.uri, o.relative) for o in objects] == [
        ("s3://b/in/a.csv", "a.csv"),
        ("s3://b/in/sub/b.csv", "sub/b.csv"),
    ]
    assert [output_uri(o, "s3://b/out") for o in objects] == [
        "s3://b/out/a.csv.out",
        "s3://b/out/sub/b.csv.out",
    ]
    assert output_uri(objects[1], "s3://b/out/") == "s3://b/out/sub/b.csv.out"


def test_single_object_prefix_maps_to_its_base_name() -> None:
    (obj,) = objects_for_prefix(KEYS, "s3://b/in/sub/b.csv")
    assert output_uri(obj, "s3://b/out") == "s3://b/out/b.csv.out"


def test_prefix_without_slash() -> None:
    # "in" matches "in/..." and "input2/...": names stay whole, relative to the prefix's folder.
    objects = objects_for_prefix(KEYS, "s3://b/in")
    assert [o.relative for o in objects] == ["a.csv", "sub/b.csv", "input2/d.csv"]
    assert relative_name("data/part-1.csv", "data/part") == "part-1.csv"


def test_bucket_root_prefix() -> None:
    assert [o.relative for o in objects_for_prefix(["x.csv", "d/y.csv"], "s3://b")] == [
        "d/y.csv",
        "x.csv",
    ]


def test_manifest() -> None:
    manifest = json.dumps(
        [
            {"prefix": "s3://customer_bucket/some/prefix/"},
            "relative/path/to/custdata-1",
            "custdata-2",
        ]
    ).encode()
    objects = parse_manifest(manifest)
    assert [o.uri for o in objects] == [
        "s3://customer_bucket/some/prefix/relative/path/to/custdata-1",
        "s3://customer_bucket/some/prefix/custdata-2",
    ]
    assert [o.bucket for o in objects] == ["customer_bucket", "customer_bucket"]
    assert objects[0].key == "some/prefix/relative/path/to/custdata-1"
    assert output_uri(objects[0], "s3://out-bucket/results") == (
        "s3://out-bucket/results/relative/path/to/custdata-1.out"
    )


@pytest.mark.parametrize(
    ("data", "detail"),
    [
        (b"not json", "is not a valid JSON manifest"),
        (b"{}", "must be a JSON array"),
        (b"[]", "must be a JSON array"),
        (b'["a", "b"]', "The first element"),
        (b'[{"prefix": "s3://b/p/"}, 3]', "Element 2"),
        (b'[{"prefix": "/local/p/"}, "a"]', "is not an S3 URI"),
    ],
)
def test_manifest_errors(data: bytes, detail: str) -> None:
    with pytest.raises(TransformDataError, match=detail):
        parse_manifest(data, source="s3://b/m.manifest")


def test_manifest_with_only_a_prefix_lists_nothing() -> None:
    assert parse_manifest(b'[{"prefix": "s3://b/p/"}]') == []


def test_assemble_with() -> None:
    records = [b"0.1,approve", b"0.9,deny"]
    assert assemble(records, "Line") == b"0.1,approve\n0.9,deny\n"
    assert assemble(records, "None") == b"0.1,approve0.9,deny"
    assert assemble(records, None) == b"0.1,approve0.9,deny"
    assert assemble([b"\x00\x01", b"\x02"], "None") == b"\x00\x01\x02"  # binary concatenation


def test_assign_to_instances_keeps_objects_whole() -> None:
    objects = [InputObject(f"s3://b/in/{i}.csv", f"{i}.csv") for i in range(5)]
    shards = assign_to_instances(objects, 2)
    assert [[o.relative for o in s] for s in shards] == [
        ["0.csv", "2.csv", "4.csv"],
        ["1.csv", "3.csv"],
    ]
    assert sum(len(s) for s in assign_to_instances(objects, 10)) == 5
