"""delete_endpoint_resources (utils/cleanup.py), on a scripted SageMaker: what is already gone is
skipped, the rest deleted in order (endpoints, configurations, models) and waited for."""

from __future__ import annotations

import pytest
from endpoint_fakes import ScriptedSageMaker, not_found

from utils.cleanup import delete_endpoint_resources


def test_delete_endpoint_resources_skips_what_is_gone_and_waits() -> None:
    sm = ScriptedSageMaker([not_found("endpoint", "ep")])
    sm.missing = {("endpoint-config", "old-config")}
    deleted = delete_endpoint_resources(
        sm, endpoints=["ep"], endpoint_configs=["cfg", "old-config"], models=["model"]
    )
    assert deleted == ["endpoint ep", "endpoint config cfg", "model model"]
    assert sm.deleted == [("endpoint", "ep"), ("endpoint-config", "cfg"), ("model", "model")]


def test_delete_endpoint_resources_deletes_the_log_groups_once_the_endpoints_are_gone() -> None:
    class Logs:
        class exceptions:
            class ResourceNotFoundException(Exception):
                pass

        def __init__(self, sm: ScriptedSageMaker) -> None:
            self.sm = sm
            self.deleted: list[str] = []

        def delete_log_group(self, logGroupName: str) -> None:
            assert self.sm.statuses[0] is gone  # the endpoint is gone first
            if logGroupName.endswith("/never-logged"):
                raise self.exceptions.ResourceNotFoundException(logGroupName)
            self.deleted.append(logGroupName)

    gone = not_found("endpoint", "ep")
    sm = ScriptedSageMaker(["Deleting", gone])
    logs = Logs(sm)
    deleted = delete_endpoint_resources(sm, endpoints=["ep", "never-logged"], logs=logs)
    assert deleted == [
        "endpoint ep", "endpoint never-logged", "log group /aws/sagemaker/Endpoints/ep"
    ]
    with pytest.raises(ValueError, match="wait=True"):
        delete_endpoint_resources(sm, endpoints=["ep"], logs=logs, wait=False)
