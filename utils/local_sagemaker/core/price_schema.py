"""The shape of the price file (``utils/prices.json``): what :class:`~.prices.PriceTable` accepts.

Every price carries its provenance (an https ``source``, the ``retrieved`` date, a
``confidence`` level), so a learner can see where each number comes from and how old it is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date
from typing import Any, Literal

SCHEMA_VERSION = 1

InstanceMode = Literal["realtime", "asynchronous", "batch"]
INSTANCE_MODES: tuple[InstanceMode, ...] = ("realtime", "asynchronous", "batch")
CONFIDENCE_LEVELS = ("confirmed", "corroborated", "unconfirmed")

# Serverless price entries: the JSON key, and whether its value is one number or a by-memory map.
SERVERLESS_SCALAR_KEYS = (
    "compute_usd_per_gb_second",
    "provisioned_concurrency_usd_per_gb_second",
    "compute_with_provisioned_concurrency_usd_per_gb_second",
    "data_processed_in_usd_per_gb",
    "data_processed_out_usd_per_gb",
)
SERVERLESS_BY_MEMORY_KEY = "compute_usd_per_second_by_memory_mb"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")




def _check_provenance(where: str, entry: Mapping[str, Any], errors: list[str]) -> None:
    source = entry.get("source")
    if not isinstance(source, str) or not source.startswith("https://"):
        errors.append(f"{where}: 'source' must be an https URL of a public pricing page")
    retrieved = entry.get("retrieved")
    if not isinstance(retrieved, str) or not _DATE_RE.match(retrieved):
        errors.append(f"{where}: 'retrieved' must be a date YYYY-MM-DD")
    else:
        try:
            date.fromisoformat(retrieved)
        except ValueError:
            errors.append(f"{where}: 'retrieved' {retrieved!r} is not a valid date")
    if entry.get("confidence") not in CONFIDENCE_LEVELS:
        errors.append(f"{where}: 'confidence' must be one of {', '.join(CONFIDENCE_LEVELS)}")
    if entry.get("confidence") == "corroborated":
        urls = entry.get("corroborated_by")
        if not (isinstance(urls, list) and urls and all(isinstance(u, str) for u in urls)):
            errors.append(f"{where}: a 'corroborated' price needs 'corroborated_by' (list of URLs)")


def is_price(value: Any) -> bool:
    """A price: a number (not a bool) at least 0."""
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def validate_price_data(data: Any) -> list[str]:
    """Return every problem with a price document (empty list when it is valid).

    Checked: schema version, currency, `as_of` date, and for each region every instance price
    (all three modes, non-negative numbers) and every serverless price, each with provenance.
    """
    errors: list[str] = []
    if not isinstance(data, Mapping):
        return ["the price document must be a JSON object"]
    if data.get("schema_version") != SCHEMA_VERSION:
        errors.append(f"'schema_version' must be {SCHEMA_VERSION}")
    if data.get("currency") != "USD":
        errors.append("'currency' must be 'USD'")
    as_of = data.get("as_of")
    if not isinstance(as_of, str) or not _DATE_RE.match(as_of):
        errors.append("'as_of' must be a date YYYY-MM-DD")
    regions = data.get("regions")
    if not isinstance(regions, Mapping) or not regions:
        errors.append("'regions' must be a non-empty object keyed by region code")
        return errors
    for region, body in regions.items():
        if not isinstance(body, Mapping):
            errors.append(f"regions.{region}: must be an object")
            continue
        instances = body.get("instances")
        if not isinstance(instances, Mapping) or not instances:
            errors.append(f"regions.{region}.instances: must be a non-empty object")
        else:
            for itype, entry in instances.items():
                where = f"regions.{region}.instances.{itype}"
                if not itype.startswith("ml."):
                    errors.append(f"{where}: instance types are named like 'ml.m5.large'")
                if not isinstance(entry, Mapping):
                    errors.append(f"{where}: must be an object")
                    continue
                hourly = entry.get("usd_per_hour")
                if not isinstance(hourly, Mapping):
                    errors.append(f"{where}.usd_per_hour: must map each mode to a price")
                else:
                    for mode in INSTANCE_MODES:
                        if not is_price(hourly.get(mode)):
                            errors.append(f"{where}.usd_per_hour.{mode}: must be a number >= 0")
                _check_provenance(where, entry, errors)
        serverless = body.get("serverless")
        if not isinstance(serverless, Mapping):
            errors.append(f"regions.{region}.serverless: must be an object")
            continue
        for key in SERVERLESS_SCALAR_KEYS:
            where = f"regions.{region}.serverless.{key}"
            entry = serverless.get(key)
            if not isinstance(entry, Mapping):
                errors.append(f"{where}: missing")
                continue
            if not is_price(entry.get("usd")):
                errors.append(f"{where}.usd: must be a number >= 0")
            _check_provenance(where, entry, errors)
        by_memory = serverless.get(SERVERLESS_BY_MEMORY_KEY)
        if by_memory is not None:
            where = f"regions.{region}.serverless.{SERVERLESS_BY_MEMORY_KEY}"
            prices = by_memory.get("usd") if isinstance(by_memory, Mapping) else None
            if not isinstance(prices, Mapping) or not prices:
                errors.append(f"{where}.usd: must map memory sizes in MB to prices")
            else:
                for mem, price in prices.items():
                    if not str(mem).isdigit() or not is_price(price):
                        errors.append(f"{where}.usd.{mem}: memory must be MB digits, price >= 0")
            if isinstance(by_memory, Mapping):
                _check_provenance(where, by_memory, errors)
        free = serverless.get("free_tier")
        if free is not None:
            where = f"regions.{region}.serverless.free_tier"
            if not isinstance(free, Mapping) or not isinstance(free.get("seconds_per_month"), int):
                errors.append(f"{where}.seconds_per_month: must be an integer")
            else:
                _check_provenance(where, free, errors)
    return errors
