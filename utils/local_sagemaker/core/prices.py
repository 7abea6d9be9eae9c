"""SageMaker inference prices: a dated, sourced JSON file that users can edit, read as a table.

Why a file and not constants: prices change and differ by region, and a learner must be able to
see where every number comes from and how old it is. ``utils/prices.json`` holds each price with
its ``source`` URL, ``retrieved`` date and a ``confidence`` level; :class:`PriceTable` reads it,
validates its shape (:mod:`.price_schema`) and answers look-ups with errors that say what *is*
known. The local SageMaker's meter bills at these prices (:func:`hourly_price`); the lessons'
cost model reads the same table through the package's public face.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from .price_schema import (
    INSTANCE_MODES,
    SERVERLESS_BY_MEMORY_KEY,
    InstanceMode,
    is_price,
    validate_price_data,
)
from .settings import PROJECT_ROOT, REGION

DEFAULT_PRICES_PATH = PROJECT_ROOT / "utils" / "prices.json"
DEFAULT_REGION = REGION


class PriceTableError(ValueError):
    """The price file does not have the documented shape."""


class UnknownPriceError(KeyError):
    """A region, instance type or mode that the table has no price for.

    Subclasses KeyError so callers can treat it like a missing key, but prints its message
    plainly (KeyError would print it quoted).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""




@dataclass(frozen=True)
class PriceSource:
    """Where one price comes from, for display next to a cost ("as of ..., source ...")."""

    item: str
    usd: float | None
    source: str
    retrieved: str
    confidence: str


class PriceTable:
    """Read-only view of a validated price document.

    All prices are in USD. Look-ups raise `UnknownPriceError` (a KeyError) naming what is known,
    so a typo in an instance type is obvious rather than silently costing zero.
    """

    def __init__(self, data: Mapping[str, Any], path: Path | None = None) -> None:
        errors = validate_price_data(data)
        if errors:
            where = f" in {path.name}" if path else ""
            raise PriceTableError(f"invalid price table{where}:\n  - " + "\n  - ".join(errors))
        self._data: dict[str, Any] = copy.deepcopy(dict(data))
        self.path = path

    @classmethod
    def load(cls, path: Path | None = None) -> PriceTable:
        """Load and validate a price file (default: `prices.json` next to this module)."""
        path = Path(path) if path is not None else DEFAULT_PRICES_PATH
        with path.open(encoding="utf-8") as fh:
            data = json.load(fh)
        return cls(data, path)

    # -- metadata ----------------------------------------------------------------------------

    @property
    def as_of(self) -> str:
        """The date the table as a whole was compiled (YYYY-MM-DD)."""
        return str(self._data["as_of"])

    @property
    def currency(self) -> str:
        return str(self._data["currency"])

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the underlying document (safe to modify)."""
        return copy.deepcopy(self._data)

    def regions(self) -> list[str]:
        return sorted(self._data["regions"])

    def instance_types(self, region: str = DEFAULT_REGION) -> list[str]:
        return sorted(self._region(region)["instances"])

    def _region(self, region: str) -> Mapping[str, Any]:
        try:
            body: Mapping[str, Any] = self._data["regions"][region]
        except KeyError:
            raise UnknownPriceError(
                f"no SageMaker prices for region {region!r}; the table has: "
                f"{', '.join(self.regions())}. Add the region to the price file or refresh it "
                "from the AWS Price List API."
            ) from None
        return body

    def _serverless(self, region: str) -> Mapping[str, Any]:
        serverless: Mapping[str, Any] = self._region(region)["serverless"]
        return serverless

    # -- instances ---------------------------------------------------------------------------

    def instance_hourly(
        self, instance_type: str, region: str = DEFAULT_REGION, mode: InstanceMode = "realtime"
    ) -> float:
        """On-demand USD per instance-hour for `instance_type` used by `mode` in `region`.

        Real-time and asynchronous endpoints and batch transform jobs are each billed per
        instance-second at their own (usually equal) hourly rate.
        """
        if mode not in INSTANCE_MODES:
            raise UnknownPriceError(
                f"unknown mode {mode!r} for instance pricing; use one of {', '.join(INSTANCE_MODES)}"
            )
        instances = self._region(region)["instances"]
        try:
            entry = instances[instance_type]
        except KeyError:
            raise UnknownPriceError(
                f"no price for instance type {instance_type!r} in {region}; known types: "
                f"{', '.join(sorted(instances))}"
            ) from None
        return float(entry["usd_per_hour"][mode])

    # -- serverless --------------------------------------------------------------------------

    def serverless_gb_second(
        self, region: str = DEFAULT_REGION, memory_mb: int | None = None
    ) -> float:
        """USD per GB-second of on-demand serverless inference duration.

        With `memory_mb`, uses the per-memory-size price when the table lists that size (the
        pricing page quotes a per-second price for each size) converted to per GB-second;
        otherwise the flat GB-second price.
        """
        serverless = self._serverless(region)
        if memory_mb is not None:
            by_memory = serverless.get(SERVERLESS_BY_MEMORY_KEY, {}).get("usd", {})
            per_second = by_memory.get(str(int(memory_mb)))
            if per_second is not None:
                return float(per_second) / (int(memory_mb) / 1024)
        return float(serverless["compute_usd_per_gb_second"]["usd"])

    def serverless_gb_second_with_provisioned_concurrency(
        self, region: str = DEFAULT_REGION
    ) -> float:
        """USD per GB-second of inference duration for requests served by provisioned concurrency."""
        return float(
            self._serverless(region)["compute_with_provisioned_concurrency_usd_per_gb_second"][
                "usd"
            ]
        )

    def provisioned_concurrency_gb_second(self, region: str = DEFAULT_REGION) -> float:
        """USD per GB-second of provisioned concurrency kept warm (memory x concurrency x time)."""
        return float(self._serverless(region)["provisioned_concurrency_usd_per_gb_second"]["usd"])

    def data_processed_per_gb(
        self, region: str = DEFAULT_REGION, direction: Literal["in", "out"] = "in"
    ) -> float:
        """USD per GB of serverless data processed, for request (`in`) or response (`out`) bytes."""
        if direction not in ("in", "out"):
            raise UnknownPriceError(f"direction must be 'in' or 'out', not {direction!r}")
        return float(self._serverless(region)[f"data_processed_{direction}_usd_per_gb"]["usd"])

    def serverless_free_tier_seconds(self, region: str = DEFAULT_REGION) -> int:
        """Free-tier serverless inference seconds per month (first months only; 0 if unknown)."""
        free = self._serverless(region).get("free_tier")
        return int(free["seconds_per_month"]) if free else 0

    # -- provenance --------------------------------------------------------------------------

    def sources(self, region: str = DEFAULT_REGION) -> list[PriceSource]:
        """Every price in `region` with its source, date and confidence, for display."""
        body = self._region(region)
        out: list[PriceSource] = []
        for itype, entry in sorted(body["instances"].items()):
            out.append(
                PriceSource(
                    f"{itype} (per hour)",
                    float(entry["usd_per_hour"]["realtime"]),
                    entry["source"],
                    entry["retrieved"],
                    entry["confidence"],
                )
            )
        for key, entry in body["serverless"].items():
            usd = entry.get("usd")
            out.append(
                PriceSource(
                    f"serverless {key}",
                    float(usd) if is_price(usd) else None,
                    entry["source"],
                    entry["retrieved"],
                    entry["confidence"],
                )
            )
        return out

    def unconfirmed(self, region: str = DEFAULT_REGION) -> list[str]:
        """Names of the prices in `region` that could not be confirmed on their source page."""
        return [s.item for s in self.sources(region) if s.confidence == "unconfirmed"]


_default_table: PriceTable | None = None


def hourly_price(
    instance_type: str, region: str = DEFAULT_REGION, mode: InstanceMode = "realtime"
) -> float | None:
    """USD per instance-hour (``mode``: realtime, asynchronous or batch), or None when unknown.

    What the meter bills with: an instance type the table does not know is reported with a
    ``None`` price instead of a guess.
    """
    try:
        return default_table().instance_hourly(instance_type, region, mode)
    except (KeyError, ValueError, OSError):
        return None


def default_table() -> PriceTable:
    """The project's price table (``utils/prices.json``), loaded once per process."""
    global _default_table
    if _default_table is None:
        _default_table = PriceTable.load()
    return _default_table
