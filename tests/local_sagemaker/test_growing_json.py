"""A growing list's JSON, encoded an item at a time: always what json.dumps gives."""

from __future__ import annotations

import json
import random
from typing import Any

from utils.local_sagemaker.services.state.growing_json import GrowingJsonArray


def _dumps(items: list[Any]) -> bytes:
    return json.dumps(items, separators=(",", ":")).encode()


def test_the_text_is_json_dumps_of_the_whole_list_as_it_grows() -> None:
    rng = random.Random(12)
    items: list[Any] = []
    array = GrowingJsonArray(lambda item: item)
    assert array.encode(items) == b"[]"
    for _ in range(30):
        for _ in range(rng.randrange(4)):
            items.append(rng.choice([1, 2.5, "é\n\"", None, [3, "x"], {"k": True}]))
        assert array.encode(items) == _dumps(items)


def test_items_are_converted_once_until_the_list_is_replaced_or_shrinks() -> None:
    converted: list[int] = []

    def convert(item: int) -> int:
        converted.append(item)
        return item * 10

    items = [1, 2]
    array = GrowingJsonArray(convert)
    assert array.encode(items) == b"[10,20]"
    items.append(3)
    assert array.encode(items) == b"[10,20,30]"
    assert converted == [1, 2, 3]
    del items[1:]  # shorter: all again
    assert array.encode(items) == b"[10]"
    other = [1, 2, 3]  # another list: all again
    assert array.encode(other) == b"[10,20,30]"
    assert converted == [1, 2, 3, 1, 1, 2, 3]
    other[-1] = 4  # the last encoded item is not where it was: all again
    other.append(5)
    assert array.encode(other) == b"[10,20,40,50]"
