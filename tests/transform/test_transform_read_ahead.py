"""ReadAhead: each object's read starts at once on a thread of its own and is handed over once;
its GetObject shows in the call log only once it is handed over."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from utils.local_sagemaker.services.transform.assembly import InputObject
from utils.local_sagemaker.services.transform.read_ahead import ReadAhead
from utils.local_sagemaker.wire import call_log
from utils.local_sagemaker.wire.call_log import CallLog

A = InputObject("s3://b/in/a.csv", "a.csv")
B = InputObject("s3://b/in/b.csv", "b.csv")
C = InputObject("s3://b/in/c.csv", "c.csv")


def test_reads_start_at_once_and_are_taken_once() -> None:
    release = threading.Event()
    started: list[str] = []
    lock = threading.Lock()
    both_started = threading.Barrier(3)

    def read(obj: InputObject) -> bytes:
        with lock:
            started.append(obj.key)
        both_started.wait(timeout=10)  # both reads run at the same time, before anyone takes
        release.wait(timeout=10)
        return obj.key.encode()

    ahead = ReadAhead(read, [A, B])
    both_started.wait(timeout=10)
    assert sorted(started) == ["in/a.csv", "in/b.csv"]
    release.set()
    first = ahead.take(B)
    assert first is not None and first.result(timeout=10) == b"in/b.csv"
    assert ahead.take(B) is None  # handed over once: a second read of B is the caller's
    assert ahead.take(C) is None  # never read ahead
    taken = ahead.take(A)
    assert taken is not None and taken.result(timeout=10) == b"in/a.csv"


def test_a_failed_read_hands_over_its_own_error() -> None:
    class NoSuchKey(Exception):
        pass

    def read(obj: InputObject) -> bytes:
        raise NoSuchKey(obj.key)

    ahead = ReadAhead(read, [A])
    taken = ahead.take(A)
    assert taken is not None
    with pytest.raises(NoSuchKey, match=r"in/a\.csv"):
        taken.result(timeout=10)


def test_an_object_named_twice_is_read_once_and_dropped_reads_are_forgotten() -> None:
    calls: list[InputObject] = []
    lock = threading.Lock()

    def read(obj: InputObject) -> bytes:
        with lock:
            calls.append(obj)
        return b"x"

    ahead = ReadAhead(read, [A, A, B])
    taken = ahead.take(A)
    assert taken is not None and taken.result(timeout=10) == b"x"
    assert ahead.take(A) is None
    ahead.drop()
    assert ahead.take(B) is None
    assert calls.count(A) == 1


def _get_object(key: str) -> dict[str, str]:
    """The environ of a signed S3 GetObject, as the gateway's call log sees it."""
    scope = "AKIDLOCAL/20261204/us-east-1/s3/aws4_request"
    return {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": f"/b/{key}",
        "QUERY_STRING": "",
        "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential={scope}, SignedHeaders=host",
    }


def test_a_read_ahead_shows_in_the_call_log_only_once_taken(tmp_path: Path) -> None:
    """The GetObject of a read ahead is held back until an instance takes the object: a job
    whose instances never start shows no read (a dropped read never shows)."""
    log = CallLog(tmp_path / "calls.jsonl")
    read_done = threading.Event()

    def read(obj: InputObject) -> bytes:
        log.record(_get_object(obj.key))
        if obj is B:
            read_done.set()
        return b"x"

    def logged() -> list[str]:
        return [e["resource"] for e in call_log.read(log.path) if e["operation"] == "GetObject"]

    ahead = ReadAhead(read, [A, B], log.hold)
    taken = ahead.take(A)
    assert taken is not None and taken.result(timeout=10) == b"x"
    assert read_done.wait(timeout=10)
    log.record(_get_object("in/other.csv"))  # this thread's own calls are not held
    assert logged() == ["arn:aws:s3:::b/in/a.csv", "arn:aws:s3:::b/in/other.csv"]
    ahead.drop()  # the job ended before an instance came to B
    assert logged() == ["arn:aws:s3:::b/in/a.csv", "arn:aws:s3:::b/in/other.csv"]


def test_a_read_taken_before_it_is_made_shows_as_it_is_made(tmp_path: Path) -> None:
    log = CallLog(tmp_path / "calls.jsonl")
    go = threading.Event()

    def read(obj: InputObject) -> bytes:
        go.wait(timeout=10)
        log.record(_get_object(obj.key))
        return b"x"

    ahead = ReadAhead(read, [A], log.hold)
    taken = ahead.take(A)
    go.set()
    assert taken is not None and taken.result(timeout=10) == b"x"
    assert [e["operation"] for e in call_log.read(log.path)] == ["GetObject"]
