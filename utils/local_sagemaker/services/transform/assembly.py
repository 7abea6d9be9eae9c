"""Which objects a transform job reads, where each ``.out`` goes, and how it is assembled.

Input selection (pure: the runner lists S3 and reads the manifest, then calls these):

* ``S3Prefix``: every object whose key starts with the prefix, in key order (the order S3 lists
  them). Zero-byte "folder" placeholder keys ending in ``/`` are skipped (local choice: they
  hold no records).
* ``ManifestFile``: a JSON array whose first element is ``{"prefix": "s3://bucket/p/"}`` and
  whose other elements are keys relative to that prefix [SM: TransformS3DataSource.S3Uri]. The
  URI of each is the prefix and the relative key concatenated, exactly as the API reference
  shows (no ``/`` is inserted).

Output names: each input object produces ``<S3OutputPath>/<relative name>.out`` with records in
input order [DG:batch-transform]. The relative name is the object's key relative to the input
prefix, keeping sub-folders (``s3://b/in/`` + ``in/sub/f.csv`` -> ``<out>/sub/f.csv.out``), which
is what SDK local mode does. The API reference's own example maps
``input-name-prefix/dataset01/data.csv`` to ``output-name-prefix/input-name-prefix/data.csv.out``,
which contradicts itself, so nested mapping is a choice (the ``batch-data.nested-prefix`` marker),
isolated in :func:`relative_name`. Details:

* a prefix that is a whole key (a single-object input) maps to the key's base name:
  ``s3://b/in/data.csv`` -> ``<out>/data.csv.out``;
* a prefix that does not end on a ``/`` boundary (``s3://b/in/part``) maps keys relative to its
  folder (``in/part-1.csv`` -> ``part-1.csv``), never to a cut-off name such as ``-1.csv``;
* manifest entries keep their relative path as written in the manifest.

Assembly (``AssembleWith``, :func:`assemble`): the pieces are the mini-batches' responses as
the model returned them, or, with a join or an OutputFilter, the transformed records. ``None``
concatenates them as they are ("in binary"); ``Line`` ends each with a newline
[SM: TransformOutput.AssembleWith].
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ...core.settings import REGION
from .errors import TransformDataError

__all__ = [
    "InputObject",
    "assemble",
    "assign_to_instances",
    "join_s3_uri",
    "objects_for_prefix",
    "output_uri",
    "parse_manifest",
    "parse_s3_uri",
    "relative_name",
]


@dataclass(frozen=True)
class InputObject:
    """One input object and the name (relative to S3OutputPath, without ``.out``) of its output."""

    uri: str
    relative: str

    @property
    def bucket(self) -> str:
        return parse_s3_uri(self.uri)[0]

    @property
    def key(self) -> str:
        return parse_s3_uri(self.uri)[1]


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """``s3://bucket/some/key`` -> ``("bucket", "some/key")``."""
    if not uri.startswith("s3://"):
        raise TransformDataError(f"{uri} is not an S3 URI (s3://bucket/key).")
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket:
        raise TransformDataError(f"{uri} has no bucket name.")
    return bucket, key


def join_s3_uri(base: str, relative: str) -> str:
    """Join an S3 URI and a relative key with exactly one ``/`` between them."""
    return base.rstrip("/") + "/" + relative.lstrip("/")


def relative_name(key: str, prefix: str) -> str:
    """The output name of ``key`` read through input prefix ``prefix`` (both without bucket)."""
    # FIDELITY batch-data.nested-prefix UNCONFIRMED: output names of inputs in sub-folders of the prefix
    #   local: the .out keeps the sub-folder: s3://b/in/ with in/sub/f.csv gives
    #     <S3OutputPath>/sub/f.csv.out.
    #   why: the API reference's own example contradicts itself; SDK local mode keeps the
    #     relative path, which is also the only mapping that cannot make two inputs collide.
    #   notice: the .out of a nested input can sit under another key on AWS.
    if not key.startswith(prefix):
        raise ValueError(f"key {key!r} is not under prefix {prefix!r}")
    rest = key[len(prefix) :]
    if rest == "":  # the prefix is the object itself
        return key.rsplit("/", 1)[-1]
    if prefix == "" or prefix.endswith("/"):
        return rest
    if rest.startswith("/"):
        return rest.lstrip("/")
    folder = prefix.rsplit("/", 1)[0] + "/" if "/" in prefix else ""
    return key[len(folder) :]


def objects_for_prefix(keys: Iterable[str], s3_uri: str) -> list[InputObject]:
    """The input objects of an ``S3Prefix`` data source, given the bucket's listed keys."""
    bucket, prefix = parse_s3_uri(s3_uri)
    chosen = sorted(k for k in keys if k.startswith(prefix) and not k.endswith("/"))
    return [InputObject(f"s3://{bucket}/{k}", relative_name(k, prefix)) for k in chosen]


def parse_manifest(data: bytes, *, source: str = "the manifest") -> list[InputObject]:
    """The input objects listed by a ``ManifestFile`` data source."""
    # FIDELITY batch-data.manifest-errors UNCONFIRMED: an invalid ManifestFile
    #   local: the job fails with a ClientError that says what is wrong with the manifest (not
    #     JSON, no prefix element, an entry that is not a key).
    #   why: AWS fails such a job; its wording is not on record.
    #   notice: the FailureReason wording can differ on AWS.
    try:
        manifest = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise TransformDataError(f"{source} is not a valid JSON manifest: {exc}") from None
    if not isinstance(manifest, list) or not manifest:
        raise TransformDataError(
            f'{source} must be a JSON array: [{{"prefix": "s3://bucket/prefix/"}}, '
            '"relative/key-1", ...].'
        )
    head = manifest[0]
    if not isinstance(head, dict) or not isinstance(head.get("prefix"), str):
        raise TransformDataError(
            f'The first element of {source} must be {{"prefix": "s3://bucket/prefix/"}}.'
        )
    prefix = head["prefix"]
    parse_s3_uri(prefix)
    objects = []
    for position, entry in enumerate(manifest[1:], start=2):
        if not isinstance(entry, str) or not entry:
            raise TransformDataError(
                f"Element {position} of {source} must be a non-empty string (a key relative to "
                "the prefix)."
            )
        objects.append(InputObject(prefix + entry, entry.lstrip("/")))
    return objects


def output_uri(obj: InputObject, s3_output_path: str) -> str:
    """Where the ``.out`` of ``obj`` is written."""
    return join_s3_uri(s3_output_path, obj.relative + ".out")


def no_input_objects(s3_uri: str, role: str) -> str:
    """Why a job with an empty (or unreachable) S3 input prefix cannot run."""
    # FIDELITY transform.no-input-objects CONFIRMED: an S3 input prefix that holds no objects
    #   local: CreateTransformJob itself answers ValidationException 'No S3 objects found under
    #     S3 URL "<uri>" given in input data source. Please ensure that the bucket exists in the
    #     selected region (<region>), that objects exist under that S3 prefix, and that the role
    #     "<role>" has "s3:ListBucket" permissions on bucket "<bucket>".' (the role is the model's
    #     execution role).
    #   source: aws/amazon-sagemaker-examples#2414 and #2270 quote this CreateTransformJob error
    #     word for word.
    bucket = s3_uri[len("s3://") :].split("/", 1)[0]
    return (
        f'No S3 objects found under S3 URL "{s3_uri}" given in input data source. Please ensure '
        f"that the bucket exists in the selected region ({REGION}), that objects exist under "
        f'that S3 prefix, and that the role "{role}" has "s3:ListBucket" permissions on bucket '
        f'"{bucket}".'
    )


def assemble(pieces: Iterable[bytes], assemble_with: str | None) -> bytes:
    """Assemble one object's ``.out`` from its pieces, in input order.

    A piece is one mini-batch's response as the model returned it, or one transformed record
    (a join or an OutputFilter works per record). ``Line`` ends every piece with a newline.
    """
    # FIDELITY batch-data.line-after-newline UNCONFIRMED: AssembleWith=Line after a response that already ends with a newline
    #   local: no second newline is added, so CSV responses ("0\n1\n") leave no blank lines
    #     between mini-batches.
    #   why: AWS adds "a newline character at the end of every transformed record"; CSV and JSON
    #     Lines models end every record with one, and users report no blank lines in such
    #     outputs.
    #   notice: blank lines between mini-batches in a .out file on AWS.
    if assemble_with == "Line":
        return b"".join(p if p.endswith(b"\n") else p + b"\n" for p in pieces)
    if assemble_with in (None, "", "None"):
        return b"".join(pieces)
    raise TransformDataError(f"Unsupported AssembleWith {assemble_with!r}.")


def assign_to_instances(
    objects: Sequence[InputObject], instance_count: int
) -> list[list[InputObject]]:
    """Distribute whole objects over instances (one object is handled by one instance).

    AWS assigns objects to instances by key [DG:batch-transform]; the exact scheme is not
    documented, so objects are dealt round-robin in key order.
    """
    shards: list[list[InputObject]] = [[] for _ in range(max(instance_count, 1))]
    for i, obj in enumerate(objects):
        shards[i % len(shards)].append(obj)
    return shards
