"""ReadAhead: each object's read starts at once on a thread of its own and is handed over once."""

from __future__ import annotations

import threading

import pytest

from utils.local_sagemaker.services.transform.assembly import InputObject
from utils.local_sagemaker.services.transform.read_ahead import ReadAhead

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
