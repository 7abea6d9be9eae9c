"""How instance workers start: forked from the warm template, or as a fresh process.

Behaviour only (no timings): which way a worker started, that it serves (in a session of its own),
logs and is cleaned up either way, that the memory bound and a model's own environment still
apply.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import pytest
from local_server import local_route

from utils.local_sagemaker import safe_extract
from utils.local_sagemaker.core.worker_contract import TEMPLATE_MODULE
from utils.local_sagemaker.services.fleet import launcher
from utils.local_sagemaker.services.fleet.instance import Instance
from utils.local_sagemaker.services.fleet.templates import ForkedWorker
from utils.local_sagemaker.wire import daemon

from .conftest import BUCKET, MODEL_FN, archive_with, build_archive, deploy, unique, wait_status

linux_only = pytest.mark.skipif(
    not sys.platform.startswith("linux"), reason="workers are forked only on Linux"
)


def _worker(local_sm: str, name: str) -> psutil.Process:
    [instance] = local_route(local_sm, f"/_local/endpoints/{name}")["Instances"]
    return psutil.Process(instance["Pid"])


def _is_template(process: psutil.Process) -> bool:
    return TEMPLATE_MODULE in " ".join(process.cmdline())


def _gateway_pid() -> int:
    state = daemon.status()
    assert state is not None
    return int(state["pid"])


@linux_only
def test_an_endpoint_instance_is_forked_from_the_template_and_cleaned_up(
    sm: Any, runtime: Any, local_sm: str, model_urls: dict[str, str]
) -> None:
    name = deploy(sm, model_urls["default"])
    wait_status(sm, name, {"InService"})
    worker = _worker(local_sm, name)
    template = worker.parent()
    assert template is not None and _is_template(template)
    assert template.ppid() == _gateway_pid()
    reply = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,1\n2,2")
    assert reply["Body"].read() == b"[0, 1]"

    sm.delete_endpoint(EndpointName=name)
    worker.wait(timeout=10)  # exited...
    assert worker.pid not in [c.pid for c in template.children()]  # ...and reaped
    assert template.is_running()  # the template stays for the next instance


def test_a_model_with_its_own_requirements_starts_a_fresh_worker(
    sm: Any, s3: Any, runtime: Any, local_sm: str
) -> None:
    # numpy is installed already: pip finds it without a download, the environment is still made
    archive = archive_with(MODEL_FN, {"code/requirements.txt": b"numpy\n"})
    key = f"models/{unique('own-env')}/model.tar.gz"
    s3.put_object(Bucket=BUCKET, Key=key, Body=archive)
    name = deploy(sm, f"s3://{BUCKET}/{key}")
    wait_status(sm, name, {"InService"}, timeout=120)
    worker = _worker(local_sm, name)
    assert worker.ppid() == _gateway_pid()
    assert not _is_template(worker)
    reply = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body=b"1,1\n2,2")
    assert reply["Body"].read() == b"[0, 1]"
    sm.delete_endpoint(EndpointName=name)
    worker.wait(timeout=10)


# -- the launcher itself, in this process ---------------------------------------------------


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(build_archive("default"))
    return safe_extract(archive, tmp_path / "model")


@pytest.fixture
def started(model_dir: Path, request: pytest.FixtureRequest) -> Any:
    """An instance of the default model started in this process, and its log lines."""
    lines: list[str] = []
    instance = Instance(
        "AllTraffic",
        "ml.m5.large",
        model_dir,
        {"SAGEMAKER_PROGRAM": "inference.py"},
        "/aws/sagemaker/Endpoints/test",
        lambda group, stream, line: lines.append(line),
        memory_limit_mb=getattr(request, "param", None),
    )
    instance.start()
    yield instance, lines
    instance.stop(grace=2.0)
    launcher.stop_templates()


def _serve_and_stop(instance: Instance, lines: list[str]) -> None:
    instance.wait_healthy(time.monotonic() + 120)
    assert instance.client is not None
    assert instance.client.ping() == 200
    assert instance.startup is not None and instance.startup.total > 0
    assert any("Serving the SageMaker container contract" in line for line in lines)
    process = psutil.Process(instance.process.pid)  # type: ignore[union-attr]
    if sys.platform != "win32":  # a session of its own (Linux schedules sessions as groups)
        assert os.getsid(process.pid) == process.pid != os.getsid(0)
    instance.stop(grace=2.0)
    assert not instance.alive
    _, alive = psutil.wait_procs([process], timeout=5)  # exited and reaped: no zombie left
    assert alive == []


@linux_only
def test_the_launcher_forks_from_a_template_by_default(
    started: tuple[Instance, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    instance, lines = started
    assert isinstance(instance.process, ForkedWorker)
    _serve_and_stop(instance, lines)


def test_the_fresh_fallback_when_forced_by_the_setting(
    model_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LOCAL_SAGEMAKER_WORKER_START", "fresh")
    lines: list[str] = []
    instance = Instance(
        "AllTraffic", "ml.m5.large", model_dir, {"SAGEMAKER_PROGRAM": "inference.py"}, "group",
        lambda group, stream, line: lines.append(line),
    )  # fmt: skip
    try:
        instance.start()
        assert not isinstance(instance.process, ForkedWorker)
        assert psutil.Process(instance.process.pid).ppid() == psutil.Process().pid  # type: ignore[union-attr]
        _serve_and_stop(instance, lines)
    finally:
        instance.stop(grace=2.0)


def test_an_unknown_start_method_is_refused(model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_SAGEMAKER_WORKER_START", "spawn")
    with pytest.raises(ValueError, match="use one of template, fresh"):
        launcher.start_worker(model_dir, {})


@linux_only
@pytest.mark.parametrize("started", [1024], indirect=True)
def test_a_forked_worker_bounds_its_memory(started: tuple[Instance, list[str]]) -> None:
    instance, lines = started
    assert isinstance(instance.process, ForkedWorker)
    instance.wait_healthy(time.monotonic() + 120)  # the worker bounds itself as it starts
    limit = psutil.Process(instance.process.pid).rlimit(psutil.RLIMIT_AS)
    assert limit == (1024 * 1024 * 1024, 1024 * 1024 * 1024)
    _serve_and_stop(instance, lines)


@linux_only
def test_workers_and_template_follow_a_killed_gateway(tmp_path: Path, model_dir: Path) -> None:
    """A gateway killed outright (SIGKILL) leaves neither its template nor its workers behind."""
    import subprocess
    import textwrap

    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from utils.local_sagemaker.services.fleet.instance import Instance
        instance = Instance("v", "t", Path({str(model_dir)!r}), {{"SAGEMAKER_PROGRAM": "inference.py"}}, "g", lambda *a: None)
        instance.start()
        instance.wait_healthy(time.monotonic() + 120)
        print(instance.process.pid, flush=True)
        time.sleep(600)
        """
    )
    gateway = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
        cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert gateway.stdout is not None
        worker = psutil.Process(int(gateway.stdout.readline()))
        template = worker.parent()
        assert template is not None and _is_template(template)
    finally:
        gateway.kill()
        gateway.wait()
    _, alive = psutil.wait_procs([worker, template], timeout=10)
    assert alive == []
