"""The per-object data work of a transform job, and the batch agent that runs it apart when needed.

On AWS every instance of a transform job runs a batch agent beside the model container: it reads
the input, splits and filters records, calls the container, joins and writes the output. Locally
the job runs on threads of the gateway process, which also serves the API and S3 (moto). Those
threads mostly wait (for S3, for the instance); the data work is two pure functions (bytes in,
bytes out), each in two forms:

* :func:`prepare` (decompress, split, InputFilter and batch one input object):
  :func:`prepare_quick`, else :func:`prepare_records`;
* :func:`finish` (split one response into records, JoinSource and OutputFilter):
  :func:`finish_quick`, else :func:`finish_records`.

The quick forms work on the bytes: a job without DataProcessing only looks for record ends
(``rfind``, no per-record Python objects), and CSV records whose bytes are what ``csv.writer``
writes are filtered, joined and written by cutting them at their commas
(:mod:`.csv_bytes`, a small fraction of the CPU time of parsing them). They answer None for
anything else; the runner calls them on its own threads, which costs less than shipping the
object to another process. The record forms parse every record (JSON, CSV that the bytes path
does not cover, other SplitTypes and BatchStrategies) and define the behaviour, errors included.
For a job with DataProcessing they run in one batch agent process per instance, started at the
first object that needs them: parsing and writing every record twice on gateway threads is
GIL-bound and held the whole job to one core. Everything with behaviour stays in the runner: S3,
requests to the instance, retries, order, logs, outcomes, stopping. A
:class:`~.errors.TransformDataError` raised in the agent reaches the runner unchanged (message and
``failure_kind``), so the job fails exactly as it does in-process.

Speed of the record forms: the records of one mini-batch are parsed, filtered, joined and
written with one ``csv.reader``/``csv.writer`` call for the whole batch (when ContentType and
Accept are CSV), not one call per record; the library's per-record functions remain the
reference and the fallback for anything that path does not cover (quotes across lines, BOMs,
``\\r``). The agent pauses Python's cyclic garbage collector while it runs one call: a call
builds hundreds of thousands of short-lived rows, no reference cycles, and the collector would
otherwise re-scan the live ones many times over (a third of the CPU time).

The agent (``python -m utils.local_sagemaker.services.transform.agent``) imports only the
transform library, the core settings and the standard library. Protocol on its stdin/stdout: each message is an 8-byte length
and a pickle; requests ``(function name, args)``, replies ``(True, result)`` or
``(False, exception)``. It serves one call at a time and exits when its stdin closes: when
:meth:`BatchAgent.stop` closes it, and also when the gateway dies, so no agent outlives it. Like
an instance worker, it runs in a session of its own, which Linux schedules apart from the
gateway's (ARCHITECTURE.md, "Instances are sessions").
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import operator
import os
import pickle
import struct
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import IO, Any

from ...core.settings import PROJECT_ROOT
from . import csv_bytes
from .data_processing import DataProcessor, JsonPath, split_response
from .errors import TransformDataError
from .records import Batch, Record, decompress, payload_limit_bytes, plan_batches, split_records
from .validation import CSV, TransformJobSpec, media_type

_HEADER = struct.Struct("<Q")


class AgentError(Exception):
    """The agent process is gone (stopped, or crashed): the call has no result."""


class BatchAgent:
    """The gateway's handle on one agent process; :meth:`call` is safe from any thread."""

    def __init__(self) -> None:
        env = dict(os.environ)
        root = str(PROJECT_ROOT)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "utils.local_sagemaker.services.transform.agent"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            # Scheduled apart from the gateway, like its instance (ARCHITECTURE.md, "Instances
            # are sessions"); ignored on Windows.
            start_new_session=True,
        )
        self._lock = threading.Lock()

    def call(self, name: str, *args: Any) -> Any:
        """Run ``name(*args)`` in the agent; its exception is raised here."""
        with self._lock:
            assert self.process.stdin is not None and self.process.stdout is not None
            try:
                _write(self.process.stdin, (name, args))
                ok, value = _read(self.process.stdout)
            except (OSError, EOFError, ValueError) as exc:
                raise AgentError(f"the batch agent stopped ({type(exc).__name__})") from None
        if not ok:
            raise value
        return value

    def stop(self) -> None:
        """End the process now (a call in progress raises :class:`AgentError`) and reap it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()


def _write(pipe: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_HEADER.pack(len(data)))
    pipe.write(data)
    pipe.flush()


def _read(pipe: IO[bytes]) -> Any:
    header = pipe.read(_HEADER.size)
    if len(header) < _HEADER.size:
        raise EOFError
    (size,) = _HEADER.unpack(header)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError
    return pickle.loads(data)


def serve(requests: IO[bytes], replies: IO[bytes]) -> None:
    """The agent's loop: one call at a time until ``requests`` closes."""
    while True:
        try:
            name, args = _read(requests)
        except EOFError:
            return
        gc.disable()
        try:
            reply: tuple[bool, Any] = (True, FUNCTIONS[name](*args))
        except Exception as exc:
            exc.__traceback__ = None
            reply = (False, exc)
        finally:
            gc.enable()
        try:
            _write(replies, reply)
        except (OSError, ValueError):
            return  # the gateway is gone


# -- the work ---------------------------------------------------------------------------------


def finish(
    body: bytes,
    first: int,
    count: int,
    originals: list[bytes],
    spec: TransformJobSpec,
    processor: DataProcessor | None,
    source: str,
    *,
    by_records: Callable[..., list[bytes]] | None = None,
) -> list[bytes]:
    """What to write for one mini-batch's response (``originals``: its input records).

    The response as the model returned it, unless records must be told apart: a join or an
    OutputFilter works on each record, so only then is the response split into predictions.
    :func:`finish_quick` when it can, else :func:`finish_records`, or ``by_records`` with the
    same arguments (the runner's: the same function in the instance's batch agent).
    """
    quick = finish_quick(body, first, count, originals, spec, processor, source)
    if quick is not None:
        return quick
    return (by_records or finish_records)(body, first, count, originals, spec, processor, source)


def finish_quick(
    body: bytes,
    first: int,
    count: int,
    originals: list[bytes],
    spec: TransformJobSpec,
    processor: DataProcessor | None,
    source: str,
) -> list[bytes] | None:
    """:func:`finish` without parsing records (the response itself, or CSV joined and filtered
    as bytes by :mod:`.csv_bytes`, in one piece), or None when that path does not apply."""
    # FIDELITY batch-data.multirecord-output CONFIRMED: responses without a join or an OutputFilter
    #   local: each mini-batch's response is written as the model returned it, in input order
    #     (AssembleWith=Line ends it with a newline); no record count is checked, so a model that
    #     answers a mini-batch with one JSON array leaves one line per mini-batch.
    #   source: aws/sagemaker-python-sdk#672 (one prediction per file, no error) and
    #     aws/sagemaker-tensorflow-serving-container#154 ("a JSON-like output, all on one line");
    #     huggingface/notebooks#227 quotes the same outcome.
    if processor is None or not processor.transforms_output:
        return [body]
    end = _RECORD_ENDS.get(spec.assemble_with)
    if end is None or not _both_csv(processor):
        return None
    predictions = split_response(body, count, spec.accept, first_index=first, source=source)
    piece = csv_bytes.finish_block(processor, originals, predictions, end)
    return None if piece is None else [piece]


def finish_records(
    body: bytes,
    first: int,
    count: int,
    originals: list[bytes],
    spec: TransformJobSpec,
    processor: DataProcessor | None,
    source: str,
) -> list[bytes]:
    """:func:`finish` record by record: one written record each (the batch agent's part)."""
    if processor is None or not processor.transforms_output:
        return [body]
    if isinstance(originals, csv_bytes.HiddenRecords):
        originals = originals.revealed()
    predictions = split_response(body, count, spec.accept, first_index=first, source=source)
    return _finish_batch(processor, originals, predictions, first)


#: What follows each written record in the ``.out``, by AssembleWith (see :func:`.assemble`).
_RECORD_ENDS = {"Line": b"\n", "None": b"", "": b""}


def _both_csv(processor: DataProcessor) -> bool:
    return media_type(processor.content_type) == CSV and media_type(processor.accept) == CSV


def prepare(
    data: bytes,
    spec: TransformJobSpec,
    processor: DataProcessor | None,
    source: str,
    *,
    keep_hidden: bool = False,
    by_records: Callable[..., tuple[list[bytes], list[Batch]]] | None = None,
) -> tuple[list[bytes], list[Batch]]:
    """Decompress, split, InputFilter and batch one object.

    Returns the original records' payloads (for JoinSource=Input; none for a job without
    DataProcessing, which never reads them) and the request batches: :func:`prepare_quick`
    (given ``keep_hidden``) when it can, else :func:`prepare_records`, or ``by_records`` with
    the same arguments (the runner's: the same function in the instance's batch agent).
    """
    data = decompress(data, spec.compression_type, source=source)
    quick = prepare_quick(data, spec, processor, keep_hidden=keep_hidden)
    if quick is not None:
        return quick
    return (by_records or prepare_records)(data, spec, processor, source)


def prepare_quick(
    data: bytes,
    spec: TransformJobSpec,
    processor: DataProcessor | None,
    *,
    keep_hidden: bool = False,
) -> tuple[list[bytes], list[Batch]] | None:
    """:func:`prepare` of a decompressed object without one Python object per field, or None.

    MultiRecord Line batches are found on the bytes (:func:`_plan_text`): of the object itself,
    or of its CSV records filtered as bytes by :mod:`.csv_bytes`. None for anything else (other
    SplitTypes and BatchStrategies, ``\\r``, a record over the limit, records the bytes path
    does not cover). ``keep_hidden``: return the input records of a CSV join as
    :class:`.csv_bytes.HiddenRecords` when the bytes path could read them (the runner's
    choice: :func:`finish_quick` then joins them as they are; :func:`records_part` slices
    them).
    """
    if (
        spec.split_type != "Line"
        or spec.batch_strategy not in (None, "", "MultiRecord")
        or b"\r" in data
    ):
        return None
    if not data:
        return [], []
    to_send = data
    lines: list[bytes] | None = None
    if processor is not None:
        text = data[:-1] if data.endswith(b"\n") else data
        filters = not processor.input_filter.is_root
        if filters and media_type(processor.content_type) != CSV:
            return None
        joins_csv = processor.join_source == "Input" and _both_csv(processor)
        hidden = None
        if filters or (keep_hidden and joins_csv):
            hidden = csv_bytes.hide_records(text)
        if filters:
            filtered = (
                None if hidden is None else csv_bytes.filter_records(processor.input_filter, hidden)
            )
            if filtered is None:
                return None
            to_send = filtered + b"\n"  # one record per line, the last one ended
        lines = hidden if keep_hidden and joins_csv and hidden is not None else text.split(b"\n")
    planned = _plan_text(to_send, spec.max_payload_mb)
    return None if planned is None else ([] if lines is None else lines, planned)


def records_part(records: list[bytes], first: int, count: int) -> list[bytes]:
    """``records[first:first + count]``, in the same form (see :func:`prepare_quick`)."""
    if isinstance(records, csv_bytes.HiddenRecords):
        return records.part(first, count)
    return records[first : first + count]


def prepare_records(
    data: bytes, spec: TransformJobSpec, processor: DataProcessor | None, source: str
) -> tuple[list[bytes], list[Batch]]:
    """:func:`prepare` of a decompressed object record by record (the batch agent's part).

    MultiRecord Line records of a job with DataProcessing are split with bytes.split, filtered
    with one ``csv`` call per object and batched on their joined bytes (:func:`_plan_lines`);
    everything else (and every error) goes through the library's :func:`split_records` /
    :func:`plan_batches`, which define the behaviour.
    """
    if (
        processor is not None
        and spec.split_type == "Line"
        and spec.batch_strategy in (None, "", "MultiRecord")
        and b"\r" not in data
    ):
        lines = data.split(b"\n")
        if lines[-1] == b"":
            lines.pop()
        to_send_lines = lines
        if not processor.input_filter.is_root:
            filtered = _filter_csv(processor, lines)
            if filtered is None:
                filtered = [processor.filter_input(p, index=i) for i, p in enumerate(lines)]
            to_send_lines = filtered
        planned = _plan_lines(to_send_lines, spec.max_payload_mb)
        if planned is not None:
            return lines, planned
        # a record over the limit: the library raises its error
    records, batches = _prepare_records(data, spec, processor, source=source)
    return [r.payload for r in records], batches


def _plan_text(data: bytes, max_payload_mb: int) -> list[Batch] | None:
    """:func:`_plan_joined` on an object's bytes as they are (its last record's newline is not
    part of the records), for a job that needs no Python object per record."""
    if not data:
        return []
    return _plan_joined(data[:-1] if data.endswith(b"\n") else data, max_payload_mb)


def _plan_lines(lines: list[bytes], max_payload_mb: int) -> list[Batch] | None:
    """:func:`_plan_joined` on Line records held one by one."""
    return _plan_joined(b"\n".join(lines), max_payload_mb) if lines else []


def _plan_joined(text: bytes, max_payload_mb: int) -> list[Batch] | None:
    """MultiRecord batches of Line records, as :func:`plan_batches` packs them (a mini-batch's
    records joined by newlines, packed greedily up to the limit, in order), from ``text``, one
    or more records joined by newlines. Found with ``rfind`` and ``count`` on the bytes: no
    Python object per record. None when a record alone exceeds the limit (the library then
    raises its error).
    """
    limit = payload_limit_bytes(max_payload_mb)
    if limit is None:
        return [Batch(text, 0, text.count(b"\n") + 1, True)]
    batches = []
    start = first = 0
    while len(text) - start > limit:
        cut = text.rfind(b"\n", start, start + limit + 1)  # the last record end within the limit
        if cut < 0:
            return None
        body = text[start:cut]
        count = body.count(b"\n") + 1
        batches.append(Batch(body, first, count, False))
        first += count
        start = cut + 1
    body = text[start:] if start else text
    batches.append(Batch(body, first, body.count(b"\n") + 1, False))
    return batches


def _prepare_records(
    data: bytes, spec: TransformJobSpec, processor: DataProcessor | None, *, source: str
) -> tuple[list[Record], list[Batch]]:
    """The library's path, record by record (every SplitType and BatchStrategy)."""
    records = split_records(data, spec.split_type, source=source)
    to_send = records
    if processor is not None and not processor.input_filter.is_root:
        filtered = _filter_csv(processor, [r.payload for r in records])
        if filtered is None:
            filtered = [
                processor.filter_input(r.payload, index=r.index) for r in records
            ]  # the library, record by record: the reference behaviour and its error texts
        to_send = [Record(r.index, f, f) for r, f in zip(records, filtered, strict=True)]
    batches = plan_batches(
        to_send,
        split_type=spec.split_type,
        batch_strategy=spec.batch_strategy,
        max_payload_mb=spec.max_payload_mb,
        source=source,
    )
    return records, batches


def _csv_rows(payloads: list[bytes]) -> list[list[str]] | None:
    """Parse single-line CSV records in one pass, or None when the fast path does not apply."""
    joined = b"\n".join(payloads)
    if b"\r" in joined or b"\xef\xbb\xbf" in joined:
        return None
    try:
        lines = joined.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        return None
    if len(lines) != len(payloads):
        return None
    rows = list(csv.reader(lines))
    return rows if len(rows) == len(payloads) else None  # a quote left open spans lines


def _write_csv(rows: list[Any]) -> list[bytes] | None:
    """Write CSV rows (lists or tuples of str) and return one bytes line per row."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    out = buffer.getvalue().encode("utf-8").split(b"\n")
    out.pop()  # after the last line terminator
    return out if len(out) == len(rows) else None


def _select_rows(path: JsonPath, rows: list[list[str]]) -> list[Any] | None:
    """Apply an index-only JSONPath to many CSV rows at C speed, or None to use the library.

    The path is applied once per row *length* to ``[0, 1, …, n-1]``: the result says which
    positions it selects (a definite index, or a list of them), and every row of that length is
    then read with one ``itemgetter``. A path that selects anything but row elements (names,
    nested indexes, an index outside the row) gives no position list, and the caller falls back
    to the library record by record, which raises the error with the record's number.
    """
    getters: dict[int, Callable[[list[str]], Any] | None] = {}
    out = []
    for row in rows:
        size = len(row)
        try:
            getter = getters[size]
        except KeyError:
            getter = getters[size] = _position_getter(path, size)
        if getter is None:
            return None
        out.append(getter(row))
    return out


def _position_getter(path: JsonPath, size: int) -> Callable[[list[str]], Any] | None:
    try:
        probe = path.apply(list(range(size)))
    except TransformDataError:
        return None
    if isinstance(probe, int) and not isinstance(probe, bool):
        index = probe
        return lambda row: (row[index],)
    if not isinstance(probe, list) or not all(
        isinstance(i, int) and not isinstance(i, bool) for i in probe
    ):
        return None
    if not probe:
        return lambda row: ()
    if len(probe) == 1:
        only = probe[0]
        return lambda row: (row[only],)
    return operator.itemgetter(*probe)


def _filter_csv(processor: DataProcessor, payloads: list[bytes]) -> list[bytes] | None:
    if media_type(processor.content_type) != CSV or not payloads:
        return None
    rows = _csv_rows(payloads)
    if rows is None:
        return None
    selected = _select_rows(processor.input_filter, rows)
    return None if selected is None else _write_csv(selected)


def _finish_batch(
    processor: DataProcessor, originals: list[bytes], predictions: list[bytes], first: int
) -> list[bytes]:
    """Join and OutputFilter one mini-batch's records, batch-at-once when both sides are CSV."""
    fast: list[bytes] | None = None
    if media_type(processor.content_type) == CSV and media_type(processor.accept) == CSV:
        fast = _finish_csv(processor, originals, predictions)
    if fast is not None:
        return fast
    return [
        processor.finish(original, prediction, index=first + n)
        for n, (original, prediction) in enumerate(zip(originals, predictions, strict=True))
    ]


def _finish_csv(
    processor: DataProcessor, originals: list[bytes], predictions: list[bytes]
) -> list[bytes] | None:
    predicted = _csv_rows(predictions)
    if predicted is None:
        return None
    if processor.join_source == "Input":
        inputs = _csv_rows(originals)
        if inputs is None:
            return None
        values: list[Any] = [row + pred for row, pred in zip(inputs, predicted, strict=True)]
    else:
        values = predicted
    if not processor.output_filter.is_root:
        selected = _select_rows(processor.output_filter, values)
        if selected is None:
            return None
        values = selected
    return _write_csv(values)


#: What :meth:`BatchAgent.call` (and the runner, in-process) can run, by name.
FUNCTIONS: dict[str, Callable[..., Any]] = {
    "prepare_records": prepare_records,
    "finish_records": finish_records,
}


if __name__ == "__main__":
    # Replies get a private copy of stdout; anything else printed goes to stderr.
    _replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    serve(sys.stdin.buffer, _replies)
