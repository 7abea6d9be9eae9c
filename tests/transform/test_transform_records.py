"""Decompression, splitting and batching of one input object."""

from __future__ import annotations

import gzip

import pytest

from utils.local_sagemaker.services.transform.errors import TransformDataError
from utils.local_sagemaker.services.transform.records import (
    MIB,
    Record,
    crc32c,
    decompress,
    encode_recordio,
    encode_tfrecord,
    plan_batches,
    split_records,
)


def lines(*payloads: bytes) -> list[Record]:
    return [Record(i, p, p) for i, p in enumerate(payloads)]


# -- gzip -------------------------------------------------------------------------------------


def test_gzip_round_trip_and_none() -> None:
    data = b"1,2\n3,4\n"
    assert decompress(gzip.compress(data), "Gzip") == data
    assert decompress(data, "None") == data
    assert decompress(data, None) == data


def test_gzip_multi_member() -> None:
    assert decompress(gzip.compress(b"a\n") + gzip.compress(b"b\n"), "Gzip") == b"a\nb\n"


def test_gzip_bomb_is_refused_without_inflating_it_all() -> None:
    bomb = gzip.compress(b"\0" * (8 * MIB))
    with pytest.raises(TransformDataError) as info:
        decompress(bomb, "Gzip", source="s3://b/in/bomb.gz", max_bytes=MIB)
    assert "s3://b/in/bomb.gz exceeds the local SageMaker limit of 1048576 bytes" in str(info.value)
    assert decompress(bomb, "Gzip", max_bytes=8 * MIB) == b"\0" * (8 * MIB)


def test_gzip_not_gzip_and_truncated() -> None:
    with pytest.raises(
        TransformDataError, match="Failed to decompress s3://b/k with CompressionType Gzip"
    ):
        decompress(b"plain text", "Gzip", source="s3://b/k")
    with pytest.raises(TransformDataError, match="truncated"):
        decompress(gzip.compress(b"x" * 1000)[:-12], "Gzip")


# -- splitting --------------------------------------------------------------------------------


def test_split_none_is_the_whole_object() -> None:
    assert [r.payload for r in split_records(b"a\nb\n", "None")] == [b"a\nb\n"]
    assert split_records(b"", "None") == []
    assert split_records(b"", "Line") == []


def test_split_line() -> None:
    records = split_records(b"a,1\r\nb,2\n\nc,3", "Line")
    assert [r.payload for r in records] == [b"a,1", b"b,2", b"", b"c,3"]
    assert [r.index for r in records] == [0, 1, 2, 3]
    assert [r.payload for r in split_records(b"x\n", "Line")] == [b"x"]


def test_csv_header_is_an_ordinary_record() -> None:
    # There is no header-skip option on AWS: the header is sent to the model like any row.
    records = split_records(b"age,income\n35,4200\n", "Line")
    assert records[0].payload == b"age,income"
    assert len(records) == 2


def test_split_recordio_keeps_framing_for_multirecord() -> None:
    framed = [encode_recordio(p) for p in (b"abc", b"defgh", b"")]
    records = split_records(b"".join(framed), "RecordIO")
    assert [r.payload for r in records] == [b"abc", b"defgh", b""]
    assert [r.framed for r in records] == framed
    assert all(len(f) % 4 == 0 for f in framed)


def test_split_recordio_multipart() -> None:
    import struct

    def part(flag: int, payload: bytes) -> bytes:
        head = struct.pack("<II", 0xCED7230A, (flag << 29) | len(payload))
        return head + payload + b"\0" * (-len(payload) % 4)

    data = part(1, b"he") + part(2, b"ll") + part(3, b"o!") + part(0, b"x")
    records = split_records(data, "RecordIO")
    assert [r.payload for r in records] == [b"hello!", b"x"]
    assert records[0].framed == data[: len(records[0].framed)]


@pytest.mark.parametrize("data", [b"not recordio", encode_recordio(b"abcdef")[:-4]])
def test_split_recordio_errors(data: bytes) -> None:
    with pytest.raises(TransformDataError, match="with SplitType RecordIO"):
        split_records(data, "RecordIO", source="s3://b/x.rec")


def test_crc32c_known_value() -> None:
    assert crc32c(b"123456789") == 0xE3069283


def test_split_tfrecord() -> None:
    framed = [encode_tfrecord(p) for p in (b"one", b"", b"three")]
    records = split_records(b"".join(framed), "TFRecord")
    assert [r.payload for r in records] == [b"one", b"", b"three"]
    assert [r.framed for r in records] == framed


def test_split_tfrecord_bad_checksum() -> None:
    data = bytearray(encode_tfrecord(b"abc"))
    data[8] ^= 0xFF
    with pytest.raises(TransformDataError, match="length checksum mismatch"):
        split_records(bytes(data), "TFRecord")
    with pytest.raises(TransformDataError, match="SplitType TFRecord"):
        split_records(b"1,2,3\n4,5,6\n", "TFRecord")


# -- batching ---------------------------------------------------------------------------------


def test_single_record() -> None:
    batches = plan_batches(
        lines(b"a", b"b", b"c"), split_type="Line", batch_strategy="SingleRecord", max_payload_mb=6
    )
    assert [(b.body, list(b.record_indices)) for b in batches] == [
        (b"a", [0]),
        (b"b", [1]),
        (b"c", [2]),
    ]


def test_single_record_oversize_is_an_error() -> None:
    big = b"x" * (MIB + 1)
    with pytest.raises(TransformDataError) as info:
        plan_batches(
            lines(b"a", big),
            split_type="Line",
            batch_strategy="SingleRecord",
            max_payload_mb=1,
            source="s3://b/in/f.csv",
        )
    message = str(info.value)
    assert message.startswith("s3://b/in/f.csv: record 2 is 1048577 bytes")
    assert "MaxPayloadInMB (1 MB = 1048576 bytes)" in message
    # Exactly the limit fits.
    plan_batches(
        lines(b"x" * MIB), split_type="Line", batch_strategy="SingleRecord", max_payload_mb=1
    )


def test_multi_record_packs_newline_joined_up_to_the_limit() -> None:
    half = b"x" * (MIB // 2)
    # half + "\n" + (half - 1) == 1 MiB exactly: fits; a third record starts a new batch.
    records = lines(half, half[:-1], b"y")
    batches = plan_batches(
        records, split_type="Line", batch_strategy="MultiRecord", max_payload_mb=1
    )
    assert [list(b.record_indices) for b in batches] == [[0, 1], [2]]
    assert len(batches[0].body) == MIB
    assert batches[0].body == half + b"\n" + half[:-1]
    # One byte more and the second record no longer fits.
    records = lines(half, half, b"y")
    batches = plan_batches(
        records, split_type="Line", batch_strategy="MultiRecord", max_payload_mb=1
    )
    assert [list(b.record_indices) for b in batches] == [[0], [1, 2]]
    assert batches[1].body == half + b"\ny"


def test_unset_strategy_means_multi_record() -> None:
    batches = plan_batches(
        lines(b"a", b"b"), split_type="Line", batch_strategy=None, max_payload_mb=6
    )
    assert [(b.body, b.count) for b in batches] == [(b"a\nb", 2)]


def test_multi_record_oversize_record_is_an_error() -> None:
    with pytest.raises(TransformDataError, match="record 3 is"):
        plan_batches(
            lines(b"a", b"b", b"z" * (MIB + 1)),
            split_type="Line",
            batch_strategy="MultiRecord",
            max_payload_mb=1,
        )


def test_max_payload_zero_means_no_limit_and_chunked() -> None:
    records = lines(*(b"r" * 1000 for _ in range(3000)))  # about 3 MB
    batches = plan_batches(
        records, split_type="Line", batch_strategy="MultiRecord", max_payload_mb=0
    )
    assert len(batches) == 1 and batches[0].count == 3000 and batches[0].chunked
    single = split_records(b"q" * (2 * MIB), "None")
    assert plan_batches(single, split_type="None", batch_strategy=None, max_payload_mb=0)[0].chunked


def test_split_none_sends_the_object_and_refuses_oversize() -> None:
    whole = split_records(b"a\nb\n", "None")
    batches = plan_batches(whole, split_type="None", batch_strategy=None, max_payload_mb=6)
    assert [(b.body, b.count) for b in batches] == [(b"a\nb\n", 1)]
    big = split_records(b"x" * (MIB + 1), "None")
    with pytest.raises(TransformDataError, match="SplitType is None, so it cannot be split"):
        plan_batches(
            big, split_type="None", batch_strategy=None, max_payload_mb=1, source="s3://b/k"
        )


def test_recordio_batches() -> None:
    data = b"".join(encode_recordio(p) for p in (b"abc", b"de"))
    records = split_records(data, "RecordIO")
    multi = plan_batches(
        records, split_type="RecordIO", batch_strategy="MultiRecord", max_payload_mb=6
    )
    assert [b.body for b in multi] == [data]  # framing and padding kept
    single = plan_batches(
        records, split_type="RecordIO", batch_strategy="SingleRecord", max_payload_mb=6
    )
    assert [b.body for b in single] == [b"abc", b"de"]  # framing and padding removed


def test_tfrecord_batches_split_at_the_limit() -> None:
    payload = b"p" * (MIB // 2)
    data = b"".join(encode_tfrecord(payload) for _ in range(3))
    records = split_records(data, "TFRecord")
    batches = plan_batches(
        records, split_type="TFRecord", batch_strategy="MultiRecord", max_payload_mb=1
    )
    # Framing adds 16 bytes per record and counts towards the limit: 2 * (MIB/2 + 16) > MIB.
    assert [b.count for b in batches] == [1, 1, 1]
    assert all(split_records(b.body, "TFRecord")[0].payload == payload for b in batches)


def test_batches_never_reorder() -> None:
    records = lines(*(bytes([65 + i % 26]) * (i + 1) for i in range(200)))
    batches = plan_batches(
        records, split_type="Line", batch_strategy="MultiRecord", max_payload_mb=1
    )
    seen = [i for b in batches for i in b.record_indices]
    assert seen == list(range(200))
