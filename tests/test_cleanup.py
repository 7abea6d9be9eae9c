"""delete_endpoint_resources (utils/cleanup.py), on a scripted SageMaker: what is already gone is
skipped, the rest deleted in order (endpoints, configurations, models) and waited for."""

from __future__ import annotations

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
