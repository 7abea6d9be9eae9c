"""What helps a learner on AWS: explained quota/permission errors, the deletion prompt, the guide."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from botocore.exceptions import ClientError
from IPython.core.error import StdinNotImplementedError

from utils.aws_errors import explain
from utils.cleanup import CONFIRM_SETTING, Found, confirm_deletion

ROOT = Path(__file__).resolve().parents[1]


def _client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "the message"}}, operation)


def test_quota_and_permission_errors_are_explained_others_are_not() -> None:
    quota = explain(_client_error("ResourceLimitExceeded", "CreateEndpoint"))
    assert quota is not None and "CreateEndpoint" in quota and "Service Quotas" in quota
    denied = explain(_client_error("AccessDeniedException", "CreateModel"))
    assert denied is not None and "iam/learner-policy.json" in denied
    assert explain(_client_error("ValidationException", "DescribeEndpoint")) is None
    assert explain(ValueError("not an AWS error")) is None


def _aws_tutorial() -> SimpleNamespace:
    return SimpleNamespace(is_local=False, account="123456789012")


def test_deletion_is_confirmed_by_the_learner_on_aws(capsys: pytest.CaptureFixture) -> None:
    found = Found(endpoints=["e"])
    assert confirm_deletion(_aws_tutorial(), found, ask=lambda q: "y") is True
    assert confirm_deletion(_aws_tutorial(), found, ask=lambda q: "") is False
    assert capsys.readouterr().out.splitlines() == ["deleting", "nothing deleted"]


def test_a_kernel_without_input_uses_the_setting_and_never_blocks(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    def no_stdin(question: str) -> str:
        raise StdinNotImplementedError(
            "raw_input was called, but this frontend does not support it"
        )

    monkeypatch.delenv(CONFIRM_SETTING, raising=False)
    assert confirm_deletion(_aws_tutorial(), Found(), ask=no_stdin) is False
    monkeypatch.setenv(CONFIRM_SETTING, "yes")
    assert confirm_deletion(_aws_tutorial(), Found(), ask=no_stdin) is True
    out = capsys.readouterr().out
    assert f"nobody to ask: {CONFIRM_SETTING}=unset" in out and "nothing deleted" in out
    assert f"{CONFIRM_SETTING}=yes" in out


def test_the_studio_guide_cost_table_follows_the_price_table() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "aws_costs.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout


def test_the_studio_guide_names_files_that_exist() -> None:
    guide = (ROOT / "docs" / "studio.md").read_text()
    for name in ("learner-policy.json", "execution-role-policy.json", "execution-role-trust.json"):
        assert f"iam/{name}" in guide
        json.loads((ROOT / "iam" / name).read_text())
    assert "python -m ipykernel install --user --name" in guide
    environment = (ROOT / "environment.yml").read_text()
    assert "name: sagemaker-inference-handson" in environment
    assert "conda activate sagemaker-inference-handson" in guide


def test_long_aws_waits_are_announced_with_their_limit(capsys: pytest.CaptureFixture) -> None:
    from utils.progress import announce_aws_wait

    announce_aws_wait(SimpleNamespace(is_local=True), "scaling in", "15 minutes", 1800)
    announce_aws_wait(_aws_tutorial(), "scaling in", "15 to 20 minutes", 1800)
    assert capsys.readouterr().out == (
        "On AWS scaling in usually takes 15 to 20 minutes; waiting at most 30 min.\n"
    )

