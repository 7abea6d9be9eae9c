"""What notebook 08 shows and deletes: notification topics and queues by their tags, and the cost
report (one aligned row per resource, grouped by notebook), against a running local SageMaker."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

from utils.artifact import SERVING_ENVIRONMENT
from utils.cleanup import cleanup, cost_report, find_tagged
from utils.endpoint_status import wait_for_endpoint
from utils.session import PROJECT_TAG, Tutorial

from .conftest import build_archive, wait_status


@pytest.fixture(scope="module")
def tut(notebook_setup: Callable[[str], Tutorial]) -> Tutorial:
    return notebook_setup("r1")


def _tags(notebook: str) -> list[dict[str, str]]:
    return [{"Key": "project", "Value": PROJECT_TAG}, {"Key": "notebook", "Value": notebook}]


def test_tagged_topics_and_queues_are_found_and_deleted(tut: Any) -> None:
    sqs = tut.client("sqs")
    mine = tut.sns.create_topic(Name=tut.name("report-topic"), Tags=tut.tags)["TopicArn"]
    other = tut.sns.create_topic(Name=tut.name("other-topic"), Tags=_tags("r2"))["TopicArn"]
    untagged = tut.sns.create_topic(Name=tut.name("untagged-topic"))["TopicArn"]
    inbox = sqs.create_queue(
        QueueName=tut.name("report-inbox"), tags={t["Key"]: t["Value"] for t in tut.tags}
    )["QueueUrl"]

    found = find_tagged(tut, "r1")
    assert (found.topics, found.queues) == ([mine], [inbox])
    assert found.count() == 2

    cleanup(tut, quiet=True)
    topics = {t["TopicArn"] for t in tut.sns.list_topics()["Topics"]}
    assert mine not in topics and {other, untagged} <= topics
    assert inbox not in sqs.list_queues().get("QueueUrls", [])
    for arn in (other, untagged):
        tut.sns.delete_topic(TopicArn=arn)


def test_cost_report_has_one_aligned_row_per_resource_grouped_by_notebook(tut: Any) -> None:
    key = "models/report/model.tar.gz"
    tut.s3.put_object(Bucket=tut.bucket, Key=key, Body=build_archive("default"))
    names = {}
    for notebook in ("r1", "r2", "r1"):
        name = tut.name(f"report-{notebook}")
        container = {"Image": "sklearn-inference:1.4-2", "ModelDataUrl": tut.s3_uri(key),
                     "Environment": SERVING_ENVIRONMENT}
        tut.sagemaker.create_model(
            ModelName=name, PrimaryContainer=container, ExecutionRoleArn=tut.role,
            Tags=_tags(notebook),
        )
        tut.sagemaker.create_endpoint_config(
            EndpointConfigName=name, Tags=_tags(notebook),
            ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name,
                                 "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
        )
        tut.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name,
                                      Tags=_tags(notebook))
        names[name] = notebook
    for name in names:
        wait_status(tut.sagemaker, name, {"InService"})
    gone = next(name for name, notebook in names.items() if notebook == "r2")
    tut.sagemaker.delete_endpoint(EndpointName=gone)  # metered, but its tags are gone with it
    wait_for_endpoint(tut.sagemaker, gone, until="Deleted", show=None)

    report = cost_report(tut).splitlines()
    table = [line for line in report if "report-" in line]
    rows = {name: line for name in names for line in table if name in line}
    assert len(table) == len(rows)
    assert set(rows) == set(names) - {gone}  # one row per existing resource, none repeated
    # grouped: the notebook is named on the first row of its group only, rows in notebook order
    header = next(line for line in report if line.startswith("notebook"))
    cost_column = header.index("cost")
    for line in rows.values():
        assert re.match(r"\$\d", line[cost_column:]), line  # aligned under the header
    assert any(line.startswith("r1 ") for line in rows.values())
    assert any(line.startswith("    ") for line in rows.values())  # second r1 row: blank
    # the deleted endpoint is summed on one line, not listed
    assert all(gone not in line for line in report)
    assert any(line.startswith("and ") and "already deleted" in line for line in report)
    assert report[-1].startswith("total: $")

    only_r1 = cost_report(tut, notebook="r1")
    assert "already deleted" not in only_r1 and "r2" not in only_r1
    cleanup(tut, everything=True, quiet=True)
