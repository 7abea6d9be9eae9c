"""SageMaker inference price table: a dated, sourced JSON file that users can edit.

Why a file and not constants: prices change and differ by region, and a learner must be able to see
where every number comes from and how old it is. `prices.json` (next to this module) holds each
price with its `source` URL, `retrieved` date and a `confidence` level; `PriceTable` reads it,
validates its shape and answers look-ups with errors that say what *is* known.

When running with AWS credentials, `refresh_from_pricing_api()` rebuilds the table from the AWS
Price List API (`pricing:GetProducts`, service code `AmazonSageMaker`), marking refreshed prices as
confirmed and keeping the rest as they were.
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

DEFAULT_PRICES_PATH = Path(__file__).with_name("prices.json")
DEFAULT_REGION = "us-east-1"
SCHEMA_VERSION = 1

InstanceMode = Literal["realtime", "asynchronous", "batch"]
INSTANCE_MODES: tuple[InstanceMode, ...] = ("realtime", "asynchronous", "batch")
CONFIDENCE_LEVELS = ("confirmed", "corroborated", "unconfirmed")

PRICING_API_SOURCE = "https://docs.aws.amazon.com/aws-cost-management/latest/APIReference/API_pricing_GetProducts.html"

# Serverless price entries: the JSON key, and whether its value is one number or a by-memory map.
_SERVERLESS_SCALAR_KEYS = (
    "compute_usd_per_gb_second",
    "provisioned_concurrency_usd_per_gb_second",
    "compute_with_provisioned_concurrency_usd_per_gb_second",
    "data_processed_in_usd_per_gb",
    "data_processed_out_usd_per_gb",
)
_SERVERLESS_BY_MEMORY_KEY = "compute_usd_per_second_by_memory_mb"
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class PriceTableError(ValueError):
    """The price file does not have the documented shape."""


class UnknownPriceError(KeyError):
    """A region, instance type or mode that the table has no price for.

    Subclasses KeyError so callers can treat it like a missing key, but prints its message
    plainly (KeyError would print it quoted).
    """

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


# --------------------------------------------------------------------------------------------
# Schema validation
# --------------------------------------------------------------------------------------------


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


def _is_price(value: Any) -> bool:
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
                        if not _is_price(hourly.get(mode)):
                            errors.append(f"{where}.usd_per_hour.{mode}: must be a number >= 0")
                _check_provenance(where, entry, errors)
        serverless = body.get("serverless")
        if not isinstance(serverless, Mapping):
            errors.append(f"regions.{region}.serverless: must be an object")
            continue
        for key in _SERVERLESS_SCALAR_KEYS:
            where = f"regions.{region}.serverless.{key}"
            entry = serverless.get(key)
            if not isinstance(entry, Mapping):
                errors.append(f"{where}: missing")
                continue
            if not _is_price(entry.get("usd")):
                errors.append(f"{where}.usd: must be a number >= 0")
            _check_provenance(where, entry, errors)
        by_memory = serverless.get(_SERVERLESS_BY_MEMORY_KEY)
        if by_memory is not None:
            where = f"regions.{region}.serverless.{_SERVERLESS_BY_MEMORY_KEY}"
            prices = by_memory.get("usd") if isinstance(by_memory, Mapping) else None
            if not isinstance(prices, Mapping) or not prices:
                errors.append(f"{where}.usd: must map memory sizes in MB to prices")
            else:
                for mem, price in prices.items():
                    if not str(mem).isdigit() or not _is_price(price):
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


# --------------------------------------------------------------------------------------------
# The table
# --------------------------------------------------------------------------------------------


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
            return self._data["regions"][region]
        except KeyError:
            raise UnknownPriceError(
                f"no SageMaker prices for region {region!r}; the table has: "
                f"{', '.join(self.regions())}. Add the region to the price file or refresh it "
                "from the AWS Price List API."
            ) from None

    def _serverless(self, region: str) -> Mapping[str, Any]:
        return self._region(region)["serverless"]

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
            by_memory = serverless.get(_SERVERLESS_BY_MEMORY_KEY, {}).get("usd", {})
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
                    float(usd) if _is_price(usd) else None,
                    entry["source"],
                    entry["retrieved"],
                    entry["confidence"],
                )
            )
        return out

    def unconfirmed(self, region: str = DEFAULT_REGION) -> list[str]:
        """Names of the prices in `region` that could not be confirmed on their source page."""
        return [s.item for s in self.sources(region) if s.confidence == "unconfirmed"]


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
                _SERVERLESS_BY_MEMORY_KEY,
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
