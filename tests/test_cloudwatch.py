"""An endpoint's AWS/SageMaker metrics (utils/cloudwatch.py), against moto's CloudWatch in-process
(real API shapes, the same calls the helpers make on AWS)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from endpoint_fakes import FakeClock

from utils.cloudwatch import read_endpoint_metrics


def _publish(cloudwatch: Any, endpoint: str, metric: str, values: list[float], unit: str) -> None:
    """As the local SageMaker (and AWS) publish them: statistic sets per endpoint variant."""
    cloudwatch.put_metric_data(
        Namespace="AWS/SageMaker",
        MetricData=[{
            "MetricName": metric,
            "Dimensions": [
                {"Name": "EndpointName", "Value": endpoint},
                {"Name": "VariantName", "Value": "AllTraffic"},
            ],
            "StatisticValues": {
                "SampleCount": float(len(values)),
                "Sum": float(sum(values)),
                "Minimum": float(min(values)),
                "Maximum": float(max(values)),
            },
            "Unit": unit,
        }],
    )


def test_read_endpoint_metrics_sums_counts_and_averages_latency_in_ms(moto_aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    _publish(cloudwatch, "ep", "Invocations", [1, 1, 1], "None")
    _publish(cloudwatch, "ep", "Invocations", [1, 1], "None")
    _publish(cloudwatch, "ep", "Invocation4XXErrors", [0, 1, 0, 0, 0], "None")
    _publish(cloudwatch, "ep", "ModelLatency", [10_000, 20_000, 30_000], "Microseconds")
    _publish(cloudwatch, "ep", "ModelLatency", [40_000, 50_000], "Microseconds")
    _publish(cloudwatch, "other", "Invocations", [1] * 7, "None")
    metrics = read_endpoint_metrics(cloudwatch, "ep", min_invocations=5)
    assert metrics["Invocations"] == 5
    assert metrics["Invocation4XXErrors"] == 1
    assert metrics["Invocation5XXErrors"] == 0
    assert metrics["ModelLatency_ms"] == pytest.approx(30.0)  # over requests, not per batch


def test_read_endpoint_metrics_gives_up_after_the_timeout(moto_aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    clock = FakeClock()  # only sleeping moves it: a slow machine cannot change the run
    shown: list[str] = []
    metrics = read_endpoint_metrics(cloudwatch, "ep", min_invocations=1, timeout=0.3,
                                    sleep=clock.sleep, show=shown.append, announce_after=0.1,
                                    clock=clock)
    assert metrics["Invocations"] == 0 and sum(clock.sleeps) == pytest.approx(0.3)
    assert metrics["ModelLatency_ms"] != metrics["ModelLatency_ms"]  # NaN: no requests
    assert shown == [
        "CloudWatch has 0 of 1 invocations so far (on AWS metrics arrive about a minute after "
        "the requests); waiting at most 0 s in all."
    ]


def test_read_endpoint_metrics_says_nothing_when_the_metrics_are_there(moto_aws: None) -> None:
    cloudwatch = boto3.client("cloudwatch")
    _publish(cloudwatch, "ep", "Invocations", [1, 1], "None")
    shown: list[str] = []
    metrics = read_endpoint_metrics(cloudwatch, "ep", min_invocations=2, show=shown.append,
                                    announce_after=0.0)
    assert metrics["Invocations"] == 2 and shown == []
