"""The lessons' price table, and its refresh from the AWS Price List API.

The table itself (``utils/prices.json``, its schema and look-ups) is the one the local
SageMaker bills with, so it comes from the emulator's public face: the lessons' cost model and
the meter can never disagree. What is here is a maintainer's tool: when running with AWS
credentials, `refresh_from_pricing_api()` rebuilds the table from the AWS Price List API
(`pricing:GetProducts`, service code `AmazonSageMaker`), marking refreshed prices as confirmed
and keeping the rest as they were.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

from utils.local_sagemaker import (
    DEFAULT_PRICES_PATH,
    DEFAULT_REGION,
    INSTANCE_MODES,
    SERVERLESS_BY_MEMORY_KEY,
    InstanceMode,
    PriceSource,
    PriceTable,
    PriceTableError,
    UnknownPriceError,
    validate_price_data,
)

__all__ = [
    "DEFAULT_PRICES_PATH",
    "DEFAULT_REGION",
    "INSTANCE_MODES",
    "PRICING_API_SOURCE",
    "InstanceMode",
    "PriceItem",
    "PriceSource",
    "PriceTable",
    "PriceTableError",
    "UnknownPriceError",
    "apply_price_items",
    "fetch_price_items",
    "parse_price_list",
    "refresh_from_pricing_api",
    "validate_price_data",
]

PRICING_API_SOURCE = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"


# --------------------------------------------------------------------------------------------
# Refreshing from the AWS Price List API
# --------------------------------------------------------------------------------------------

PriceKind = Literal[
    "instance",
    "serverless_compute",
    "serverless_compute_by_memory",
    "serverless_provisioned_concurrency",
    "serverless_compute_with_provisioned_concurrency",
    "serverless_data_in",
    "serverless_data_out",
]


@dataclass(frozen=True)
class PriceItem:
    """One on-demand price parsed from a Price List API product, in the units this table uses."""

    kind: PriceKind
    region: str
    usd: float
    unit: str
    sku: str
    description: str
    instance_type: str | None = None
    mode: InstanceMode | None = None
    memory_mb: int | None = None


def _component_mode(attributes: Mapping[str, Any]) -> InstanceMode | None:
    """Map a SageMaker product's `component`/`usagetype` to the inference mode it bills.

    Real-time endpoints are the "Hosting" component; asynchronous inference and batch transform
    have their own components. Training, notebooks, processing etc. return None.
    """
    component = str(attributes.get("component", "")).lower().replace(" ", "").replace("-", "")
    usagetype = str(attributes.get("usagetype", "")).lower()
    if "async" in component or "asyncinf" in usagetype:
        return "asynchronous"
    if "transform" in component or "batch" in component or "tsform" in usagetype:
        return "batch"
    if component in ("hosting", "realtimeinference", "inference") or "-host:" in usagetype:
        return "realtime"
    return None


_MEMORY_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(gb|mb)\b", re.IGNORECASE)


def _classify_serverless(
    attributes: Mapping[str, Any], description: str, unit: str
) -> tuple[PriceKind, int | None] | None:
    text = " ".join(
        [str(attributes.get("usagetype", "")), str(attributes.get("operation", "")), description]
    ).lower()
    if "serverless" not in text:
        return None
    if "data" in text and ("processed" in text or "datain" in text or "dataout" in text):
        if re.search(r"data[\s-]*out|\bout\b", text):
            return "serverless_data_out", None
        return "serverless_data_in", None
    if "provisioned" in text:
        if "duration" in text or ("inference" in text and "compute" in text):
            return "serverless_compute_with_provisioned_concurrency", None
        return "serverless_provisioned_concurrency", None
    unit_l = unit.lower().replace(" ", "")
    if unit_l in ("gb-second", "gb-seconds", "gb-s"):
        return "serverless_compute", None
    match = _MEMORY_RE.search(str(attributes.get("usagetype", ""))) or _MEMORY_RE.search(
        description
    )
    if match:
        size = float(match.group(1))
        memory_mb = int(size * 1024) if match.group(2).lower() == "gb" else int(size)
        return "serverless_compute_by_memory", memory_mb
    return "serverless_compute", None


def parse_price_list(price_list: Iterable[str | Mapping[str, Any]]) -> list[PriceItem]:
    """Parse the `PriceList` entries of `pricing.get_products` responses.

    Each entry is a JSON string (or already-decoded object) shaped as documented for the Price
    List API: `product.attributes` (instanceName, regionCode, component, usagetype, ...) and
    `terms.OnDemand.<offer>.priceDimensions.<rate>.{unit, pricePerUnit.USD, description}`.
    Only on-demand, USD, non-zero inference prices are kept; anything unrecognised is skipped.
    """
    items: list[PriceItem] = []
    for raw in price_list:
        doc = json.loads(raw) if isinstance(raw, str) else raw
        product = doc.get("product", {})
        attributes = product.get("attributes", {})
        region = attributes.get("regionCode")
        if not region:
            continue
        sku = str(product.get("sku", ""))
        for term in doc.get("terms", {}).get("OnDemand", {}).values():
            for dim in term.get("priceDimensions", {}).values():
                usd_text = dim.get("pricePerUnit", {}).get("USD")
                if usd_text is None:
                    continue
                usd = float(usd_text)
                if usd <= 0:  # free-tier and zero-priced rows say nothing about the rate
                    continue
                unit = str(dim.get("unit", ""))
                description = str(dim.get("description", ""))
                instance_name = attributes.get("instanceName") or attributes.get("instanceType")
                mode = _component_mode(attributes)
                if instance_name and str(instance_name).startswith("ml.") and mode:
                    if unit.lower() not in ("hrs", "hours", "hour"):
                        continue
                    items.append(
                        PriceItem(
                            "instance",
                            region,
                            usd,
                            unit,
                            sku,
                            description,
                            instance_type=str(instance_name),
                            mode=mode,
                        )
                    )
                    continue
                classified = _classify_serverless(attributes, description, unit)
                if classified:
                    kind, memory_mb = classified
                    items.append(
                        PriceItem(kind, region, usd, unit, sku, description, memory_mb=memory_mb)
                    )
    return items


def apply_price_items(
    data: Mapping[str, Any], items: Iterable[PriceItem], retrieved: date | None = None
) -> dict[str, Any]:
    """Return a copy of a price document updated with `items` (a pure function).

    Updated entries get the Price List API as source, today's date and `confirmed`; prices the
    API did not return keep their existing values and provenance.
    """
    stamp = (retrieved or date.today()).isoformat()
    out = copy.deepcopy(dict(data))
    provenance = {"source": PRICING_API_SOURCE, "retrieved": stamp, "confidence": "confirmed"}
    touched = False
    for item in items:
        region = out["regions"].setdefault(item.region, {"instances": {}, "serverless": {}})
        if item.kind == "instance" and item.instance_type and item.mode:
            entry = region["instances"].setdefault(item.instance_type, {"usd_per_hour": {}})
            entry["usd_per_hour"][item.mode] = item.usd
            entry.update(provenance)
            entry.pop("corroborated_by", None)
            entry.pop("note", None)
        elif item.kind == "serverless_compute_by_memory" and item.memory_mb:
            entry = region["serverless"].setdefault(
                SERVERLESS_BY_MEMORY_KEY,
                {"usd": {}, "unit": "USD per second of inference duration, by MemorySizeInMB"},
            )
            entry["usd"][str(item.memory_mb)] = item.usd
            entry.update(provenance)
            # derive the flat GB-second price from the smallest memory size, which AWS bills
            # proportionally to memory
            smallest = min(entry["usd"], key=int)
            flat = region["serverless"].setdefault("compute_usd_per_gb_second", {})
            flat["usd"] = round(entry["usd"][smallest] / (int(smallest) / 1024), 12)
            flat.update(provenance)
        else:
            key = {
                "serverless_compute": "compute_usd_per_gb_second",
                "serverless_provisioned_concurrency": "provisioned_concurrency_usd_per_gb_second",
                "serverless_compute_with_provisioned_concurrency": "compute_with_provisioned_concurrency_usd_per_gb_second",
                "serverless_data_in": "data_processed_in_usd_per_gb",
                "serverless_data_out": "data_processed_out_usd_per_gb",
            }.get(item.kind)
            if key is None:
                continue
            entry = region["serverless"].setdefault(key, {})
            entry["usd"] = item.usd
            entry.update(provenance)
        touched = True
    # An instance that only got some modes from the API: async endpoints are hosted instances,
    # so fill a missing asynchronous price from the real-time one (and vice versa for batch).
    for region in out["regions"].values():
        for entry in region.get("instances", {}).values():
            hourly = entry.get("usd_per_hour", {})
            if "realtime" in hourly:
                hourly.setdefault("asynchronous", hourly["realtime"])
                hourly.setdefault("batch", hourly["realtime"])
    if touched:
        out["as_of"] = stamp
    return out


def fetch_price_items(
    region: str = DEFAULT_REGION,
    client: Any | None = None,
    instance_types: Iterable[str] | None = None,
) -> list[PriceItem]:
    """Query the AWS Price List API for SageMaker inference prices in `region`.

    Needs AWS credentials with `pricing:GetProducts`. The Price List API is served from
    us-east-1 (and a few other regions) whatever region is being priced. Results are paginated
    with `NextToken`.
    """
    if client is None:
        import boto3  # imported here: the offline path never needs it

        client = boto3.client("pricing", region_name="us-east-1")
    wanted = set(instance_types) if instance_types is not None else None
    filters = [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}]
    items: list[PriceItem] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {
            "ServiceCode": "AmazonSageMaker",
            "Filters": filters,
            "FormatVersion": "aws_v1",
            "MaxResults": 100,
        }
        if token:
            kwargs["NextToken"] = token
        response = client.get_products(**kwargs)
        for item in parse_price_list(response.get("PriceList", [])):
            if item.kind == "instance" and wanted is not None and item.instance_type not in wanted:
                continue
            items.append(item)
        token = response.get("NextToken")
        if not token:
            return items


def refresh_from_pricing_api(
    path: Path | None = None,
    region: str = DEFAULT_REGION,
    client: Any | None = None,
    write: bool = True,
) -> PriceTable:
    """Refresh the instance types already in the table (plus serverless prices) from AWS.

    Only the instance types the table already lists are updated, so the file stays small and
    reviewable; add a type to the file first to have it refreshed. Writes the file when `write`.
    """
    path = Path(path) if path is not None else DEFAULT_PRICES_PATH
    current = PriceTable.load(path)
    items = fetch_price_items(
        region, client, current.instance_types(region) if region in current.regions() else None
    )
    updated = PriceTable(apply_price_items(current.to_dict(), items), path)
    if write:
        path.write_text(json.dumps(updated.to_dict(), indent=2) + "\n", encoding="utf-8")
    return updated
