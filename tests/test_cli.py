"""utils.cli.aws_cli: the AWS CLI without a shell, its output printed and its exit status returned."""

from __future__ import annotations

import json

from utils.cli import aws_cli


def test_a_usage_error_prints_its_last_line_and_returns_the_status(capsys) -> None:
    status = aws_cli(
        "sagemaker", "create-transform-job", "--input-data-config", json.dumps([{"a": "$[1:]"}]),
        last_lines=1, show_status=True,
    )
    printed = capsys.readouterr().out.splitlines()
    assert status != 0
    assert len(printed) == 2
    assert "error: the following arguments are required" in printed[0]
    assert printed[1] == f"exit status: {status}"


def test_success_prints_the_output_and_returns_zero(capsys) -> None:
    assert aws_cli("--version") == 0
    assert capsys.readouterr().out.startswith("aws-cli/")
