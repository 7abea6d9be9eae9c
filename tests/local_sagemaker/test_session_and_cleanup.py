"""The notebooks' setup helper and the one-line cleanup, against a running local SageMaker."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

import pytest

from utils.cleanup import cleanup, find_tagged
from utils.endpoint_logs import delete_endpoint_log_groups, log_group_for
from utils.session import PROJECT_TAG, Tutorial, setup

from .conftest import build_archive, deploy, wait_status


@pytest.fixture(scope="module")
def tut(notebook_setup: Callable[[str], Tutorial]) -> Tutorial:
    return notebook_setup("t1")


def _deploy(tut: Any, model_url: str, tags: list[dict[str, str]]) -> str:
    return deploy(
        tut.sagemaker, model_url, name=tut.name("cleanup-test"), role=tut.role, tags=tags
    )


def test_setup_connects_to_the_running_local_sagemaker(tut: Any, local_sm: str) -> None:
    assert tut.backend == "local"
    assert tut.endpoint_url == local_sm
    assert os.environ["AWS_ENDPOINT_URL"] == local_sm
    assert tut.role.startswith("arn:aws:iam::") and tut.role.endswith(":role/handson-sagemaker-execution-role")
    tut.s3.head_bucket(Bucket=tut.bucket)
    assert {"Key": "project", "Value": PROJECT_TAG} in tut.tags
    assert {"Key": "notebook", "Value": "t1"} in tut.tags


def test_setup_is_idempotent(tut: Any) -> None:
    again = setup(notebook="t1", quiet=True)
    assert (again.endpoint_url, again.role, again.bucket) == (tut.endpoint_url, tut.role, tut.bucket)


def test_names_are_valid_and_fresh(tut: Any) -> None:
    first, second = tut.name("loan_model v1"), tut.name("loan_model v1")
    assert first != second
    assert first.startswith("loan-model-v1-")


def test_unknown_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="backend must be one of"):
        setup("azure")


def test_cleanup_deletes_only_this_notebooks_resources(tut: Any, capsys: Any) -> None:
    key = "models/cleanup/model.tar.gz"
    tut.s3.put_object(Bucket=tut.bucket, Key=key, Body=build_archive("default"))
    mine = _deploy(tut, tut.s3_uri(key), tut.tags)
    other_tags = [{"Key": "project", "Value": PROJECT_TAG}, {"Key": "notebook", "Value": "t2"}]
    theirs = _deploy(tut, tut.s3_uri(key), other_tags)
    untagged = _deploy(tut, tut.s3_uri(key), [])
    for name in (mine, theirs, untagged):
        wait_status(tut.sagemaker, name, {"InService"})

    found = find_tagged(tut, "t1")
    assert (found.endpoints, found.endpoint_configs, found.models) == ([mine], [mine], [mine])

    cleanup(tut)
    report = capsys.readouterr().out
    assert "Deleted for notebook t1" in report and "cost of those endpoints: $" in report
    assert "log groups       : 1" in report
    names = {e["EndpointName"] for e in tut.sagemaker.list_endpoints()["Endpoints"]}
    assert mine not in names and {theirs, untagged} <= names
    # SageMaker keeps an endpoint's log group after the endpoint: the clean-up deletes it (and
    # the endpoint's last lines, shipped before it was gone, do not bring it back)
    groups = _log_groups(tut)
    assert log_group_for(mine) not in groups
    assert {log_group_for(theirs), log_group_for(untagged)} <= groups
    with pytest.raises(tut.sagemaker.exceptions.ClientError, match="Could not find model"):
        tut.sagemaker.describe_model(ModelName=mine)

    cleanup(tut, everything=True, quiet=True)
    names = {e["EndpointName"] for e in tut.sagemaker.list_endpoints()["Endpoints"]}
    assert theirs not in names and untagged in names  # untagged work is never touched
    assert log_group_for(theirs) not in _log_groups(tut)
    assert log_group_for(untagged) in _log_groups(tut)
    tut.sagemaker.delete_endpoint(EndpointName=untagged)
    tut.sagemaker.delete_endpoint_config(EndpointConfigName=untagged)
    tut.sagemaker.delete_model(ModelName=untagged)


def _log_groups(tut: Any) -> set[str]:
    pages = tut.logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix="/aws/sagemaker/Endpoints/"
    )
    return {g["logGroupName"] for page in pages for g in page["logGroups"]}


def test_deleting_log_groups_and_streams_answers_as_aws(tut: Any) -> None:
    """DeleteLogGroup and DeleteLogStream, and their ResourceNotFoundException texts."""
    logs = tut.logs
    group = f"/aws/sagemaker/Endpoints/{tut.name('log-test')}"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="AllTraffic/i-1")
    with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing_stream:
        logs.delete_log_stream(logGroupName=group, logStreamName="AllTraffic/i-2")
    assert missing_stream.value.response["Error"]["Message"] == (
        "The specified log stream does not exist."
    )
    logs.delete_log_stream(logGroupName=group, logStreamName="AllTraffic/i-1")
    assert logs.describe_log_streams(logGroupName=group)["logStreams"] == []
    logs.delete_log_group(logGroupName=group)
    for delete in (
        lambda: logs.delete_log_group(logGroupName=group),
        lambda: logs.delete_log_stream(logGroupName=group, logStreamName="AllTraffic/i-1"),
    ):
        with pytest.raises(logs.exceptions.ResourceNotFoundException) as missing_group:
            delete()
        assert missing_group.value.response["Error"]["Message"] == (
            "The specified log group does not exist."
        )
    assert delete_endpoint_log_groups(logs, [group.rsplit("/", 1)[1]]) == []


def test_cleanup_with_nothing_to_delete_says_so(tut: Any, capsys: Any) -> None:
    cleanup(tut)
    assert "Nothing left to delete for notebook t1." in capsys.readouterr().out


def test_a_resource_gone_between_list_and_list_tags_is_skipped() -> None:
    """ListEndpoints can name an endpoint that finishes deleting before ListTags reaches it."""
    import botocore.exceptions

    from utils.cleanup import _tags_of

    class Client:
        exceptions = botocore.exceptions

        def __init__(self, code: str) -> None:
            self.code = code

        def list_tags(self, ResourceArn: str) -> dict:
            raise botocore.exceptions.ClientError(
                {"Error": {"Code": self.code, "Message": f"Resource {ResourceArn} does not exist."}},
                "ListTags",
            )

    assert _tags_of(Client("ValidationException"), "arn:aws:sagemaker:::endpoint/gone") == []
    with pytest.raises(botocore.exceptions.ClientError):
        _tags_of(Client("AccessDeniedException"), "arn:aws:sagemaker:::endpoint/secret")


def test_the_learners_own_aws_settings_are_set_aside_and_put_back(
    local_sm: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Real AWS credentials in the environment never reach the local SageMaker, and come back
    for ``setup("aws")`` in the same kernel."""
    import botocore.exceptions

    learner = {
        "AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBYaD",
        "AWS_PROFILE": "learners-own-profile",
    }
    for name, value in learner.items():
        monkeypatch.setenv(name, value)
    saved = dict(os.environ)
    try:
        tut = setup(notebook="t2", quiet=True)
        assert tut.client("sts").get_caller_identity()["Account"] == "123456789012"
        assert os.environ["AWS_ACCESS_KEY_ID"].startswith("LSMK")
        assert "AWS_SESSION_TOKEN" not in os.environ and "AWS_PROFILE" not in os.environ
        # the profile does not exist here: choosing AWS now fails on it, as it would on AWS
        with pytest.raises(botocore.exceptions.ProfileNotFound):
            setup("aws", quiet=True)
        assert {name: os.environ.get(name) for name in learner} == learner
        assert "AWS_ENDPOINT_URL" not in os.environ
    finally:
        os.environ.clear()
        os.environ.update(saved)
