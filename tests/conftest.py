"""Shared fixtures: one trained model, its artifact and its unpacked handlers per test session.

Training takes a fraction of a second, but building everything once keeps the suite quick on
small machines and gives every test the same, seeded model.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import pytest

from utils.artifact import import_handlers, package_model, safe_extract
from utils.model import TrainingResult, train_model

if TYPE_CHECKING:
    from utils.session import Tutorial


@pytest.fixture(scope="session")
def trained() -> TrainingResult:
    """The loan model trained with seed 0."""
    return train_model(seed=0)


@pytest.fixture(scope="session")
def artifact_path(trained: TrainingResult, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``model.tar.gz`` for :func:`trained`, in a session temporary folder."""
    return package_model(trained.pipeline, tmp_path_factory.mktemp("artifact"))


@pytest.fixture(scope="session")
def model_dir(artifact_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The artifact unpacked, as SageMaker unpacks it into /opt/ml/model."""
    return safe_extract(artifact_path, tmp_path_factory.mktemp("opt-ml-model"))


@pytest.fixture(scope="session")
def handlers(model_dir: Path) -> ModuleType:
    """The artifact's own code/inference.py, imported by file as the container does."""
    return import_handlers(model_dir)


@pytest.fixture(scope="session")
def served_model(handlers: ModuleType, model_dir: Path) -> Any:
    """What the container's first request gets from ``model_fn``."""
    return handlers.model_fn(str(model_dir))


@pytest.fixture(scope="session")
def sm(local_sm: str) -> Any:
    """A SageMaker client on the session's local SageMaker (no retries: errors show)."""
    from local_server import make_client

    return make_client("sagemaker", local_sm)


@pytest.fixture(scope="session")
def local_sm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of the local SageMaker shared by every test of the session (see ``local_server``)."""
    from local_server import run_local_sagemaker

    yield from run_local_sagemaker(tmp_path_factory.mktemp("local-sagemaker"))


@pytest.fixture(scope="module")
def notebook_setup(local_sm: str) -> Iterator[Callable[[str], Tutorial]]:
    """``setup(notebook=...)`` on the session's local SageMaker, as a notebook's first cell calls it.

    ``setup()`` exports the AWS settings into the process, as it must in a notebook; the
    environment is put back when the test module ends, so that later tests in the same process
    (moto in-process, for instance) do not send their calls to the local SageMaker.
    """
    from utils.session import setup

    saved = dict(os.environ)
    try:
        yield lambda notebook: setup(notebook=notebook, quiet=True)
    finally:
        os.environ.clear()
        os.environ.update(saved)


#: The test files that take longest, longest first (``make test``'s timeline on the 2-core
#: machine, 2026-12-04: 25 to 100 s each while the notebooks ran beside them; most other files
#: take a few seconds). Collected in folder order they came last, and the run ended with one
#: process finishing test_sdk_v3.py alone for half a minute while the others had nothing left.
LONG_TEST_FILES = (
    "tests/test_sdk_v3.py",
    "tests/local_sagemaker/test_persistence.py",
    "tests/test_decision_widget.py",
    "tests/browser/test_decision_app.py",  # where a Chromium is found (skipped at once elsewhere)
    "tests/local_sagemaker/test_worker_start.py",
    "tests/local_sagemaker/test_shell_client.py",
    "tests/local_sagemaker/test_unimplemented_operations.py",
    "tests/local_sagemaker/test_common_mistakes.py",
    "tests/transform/test_transform_csv_bytes.py",
    "tests/local_sagemaker/test_no_server_errors.py",
    "tests/local_sagemaker/test_realtime_autoscaling.py",
    "tests/local_sagemaker/test_packaging.py",
    "tests/local_sagemaker/test_healing.py",
    "tests/local_sagemaker/test_async.py",
    "tests/local_sagemaker/test_portability.py",
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest pieces first, so no process starts a long one while the others are finishing.

    ``make test`` hands whole files to its processes in the order collected here (pytest-xdist's
    ``--dist loadfile`` with ``--no-loadscope-reorder``; its default reorder puts the files with
    the most items first, which started the rehearsal minutes late). The AWS rehearsal comes
    first: it runs every notebook in three stand-in accounts and is the longest single piece;
    then the notebooks, each a minute or two of cells that cannot be split; then the test files
    of :data:`LONG_TEST_FILES` in its order, then the others, mostly seconds each, which fill in
    at the end. Within each group the collection order stays (``sort`` is stable).
    """
    root = config.rootpath
    missing = [name for name in LONG_TEST_FILES if not (root / name).is_file()]
    if missing:
        raise pytest.UsageError(f"LONG_TEST_FILES names files that do not exist: {missing}")
    rank = {root / name: position for position, name in enumerate(LONG_TEST_FILES)}

    def group(item: pytest.Item) -> tuple[int, int]:
        if item.get_closest_marker("rehearsal") is not None:
            return (0, 0)
        if item.path.suffix == ".ipynb":
            return (1, 0)
        if item.path in rank:
            return (2, rank[item.path])
        return (3, 0)

    items.sort(key=group)


@pytest.fixture
def moto_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto's AWS in-process (CloudWatch Logs, CloudWatch, ...), with no setting pointing
    clients elsewhere: the real API shapes, the same calls the lesson helpers make on AWS."""
    for key in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_LOGS", "AWS_ENDPOINT_URL_CLOUDWATCH"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    from moto import mock_aws

    with mock_aws():
        yield
