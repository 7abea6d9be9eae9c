"""The local SageMaker on a platform without Unix-only modules (macOS, Windows), tried on Linux.

CI runs Linux only, so the other platforms' code paths are forced here: Python is made to find
no ``fcntl`` and no ``resource`` (a folder on ``PYTHONPATH`` whose modules of those names raise
``ImportError``, as importing them does on Windows). With that, a local SageMaker of its own is
started, serves a serverless endpoint of the tutorial's model (a worker started without
``preexec_fn``, its memory size not enforceable, which its log says), answers, and stops with
every process gone.

What stays Linux-only in this simulation: the test's own process keeps ``resource``, because
psutil's Linux backend imports it (its Windows backend does not); the gateway and its workers
have neither module. Windows' own start flags and file lock (``msvcrt``) are not run here.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest

from utils.data import generate_applications, to_csv_rows
from utils.local_sagemaker.container import memory_bound
from utils.local_sagemaker.core.worker_contract import MEMORY_LIMIT_ENV
from utils.model import TrainingResult

ROOT = Path(__file__).resolve().parents[2]

#: Modules only some platforms have: none may be imported when a module of the project loads.
PLATFORM_ONLY = {
    "fcntl", "resource", "termios", "tty", "pty", "pwd", "grp", "posix", "syslog", "crypt",
    "msvcrt", "winreg", "winsound", "_winapi",
}


def _module_level_imports(tree: ast.Module) -> set[str]:
    """Top-level names imported outside functions and outside ``try ... except ImportError``."""
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
            elif isinstance(node, ast.Try):
                guarded = any(
                    isinstance(h.type, ast.Name) and h.type.id in {"ImportError", "Exception"}
                    for h in node.handlers
                )
                if not guarded:
                    visit(node.body)
                visit(node.orelse)
                visit(node.finalbody)
            elif isinstance(node, (ast.If, ast.With)):
                visit(node.body)
                visit(getattr(node, "orelse", []))
            elif isinstance(node, ast.ClassDef):
                visit(node.body)

    visit(tree.body)
    return found


def test_no_platform_only_module_is_imported_at_module_level() -> None:
    offenders = {}
    for path in sorted([*(ROOT / "utils").rglob("*.py"), *(ROOT / "tools").glob("*.py")]):
        imported = _module_level_imports(ast.parse(path.read_text(encoding="utf-8")))
        if imported & PLATFORM_ONLY:
            offenders[str(path.relative_to(ROOT))] = sorted(imported & PLATFORM_ONLY)
    assert offenders == {}


def test_the_scan_finds_an_unguarded_import() -> None:
    tree = ast.parse(
        "import os\nif True:\n    import fcntl\ntry:\n    import msvcrt\nexcept ImportError:\n"
        "    pass\ndef f():\n    import resource\n"
    )
    assert _module_level_imports(tree) == {"os", "fcntl"}


def test_the_memory_bound_is_applied_on_linux() -> None:
    script = (
        "import resource\n"
        "from utils.local_sagemaker.container import memory_bound\n"
        "print(memory_bound.apply_from_environment(), resource.getrlimit(resource.RLIMIT_AS)[0])\n"
    )
    env = {**os.environ, MEMORY_LIMIT_ENV: "2048", "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["2048", str(2048 * 1024 * 1024)]


def test_where_the_bound_cannot_be_enforced_the_log_says_so(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "1024")
    monkeypatch.setattr(sys, "platform", "darwin")
    assert memory_bound.apply_from_environment() is None
    assert "MemorySizeInMB=1024 is not enforced on this platform" in caplog.text
    assert "only Linux enforces" in caplog.text
    monkeypatch.delenv(MEMORY_LIMIT_ENV)
    assert memory_bound.apply_from_environment() is None  # no memory size: nothing to say


SCENARIO = """
import json, os, sys, time
for name in ("fcntl", "resource"):
    try:
        __import__(name)
    except ImportError:
        pass
    else:
        if name == "fcntl":
            raise SystemExit("the simulation failed: fcntl imported")

import boto3
import psutil
from utils.artifact import SERVING_ENVIRONMENT, TARGET_CONTAINER
from utils.local_sagemaker.core.credentials import client_environment_for
from utils.local_sagemaker.wire import daemon

# the gateway and its workers: neither fcntl nor resource
os.environ["PYTHONPATH"] = os.pathsep.join([NO_FCNTL, NO_RESOURCE])
url = daemon.ensure_running()
env = client_environment_for(url)
session = boto3.Session(
    aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
    aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
    region_name=env["AWS_DEFAULT_REGION"],
)
s3, sm, runtime, logs = (
    session.client(name, endpoint_url=url) for name in ("s3", "sagemaker", "sagemaker-runtime", "logs")
)
s3.create_bucket(Bucket="portability")
s3.upload_file(ARTIFACT, "portability", "model.tar.gz")
sm.create_model(
    ModelName="portable",
    PrimaryContainer={
        "Image": "683313688378.dkr.ecr.us-east-1.amazonaws.com/" + TARGET_CONTAINER["image"],
        "ModelDataUrl": "s3://portability/model.tar.gz",
        "Environment": SERVING_ENVIRONMENT,
    },
    ExecutionRoleArn="arn:aws:iam::123456789012:role/SageMakerRole",
)
sm.create_endpoint_config(
    EndpointConfigName="portable",
    ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": "portable",
        "ServerlessConfig": {"MemorySizeInMB": 1024, "MaxConcurrency": 1},
    }],
)
sm.create_endpoint(EndpointName="portable", EndpointConfigName="portable")
deadline, delay = time.monotonic() + 120, 0.05
while sm.describe_endpoint(EndpointName="portable")["EndpointStatus"] != "InService":
    assert time.monotonic() < deadline, "endpoint not InService in time"
    time.sleep(delay)
    delay = min(delay * 2, 1.0)
answer = runtime.invoke_endpoint(
    EndpointName="portable", ContentType="text/csv", Accept="application/json", Body=BODY
)
predictions = json.loads(answer["Body"].read())["predictions"]
group = "/aws/sagemaker/Endpoints/portable"
log = "\\n".join(e["message"] for e in logs.filter_log_events(logGroupName=group)["events"])
gateway = psutil.Process(daemon.status()["pid"])
pids = [gateway.pid, *(p.pid for p in gateway.children(recursive=True))]
stopped = daemon.stop()
print(json.dumps({"predictions": predictions, "log": log, "pids": pids, "stopped": stopped}))
"""


def _shadow(folder: Path, module: str) -> str:
    folder.mkdir()
    (folder / f"{module}.py").write_text(
        f'raise ImportError("No module named {module!r} (simulated: not on this platform)")\n'
    )
    return str(folder)


def test_start_deploy_invoke_stop_without_fcntl_and_resource(
    tmp_path: Path, artifact_path: Path, trained: TrainingResult
) -> None:
    no_fcntl = _shadow(tmp_path / "no-fcntl", "fcntl")
    no_resource = _shadow(tmp_path / "no-resource", "resource")
    frame = generate_applications(3, seed=1)
    script = (
        f"NO_FCNTL, NO_RESOURCE = {no_fcntl!r}, {no_resource!r}\n"
        f"ARTIFACT, BODY = {str(artifact_path)!r}, {to_csv_rows(frame)!r}\n"
        + textwrap.dedent(SCENARIO)
    )
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "LOCAL_SAGEMAKER_"))},
        "PYTHONPATH": os.pathsep.join([no_fcntl, str(ROOT)]),
        "LOCAL_SAGEMAKER_STATE_DIR": str(tmp_path / "state"),
        "LOCAL_SAGEMAKER_PORT": "0",
        "LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS": "600",  # the worker is still there at stop
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    done = subprocess.run(
        [sys.executable, "-W", "ignore::UserWarning", "-c", script],
        capture_output=True, text=True, env=env, cwd=ROOT, timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])

    expected = [round(float(p), 4) for p in trained.probability_of_default(frame)]
    assert [p["probability_of_default"] for p in result["predictions"]] == expected
    assert "MemorySizeInMB=1024 is not enforced on this platform" in result["log"]
    assert "resource module is missing" in result["log"]
    assert result["stopped"] is True
    assert len(result["pids"]) >= 2, "the gateway and the serverless worker"
    _, alive = psutil.wait_procs(
        [p for p in map(_process, result["pids"]) if p is not None], timeout=10
    )
    assert alive == [], f"left running after stop: {alive}"


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None
