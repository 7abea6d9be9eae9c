"""The one poll-interval generator every waiting helper uses (utils/polling.py)."""

from __future__ import annotations

import pytest

from utils.polling import FIRST_POLL_SECONDS


def test_poll_intervals_grow_to_a_cap_or_stay_fixed() -> None:
    from itertools import islice

    from utils.polling import poll_intervals

    assert list(islice(poll_intervals(0.1, 1.0), 8)) == pytest.approx(
        [0.1, 0.15, 0.225, 0.3375, 0.50625, 0.759375, 1.0, 1.0]
    )
    assert list(islice(poll_intervals(2.0, 2.0), 3)) == [2.0, 2.0, 2.0]
    assert next(poll_intervals()) == FIRST_POLL_SECONDS


@pytest.mark.parametrize(
    ("endpoint_url", "cap"),
    [
        ("http://127.0.0.1:8765", "LOCAL_MAX_POLL_SECONDS"),
        ("http://localhost:41234", "LOCAL_MAX_POLL_SECONDS"),
        ("https://api.sagemaker.eu-west-1.amazonaws.com", "MAX_POLL_SECONDS"),
        ("https://runtime.sagemaker.us-east-1.amazonaws.com", "MAX_POLL_SECONDS"),
    ],
)
def test_the_cap_follows_where_the_client_sends_its_requests(endpoint_url: str, cap: str) -> None:
    from types import SimpleNamespace

    from utils import polling

    client = SimpleNamespace(meta=SimpleNamespace(endpoint_url=endpoint_url))
    assert polling.max_poll_seconds(client) == getattr(polling, cap)
    assert polling.LOCAL_MAX_POLL_SECONDS < polling.MAX_POLL_SECONDS


def test_a_real_boto3_client_pointed_at_the_local_sagemaker_gets_the_local_cap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import boto3

    from utils import polling

    for name in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER"):
        monkeypatch.delenv(name, raising=False)  # the AWS client below takes AWS's address

    local = boto3.client("sagemaker", region_name="us-east-1", endpoint_url="http://127.0.0.1:8765",
                         aws_access_key_id="x", aws_secret_access_key="y")
    aws = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x",
                       aws_secret_access_key="y")
    assert polling.max_poll_seconds(local) == polling.LOCAL_MAX_POLL_SECONDS
    assert polling.max_poll_seconds(aws) == polling.MAX_POLL_SECONDS


@pytest.mark.parametrize(
    ("endpoint_url", "expected"),
    [("http://127.0.0.1:8765", 0.25), ("https://api.sagemaker.us-east-1.amazonaws.com", 10.0)],
)
def test_a_fixed_aws_interval_is_capped_where_the_requests_go_to_this_machine(
    endpoint_url: str, expected: float
) -> None:
    """The AWS code path against a server on this machine (the AWS rehearsal's stand-in
    accounts) polls at the local pace; against AWS at the interval the helper asks for."""
    from types import SimpleNamespace

    from utils import polling

    client = SimpleNamespace(meta=SimpleNamespace(endpoint_url=endpoint_url))
    assert polling.LOCAL_MAX_POLL_SECONDS == 0.25
    assert polling.poll_seconds(10.0, client) == expected
    assert polling.poll_seconds(0.1, client) == 0.1
    assert polling.on_this_machine(client) is (expected == 0.25)
