"""A notebook whose local SageMaker has stopped gets one clear message naming the start command.

The message is checked on the error botocore really raises when nothing listens at the address
(a free port on 127.0.0.1), and through the notebook kernel's exception hook with a stand-in for
IPython's shell. ``setup()`` itself starts a stopped server; :func:`restart_notice` is what it
says when it did so in a kernel that had been connected before.
"""

from __future__ import annotations

import socket
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError, EndpointConnectionError

from utils import local_sagemaker, lost_server


def _free_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


@pytest.fixture(scope="module")
def refused() -> tuple[str, EndpointConnectionError]:
    """What a SageMaker call raises when the local SageMaker is gone (nothing on its port)."""
    url = _free_url()
    client = boto3.client(
        "sagemaker",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(EndpointConnectionError) as info:
        client.list_endpoints()
    return url, info.value


def test_a_lost_server_is_explained_with_the_start_command(
    refused: tuple[str, EndpointConnectionError],
) -> None:
    url, error = refused
    text = lost_server.explain(error, url, running=False)
    assert text is not None
    assert f"The local SageMaker at {url} is not running" in text
    assert lost_server.START_COMMAND in text
    assert "setup" in text


def test_other_errors_and_a_running_server_are_left_alone(
    refused: tuple[str, EndpointConnectionError],
) -> None:
    url, error = refused
    assert lost_server.explain(error, url, running=True) is None
    assert lost_server.explain(error, "http://127.0.0.1:1", running=False) is None
    client_error = ClientError({"Error": {"Code": "ValidationException"}}, "ListEndpoints")
    assert lost_server.explain(client_error, url, running=False) is None


class FakeShell:
    """The two things the hook uses of IPython's shell."""

    def __init__(self) -> None:
        self.types: tuple[type, ...] = ()
        self.handler: Any = None
        self.InteractiveTB = self

    def set_custom_exc(self, types: tuple[type, ...], handler: Any) -> None:
        self.types, self.handler = types, handler

    def structured_traceback(self, *args: Any, **kwargs: Any) -> list[str]:
        return ["the usual traceback"]


def test_the_kernel_hook_prints_the_message_instead_of_a_traceback(
    refused: tuple[str, EndpointConnectionError],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, error = refused
    shell = FakeShell()
    assert lost_server.install(url, shell)
    assert EndpointConnectionError in shell.types
    monkeypatch.setattr(local_sagemaker, "is_running", lambda: False)
    shown = shell.handler(shell, type(error), error, None)
    assert shown == [f"EndpointConnectionError: {error}"]
    assert lost_server.START_COMMAND in capsys.readouterr().out
    monkeypatch.setattr(local_sagemaker, "is_running", lambda: True)
    assert shell.handler(shell, type(error), error, None) == ["the usual traceback"]


def test_setup_says_when_it_started_the_server_again() -> None:
    assert lost_server.restart_notice(None, False, "http://127.0.0.1:8765") is None  # first setup
    assert lost_server.restart_notice("http://127.0.0.1:8765", True, "http://127.0.0.1:8765") is None
    notice = lost_server.restart_notice("http://127.0.0.1:8765", False, "http://127.0.0.1:8766")
    assert notice == (
        "The local SageMaker this notebook used (http://127.0.0.1:8765) had stopped; setup() "
        "started it again at http://127.0.0.1:8766."
    )
