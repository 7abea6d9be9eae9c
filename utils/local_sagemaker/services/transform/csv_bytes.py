"""InputFilter, JoinSource and OutputFilter on CSV records as bytes, without parsing them.

The library (:mod:`.data_processing`) parses every CSV record into a list of strings and writes
the selected values back with :mod:`csv`. For most files that round trip gives back each
field's own bytes: a field is written as it was read whenever the file already wrote it the way
``csv.writer`` does, unquoted, or quoted because it holds a comma or a quote. For such records
a filter or a join needs no parsing at all: it picks fields' bytes by their position between the
commas and joins them with commas. That is what this module does, on many records at once,
at a small fraction of the CPU time (no Python string or list per field, no decoding).

It answers only when the result is certainly the library's; otherwise it returns None and the
caller takes the library's path (which also raises every error, with the record's number). It
returns None when a block of records

* has a ``\\r``, a NUL, a byte-order mark or bytes that are not UTF-8;
* has a quote that does not enclose a whole field of one line (a quote inside a field, text
  after a closing quote, a quoted field that goes on to the next line, a quote left open);
* has a quoted field that ``csv.writer`` would write without quotes (``"abc"``, ``""``): its
  bytes change in the round trip;
* meets a JSONPath that does not select by position in every record (a name, an index outside
  a record: the library then raises the error).

How fields are found: the commas inside quoted fields are replaced by NUL bytes (checked absent
beforehand) for the time of the work, so that the commas left are exactly the field separators;
the NULs become commas again in the result. An empty record has no fields (``csv.reader`` reads
it as ``[]``); and a record written from one empty field is ``""``, as ``csv.writer`` writes it.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from itertools import repeat

from .data_processing import DataProcessor, JsonPath
from .errors import TransformDataError

_HIDDEN_COMMA = b"\x00"
_BOM = b"\xef\xbb\xbf"
_SEPARATORS = (b",", b"\n")
_COMMA = ord(",")  # an int: ``_COMMA in piece`` is a plain byte search

#: One record with hidden commas -> the selected fields' bytes, joined by commas.
_Selector = Callable[[bytes], bytes]


class HiddenRecords(list[bytes]):
    """Records as this module works on them: the commas inside quoted fields are NUL bytes.

    A job keeps its input records in this form for JoinSource=Input, so that joining them needs
    no second look at their quotes; :meth:`revealed` gives the records themselves.
    """

    def part(self, first: int, count: int) -> HiddenRecords:
        return HiddenRecords(self[first : first + count])

    def revealed(self) -> list[bytes]:
        return _reveal(b"\n".join(self)).split(b"\n") if self else []


def hide_records(records: bytes) -> HiddenRecords | None:
    """``records`` (CSV records joined by newlines, at least one) in this module's form, or None
    (see the module)."""
    hidden = _hide_quoted_commas(records)
    return None if hidden is None else HiddenRecords(hidden.split(b"\n"))


def filter_records(path: JsonPath, records: HiddenRecords) -> bytes | None:
    """Apply ``path`` (an InputFilter) to every record and return the results joined by
    newlines, or None (see the module)."""
    selected = _select(path, records)
    if selected is None:
        return None
    return _reveal(b"\n".join(selected))


def finish_block(
    processor: DataProcessor, originals: list[bytes], predictions: list[bytes], end: bytes
) -> bytes | None:
    """JoinSource and OutputFilter on one mini-batch, both CSV (``originals`` as they are, or
    :class:`HiddenRecords`): each written record followed by
    ``end``, all in one piece (what :func:`.assembly.assemble` makes of the library's records
    for ``end`` ``b"\\n"`` with AssembleWith Line, ``b""`` with None), or None (see the module).
    """
    hidden = _hide_quoted_commas(b"\n".join(predictions))
    if hidden is None:
        return None
    rows = hidden.split(b"\n")
    if len(rows) != len(predictions):
        # A prediction of several lines (a model that writes a header, or one line too many):
        # the library path says which record's prediction has how many rows.
        return None
    if processor.join_source == "Input":
        inputs = originals if isinstance(originals, HiddenRecords) else None
        if inputs is None:
            inputs = hide_records(b"\n".join(originals))
            if inputs is None:
                return None
        # the input's fields, then the prediction's (an empty record has none)
        rows = [
            given + b"," + predicted if given and predicted else given or predicted
            for given, predicted in zip(inputs, rows, strict=True)
        ]
    if not processor.output_filter.is_root:
        selected = _select(processor.output_filter, rows)
        if selected is None:
            return None
        rows = selected
    return _reveal(end.join(rows) + end)


def _reveal(data: bytes) -> bytes:
    return data.replace(_HIDDEN_COMMA, b",")


def _hide_quoted_commas(block: bytes) -> bytes | None:
    """``block`` with the commas of quoted fields hidden, or None when some record's bytes are
    not what ``csv.writer`` writes for its values."""
    if b"\r" in block or _HIDDEN_COMMA in block:
        return None
    if not block.isascii():
        if _BOM in block:
            return None
        try:
            block.decode("utf-8")
        except UnicodeDecodeError:
            return None
    if b'"' not in block:
        return block
    # Split on quotes: the odd pieces are inside quotes, the even ones outside. An empty even
    # piece between two odd ones is an escaped quote ("") inside a field.
    parts = block.split(b'"')
    if len(parts) % 2 == 0:
        return None  # a quote left open
    inside = parts[1::2]
    if b"\n" in b"".join(inside):
        return None  # a quoted field goes on to the next line: not one record per line
    if not (_outside_quotes_fits(parts) and _quotes_needed(parts, inside)):
        return None
    parts[1::2] = [piece.replace(b",", _HIDDEN_COMMA) for piece in inside]
    return b'"'.join(parts)


def _outside_quotes_fits(parts: list[bytes]) -> bool:
    """Whether every quote encloses whole fields: the text between a closing quote and the next
    opening one (the even pieces of ``parts``, the block split on quotes) starts and ends with a
    field or record separator, or is empty (an escaped quote, or the block's start or end)."""
    first, middle, last = parts[0], parts[2:-1:2], parts[-1]
    if first and not first.endswith(_SEPARATORS):
        return False  # text before an opening quote
    if last and not last.startswith(_SEPARATORS):
        return False  # text after a closing quote
    middle = [piece for piece in middle if piece]  # the empty ones are escaped quotes
    return all(map(bytes.startswith, middle, repeat(_SEPARATORS))) and all(
        map(bytes.endswith, middle, repeat(_SEPARATORS))
    )


def _quotes_needed(parts: list[bytes], inside: list[bytes]) -> bool:
    """Whether ``csv.writer`` would quote every quoted field: it holds a comma or a quote."""
    if b"" not in parts[2:-1:2]:  # no escaped quotes: one piece per quoted field
        return all(map(bytes.__contains__, inside, repeat(_COMMA)))
    last = len(parts) - 1
    needs_quotes = False
    for i in range(1, last, 2):
        if parts[i + 1] == b"" and i + 1 != last:
            needs_quotes = True  # an escaped quote: the field goes on
            continue
        if not (needs_quotes or _COMMA in parts[i]):
            return False  # quoted without need: csv.writer writes it bare
        needs_quotes = False
    return True


def _select(path: JsonPath, records: list[bytes]) -> list[bytes] | None:
    """Each record's fields selected by ``path``, or None when it does not select by position."""
    if records and b"" not in records:
        sizes = list(map(bytes.count, records, repeat(b",")))
        if min(sizes) == max(sizes):  # every record has as many fields (the usual case)
            selector = _selector(path, sizes[0] + 1)
            return None if selector is None else list(map(selector, records))
    selectors: dict[int, _Selector | None] = {}
    out = []
    for record in records:
        size = record.count(b",") + 1 if record else 0  # csv.reader reads no field in b""
        try:
            selector = selectors[size]
        except KeyError:
            selector = selectors[size] = _selector(path, size)
        if selector is None:
            return None
        out.append(selector(record))
    return out


def _selector(path: JsonPath, size: int) -> _Selector | None:
    """How ``path`` selects from a record of ``size`` fields: ``path`` is applied once to
    ``[0, 1, …, size - 1]``, and what it selects are the fields' positions. The usual shapes
    (one field, one run of fields, the first and the last ones) cut the record's bytes at the
    commas found from either end; any other selection splits the record into fields."""
    try:
        probe = path.apply(list(range(size)))
    except TransformDataError:
        return None
    positions = [probe] if _is_int(probe) else probe
    if not isinstance(positions, list) or not all(_is_int(p) for p in positions):
        return None
    if not positions:
        return lambda record: b""
    first, stop = positions[0], positions[-1] + 1
    after = size - stop  # fields after the last selected one
    if len(positions) == 1:
        # csv.writer writes a record of one empty field as "" (b"" is a record of no field)
        if size == 1:
            return lambda record: record or b'""'
        if first == 0:
            return lambda record: record[: record.find(b",")] or b'""'
        if after == 0:
            return lambda record: record[record.rfind(b",") + 1 :] or b'""'
        return lambda record: record.split(b",")[first] or b'""'
    if positions == list(range(first, stop)):  # one run of fields: one slice of the bytes
        if first == 0 and after == 0:
            return lambda record: record
        if first == 0 and after == 1:
            return lambda record: record[: record.rfind(b",")]
        if first == 0:
            return lambda record: record.rsplit(b",", after)[0]
        if first == 1 and after == 0:
            return lambda record: record[record.find(b",") + 1 :]
        if after == 0:
            return lambda record: record.split(b",", first)[first]
        return lambda record: record.split(b",", first)[first].rsplit(b",", after)[0]
    if size > 1 and positions == [0, size - 1]:  # the first field and the last ($[0,-1])
        return lambda record: record[: record.find(b",")] + record[record.rfind(b",") :]
    pick = operator.itemgetter(*positions)
    return lambda record: b",".join(pick(record.split(b",")))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
