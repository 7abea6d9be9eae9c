"""Price table: schema of the shipped file, look-ups, errors, and Price List API parsing."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from utils.pricing import (
    DEFAULT_PRICES_PATH,
    PRICING_API_SOURCE,
    PriceTable,
    PriceTableError,
    UnknownPriceError,
    apply_price_items,
    fetch_price_items,
    parse_price_list,
    refresh_from_pricing_api,
    validate_price_data,
)

COMMON_INFERENCE_TYPES = [
    "ml.t2.medium",
    "ml.m5.large",
    "ml.m5.xlarge",
    "ml.m5.2xlarge",
    "ml.c5.large",
    "ml.c5.xlarge",
    "ml.c5.2xlarge",
    "ml.g4dn.xlarge",
]


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return PriceTable.load()


def test_shipped_file_is_valid_and_dated(table: PriceTable) -> None:
    data = json.loads(DEFAULT_PRICES_PATH.read_text(encoding="utf-8"))
    assert validate_price_data(data) == []
    assert date.fromisoformat(table.as_of) <= date.today()
    assert "us-east-1" in table.regions()


def test_every_price_has_a_public_source(table: PriceTable) -> None:
    for src in table.sources():
        assert src.source.startswith("https://aws.amazon.com/") or src.source == PRICING_API_SOURCE
        assert src.confidence in {"confirmed", "corroborated", "unconfirmed"}
        date.fromisoformat(src.retrieved)


@pytest.mark.parametrize("instance_type", COMMON_INFERENCE_TYPES)
def test_common_inference_instances_are_priced(table: PriceTable, instance_type: str) -> None:
    for mode in ("realtime", "asynchronous", "batch"):
        assert 0.01 < table.instance_hourly(instance_type, "us-east-1", mode) < 10


def test_instance_prices_scale_within_a_family(table: PriceTable) -> None:
    # within a family each size up doubles vCPUs and memory, and the hourly price with them
    assert table.instance_hourly("ml.m5.2xlarge") == pytest.approx(
        2 * table.instance_hourly("ml.m5.xlarge"), rel=0.01
    )
    assert table.instance_hourly("ml.c5.xlarge") == pytest.approx(
        2 * table.instance_hourly("ml.c5.large"), rel=0.01
    )


def test_serverless_prices(table: PriceTable) -> None:
    gb_s = table.serverless_gb_second()
    assert 0 < gb_s < 0.001
    # per-memory prices, converted to GB-seconds, agree with the flat price
    for mem in (1024, 2048, 3072, 4096, 5120, 6144):
        assert table.serverless_gb_second(memory_mb=mem) == pytest.approx(gb_s)
    assert 0 < table.provisioned_concurrency_gb_second() < gb_s
    assert table.data_processed_per_gb() > 0
    assert table.data_processed_per_gb(direction="out") > 0
    assert table.serverless_free_tier_seconds() == 150_000


def test_unknown_lookups_say_what_is_known(table: PriceTable) -> None:
    with pytest.raises(KeyError) as err:
        table.instance_hourly("ml.m5.huge")
    assert "ml.m5.large" in str(err.value) and "ml.m5.huge" in str(err.value)
    with pytest.raises(UnknownPriceError, match="us-east-1"):
        table.serverless_gb_second(region="mars-north-1")
    with pytest.raises(UnknownPriceError, match="mode"):
        table.instance_hourly("ml.m5.large", mode="training")  # type: ignore[arg-type]


def test_unconfirmed_prices_are_listed(table: PriceTable) -> None:
    unconfirmed = table.unconfirmed()
    assert all(isinstance(name, str) for name in unconfirmed)
    for name in unconfirmed:
        assert name in {s.item for s in table.sources()}


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        (lambda d: d.pop("as_of"), "as_of"),
        (lambda d: d["regions"]["us-east-1"]["instances"]["ml.m5.large"].pop("source"), "source"),
        (
            lambda d: d["regions"]["us-east-1"]["instances"]["ml.m5.large"]["usd_per_hour"].update(
                batch=-1
            ),
            "usd_per_hour.batch",
        ),
        (
            lambda d: d["regions"]["us-east-1"]["serverless"]["compute_usd_per_gb_second"].update(
                confidence="probably"
            ),
            "confidence",
        ),
        (
            lambda d: d["regions"]["us-east-1"]["serverless"].pop("data_processed_in_usd_per_gb"),
            "data_processed_in_usd_per_gb",
        ),
        (
            lambda d: d["regions"]["us-east-1"]["instances"]["ml.m5.large"].update(
                retrieved="2026-13-40"
            ),
            "retrieved",
        ),
    ],
)
def test_schema_rejects_broken_edits(mutate, fragment: str, tmp_path: Path) -> None:
    data = json.loads(DEFAULT_PRICES_PATH.read_text(encoding="utf-8"))
    mutate(data)
    assert any(fragment in e for e in validate_price_data(data))
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    with pytest.raises(PriceTableError, match=fragment.split(".")[-1]):
        PriceTable.load(path)


def test_user_edited_file_is_used(tmp_path: Path) -> None:
    data = json.loads(DEFAULT_PRICES_PATH.read_text(encoding="utf-8"))
    data["regions"]["us-east-1"]["instances"]["ml.m5.large"]["usd_per_hour"]["realtime"] = 1.0
    path = tmp_path / "prices.json"
    path.write_text(json.dumps(data))
    assert PriceTable.load(path).instance_hourly("ml.m5.large") == 1.0


# --------------------------------------------------------------------------------------------
# Price List API parsing.
#
# CONSTRUCTED SAMPLE: the entries below were written by hand following the documented shape of a
# `pricing.get_products` response (FormatVersion aws_v1: PriceList is a list of JSON strings, each
# with product.attributes and terms.OnDemand.<offer>.priceDimensions.<rate>). The SKUs, offer
# codes, usage types and prices are illustrative, not copied from a real response.
# --------------------------------------------------------------------------------------------


def _product(sku: str, attributes: dict, unit: str, usd: str, description: str) -> str:
    offer = f"{sku}.JRTCKXETXF"
    return json.dumps(
        {
            "product": {"productFamily": "ML Instance", "attributes": attributes, "sku": sku},
            "serviceCode": "AmazonSageMaker",
            "terms": {
                "OnDemand": {
                    offer: {
                        "priceDimensions": {
                            f"{offer}.6YS6EN2CT7": {
                                "unit": unit,
                                "endRange": "Inf",
                                "description": description,
                                "appliesTo": [],
                                "rateCode": f"{offer}.6YS6EN2CT7",
                                "beginRange": "0",
                                "pricePerUnit": {"USD": usd},
                            }
                        },
                        "sku": sku,
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "offerTermCode": "JRTCKXETXF",
                        "termAttributes": {},
                    }
                }
            },
            "version": "20261101000000",
            "publicationDate": "2026-11-01T00:00:00Z",
        }
    )


def _instance(sku: str, name: str, component: str, usage: str, usd: str) -> str:
    attrs = {
        "regionCode": "us-east-1",
        "location": "US East (N. Virginia)",
        "instanceName": name,
        "component": component,
        "usagetype": f"USE1-{usage}:{name}",
        "servicecode": "AmazonSageMaker",
    }
    return _product(sku, attrs, "Hrs", usd, f"${float(usd)} per {component} {name}")


def _serverless(sku: str, usage: str, unit: str, usd: str, description: str) -> str:
    attrs = {
        "regionCode": "us-east-1",
        "location": "US East (N. Virginia)",
        "usagetype": f"USE1-{usage}",
        "servicecode": "AmazonSageMaker",
    }
    return _product(sku, attrs, unit, usd, description)


CONSTRUCTED_PRICE_LIST = [
    _instance("SKU1", "ml.m5.large", "Hosting", "Host", "0.1200000000"),
    _instance("SKU2", "ml.m5.large", "Batch Transform", "Tsform", "0.1250000000"),
    _instance("SKU3", "ml.m5.large", "AsyncInference", "AsyncInf", "0.1210000000"),
    _instance("SKU4", "ml.m5.large", "Training", "Train", "0.1300000000"),
    _instance("SKU5", "ml.c5.large", "Hosting", "Host", "0.0000000000"),
    _serverless(
        "SKU6",
        "ServerlessInf:Mem-2GB",
        "Second",
        "0.0000420000",
        "$0.000042 per second of Serverless Inference with 2 GB memory",
    ),
    _serverless(
        "SKU7",
        "ServerlessInf:Mem-1GB",
        "Second",
        "0.0000210000",
        "$0.000021 per second of Serverless Inference with 1 GB memory",
    ),
    _serverless(
        "SKU8",
        "ServerlessInf-DataIn",
        "GB",
        "0.0170000000",
        "$0.017 per GB of Serverless Inference data processed IN",
    ),
    _serverless(
        "SKU9",
        "ServerlessInf-DataOut",
        "GB",
        "0.0180000000",
        "$0.018 per GB of Serverless Inference data processed OUT",
    ),
    _serverless(
        "SKU10",
        "ServerlessInf-ProvisionedConcurrency",
        "GB-Second",
        "0.0000050000",
        "$0.000005 per GB-second of Serverless Inference Provisioned Concurrency",
    ),
    _serverless(
        "SKU11",
        "ServerlessInf-ProvisionedConcurrency-Duration",
        "GB-Second",
        "0.0000060000",
        "$0.000006 per GB-second of inference duration with Serverless Provisioned Concurrency",
    ),
]


def test_parse_price_list_classifies_products() -> None:
    items = parse_price_list(CONSTRUCTED_PRICE_LIST)
    by_sku = {i.sku: i for i in items}
    assert by_sku["SKU1"].kind == "instance" and by_sku["SKU1"].mode == "realtime"
    assert by_sku["SKU1"].usd == pytest.approx(0.12)
    assert by_sku["SKU2"].mode == "batch"
    assert by_sku["SKU3"].mode == "asynchronous"
    assert "SKU4" not in by_sku  # training is not inference
    assert "SKU5" not in by_sku  # zero-priced rows carry no rate
    assert (
        by_sku["SKU6"].kind == "serverless_compute_by_memory" and by_sku["SKU6"].memory_mb == 2048
    )
    assert by_sku["SKU7"].memory_mb == 1024
    assert by_sku["SKU8"].kind == "serverless_data_in"
    assert by_sku["SKU9"].kind == "serverless_data_out"
    assert by_sku["SKU10"].kind == "serverless_provisioned_concurrency"
    assert by_sku["SKU11"].kind == "serverless_compute_with_provisioned_concurrency"


def test_apply_price_items_updates_and_marks_confirmed() -> None:
    current = PriceTable.load()
    items = parse_price_list(CONSTRUCTED_PRICE_LIST)
    updated = PriceTable(apply_price_items(current.to_dict(), items, date(2026, 12, 1)))
    assert updated.as_of == "2026-12-01"
    assert updated.instance_hourly("ml.m5.large") == pytest.approx(0.12)
    assert updated.instance_hourly("ml.m5.large", mode="batch") == pytest.approx(0.125)
    assert updated.instance_hourly("ml.m5.large", mode="asynchronous") == pytest.approx(0.121)
    assert updated.serverless_gb_second() == pytest.approx(0.000021)
    assert updated.serverless_gb_second(memory_mb=2048) == pytest.approx(0.000021)
    assert updated.data_processed_per_gb("us-east-1", "in") == pytest.approx(0.017)
    assert updated.data_processed_per_gb("us-east-1", "out") == pytest.approx(0.018)
    assert updated.provisioned_concurrency_gb_second() == pytest.approx(0.000005)
    assert updated.serverless_gb_second_with_provisioned_concurrency() == pytest.approx(0.000006)
    src = {s.item: s for s in updated.sources()}["ml.m5.large (per hour)"]
    assert (src.source, src.confidence, src.retrieved) == (
        PRICING_API_SOURCE,
        "confirmed",
        "2026-12-01",
    )
    # prices the API did not return are left as they were
    assert updated.instance_hourly("ml.c5.large") == current.instance_hourly("ml.c5.large")
    # the input is not modified
    assert current.instance_hourly("ml.m5.large") != pytest.approx(0.12)


class _PagingPricingClient:
    """Stands in for boto3's pricing client: serves the constructed sample in two pages."""

    def __init__(self) -> None:
        self.calls: list[dict] = []

    def get_products(self, **kwargs):
        self.calls.append(kwargs)
        if "NextToken" not in kwargs:
            return {
                "FormatVersion": "aws_v1",
                "PriceList": CONSTRUCTED_PRICE_LIST[:4],
                "NextToken": "page-2",
            }
        return {"FormatVersion": "aws_v1", "PriceList": CONSTRUCTED_PRICE_LIST[4:]}


def test_fetch_paginates_and_filters_instance_types() -> None:
    client = _PagingPricingClient()
    items = fetch_price_items("us-east-1", client, instance_types=["ml.c5.large"])
    assert len(client.calls) == 2
    assert client.calls[0]["ServiceCode"] == "AmazonSageMaker"
    assert {"Type": "TERM_MATCH", "Field": "regionCode", "Value": "us-east-1"} in client.calls[0][
        "Filters"
    ]
    assert client.calls[1]["NextToken"] == "page-2"
    assert not [i for i in items if i.kind == "instance"]  # only ml.m5.large came back, filtered
    assert any(i.kind == "serverless_data_in" for i in items)


def test_refresh_writes_a_valid_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_text(DEFAULT_PRICES_PATH.read_text(encoding="utf-8"))
    table = refresh_from_pricing_api(path, client=_PagingPricingClient())
    reloaded = PriceTable.load(path)
    assert reloaded.instance_hourly("ml.m5.large") == table.instance_hourly("ml.m5.large") == 0.12
    assert validate_price_data(json.loads(path.read_text())) == []
