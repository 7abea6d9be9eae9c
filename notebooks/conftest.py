"""The clean-up test: after each notebook runs under nbval, nothing it made may be left.

nbval turns every code cell of a notebook into a pytest item, so this hook runs once per
notebook, after its last cell (no notebook runs twice). It connects to the backend the notebook
used (``setup()``, quietly, with the environment restored afterwards) and looks for what the
notebook's own clean-up should have deleted:

* endpoints, endpoint configurations, models, running transform jobs, SNS topics and SQS queues
  tagged ``notebook=<NN>`` (:func:`utils.cleanup.find_tagged`);
* objects under the notebook's S3 prefix (``NN_<name>/`` in the tutorial bucket);
* Application Auto Scaling targets, CloudWatch alarms, SageMaker's CloudWatch Logs log groups
  (``/aws/sagemaker/...``) and the streams in ``/aws/sagemaker/TransformJobs`` that appeared
  while it ran (they carry no tags, so they are compared with a snapshot taken after the
  notebook's first cell, its setup cell, which creates nothing). A log group of an endpoint
  the notebook deleted, or a transform job's streams, cost storage on AWS until deleted;
* its folders under ``build/`` (``build/NN_*``).

Against the local SageMaker the check covers the whole account, not only what carries the
notebook's tags or sits under its prefix: every endpoint, endpoint configuration, model,
running transform job, S3 bucket and object, SNS topic and SQS queue that was not there after
the first cell is a leftover too (an object the SDK uploaded to its own bucket, a model created
without tags). That is safe because nothing else uses that account while the notebook runs: a
process runs its notebooks one after another against a local SageMaker of its own (below), and
test files in the same process use their own server. On AWS an account is shared (other
notebooks, other work), so there the tags and the prefix decide.

Anything found fails the last cell's teardown with a message naming each leftover. Finished
transform jobs are not leftovers: SageMaker cannot delete them.

When ``make test`` spreads the notebooks over processes (pytest-xdist), each process runs its
notebooks against a local SageMaker of its own (``build/local-sagemaker-gw0``, ...), stopped when
the process ends: notebook 08 cleans up *everything* it finds, which must never be another
notebook's endpoint mid-lesson. A notebook's cells stay together on one process, in order
(``--dist loadfile``). The run ends with the slowest notebooks (the sum of their cells' times),
so a regression shows.

The same process may also run test files whose session fixture (``tests/local_server.py``)
exports its own server's settings (``LOCAL_SAGEMAKER_STATE_DIR``, test-speed clocks and timeouts)
for as long as the session lasts. A notebook's kernel inherits the environment, so while a
notebook runs, the ``LOCAL_SAGEMAKER_*`` variables are the ones this process started with, and
the test settings come back after its last cell.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

_baseline: dict[str, dict[str, set[str]]] = {}  # notebook file -> what existed after its first cell
_seconds: dict[str, float] = {}  # notebook file name -> time its cells took (setup, call, teardown)
_own_server = False  # this process started a local SageMaker of its own (see pytest_configure)
_notebook_env: dict[str, str] = {}  # the LOCAL_SAGEMAKER_* settings notebooks run with
_set_aside: dict[str, str] | None = None  # what a running notebook's settings replaced


def _local_sagemaker_settings() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith("LOCAL_SAGEMAKER_")}


def _use_settings(settings: dict[str, str]) -> dict[str, str]:
    """Replace every ``LOCAL_SAGEMAKER_*`` variable by ``settings``; return what was there."""
    previous = _local_sagemaker_settings()
    for key in previous:
        del os.environ[key]
    os.environ.update(settings)
    return previous


def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist, point this process (and the kernels it starts) at its own local
    SageMaker: a state folder per process and any free port. Its account starts empty and is
    emptied at the end (``reset``: the local SageMaker keeps what it holds across a restart)."""
    global _own_server
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and "LOCAL_SAGEMAKER_STATE_DIR" not in os.environ:
        from utils.local_sagemaker import reset
        from utils.paths import BUILD_DIR

        os.environ["LOCAL_SAGEMAKER_STATE_DIR"] = str(BUILD_DIR / f"local-sagemaker-{worker}")
        os.environ["LOCAL_SAGEMAKER_PORT"] = "0"
        _own_server = True
        reset()
    _notebook_env.update(_local_sagemaker_settings())


def pytest_unconfigure(config: pytest.Config) -> None:
    if _own_server:
        from utils.local_sagemaker import reset

        reset()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    path, _, _ = report.nodeid.partition("::")
    if path.endswith(".ipynb"):
        name = Path(path).name
        _seconds[name] = _seconds.get(name, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not _seconds:
        return
    terminalreporter.section("slowest notebooks")
    for name, seconds in sorted(_seconds.items(), key=lambda kv: -kv[1]):
        terminalreporter.write_line(f"{seconds:7.1f}s {name}")


#: The checks' connection to the local SageMaker, by its URL: the Tutorial and the environment
#: setup() gave the process. Connecting again for every check (twice per notebook) built a new
#: boto3 session and a client per service each time, seconds per notebook on a busy machine.
_checks_connection: dict[str, tuple[Any, dict[str, str]]] = {}


@contextmanager
def _connected(notebook: str) -> Iterator[Any]:
    """The tutorial's clients for the checks; the process environment is left as it was.

    Against the local SageMaker the first connection is kept for as long as the same server
    runs (its URL): the clean-up checks name the notebook they look for (``find_tagged``, the
    S3 prefix), so one Tutorial serves them all, with setup()'s environment put back while it
    is in use (a client it creates then goes where setup()'s would).
    """
    from utils import local_sagemaker
    from utils.session import setup

    saved = dict(os.environ)
    try:
        backend = os.environ.get("HANDSON_BACKEND", "local").lower()
        url = local_sagemaker.url() if backend == "local" else None
        if url is not None and url in _checks_connection:
            tut, environment = _checks_connection[url]
            os.environ.clear()
            os.environ.update(environment)
        else:
            tut = setup(notebook=notebook, quiet=True)
            if url is not None and tut.endpoint_url == url:
                _checks_connection.clear()
                _checks_connection[url] = (tut, dict(os.environ))
        yield tut
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _untagged_kinds(tut: Any) -> dict[str, set[str]]:
    """What cannot carry the tutorial's tags: scalable targets, alarms and SageMaker's logs, by
    name."""
    targets = set()
    for page in tut.autoscaling.get_paginator("describe_scalable_targets").paginate(
        ServiceNamespace="sagemaker"
    ):
        targets |= {t["ResourceId"] for t in page["ScalableTargets"]}
    alarms = set()
    for page in tut.cloudwatch.get_paginator("describe_alarms").paginate():
        alarms |= {a["AlarmName"] for a in page.get("MetricAlarms", [])}
    return {
        "autoscaling targets": targets,
        "CloudWatch alarms": alarms,
        **_sagemaker_logs(tut.logs),
    }


def _sagemaker_logs(logs: Any) -> dict[str, set[str]]:
    """SageMaker's log groups, except the shared TransformJobs one, and that group's streams.

    The TransformJobs group is every job's (SageMaker creates it with the first job): an empty
    one stores nothing, so only its streams count.
    """
    from utils.endpoint_logs import TRANSFORM_JOBS_LOG_GROUP

    groups = set()
    for page in logs.get_paginator("describe_log_groups").paginate(
        logGroupNamePrefix="/aws/sagemaker/"
    ):
        groups |= {g["logGroupName"] for g in page["logGroups"]}
    streams = set()
    if TRANSFORM_JOBS_LOG_GROUP in groups:
        groups.discard(TRANSFORM_JOBS_LOG_GROUP)
        for page in logs.get_paginator("describe_log_streams").paginate(
            logGroupName=TRANSFORM_JOBS_LOG_GROUP
        ):
            streams |= {s["logStreamName"] for s in page["logStreams"]}
    return {
        "CloudWatch log groups": groups,
        f"log streams in {TRANSFORM_JOBS_LOG_GROUP}": streams,
    }


def _whole_account(tut: Any) -> dict[str, set[str]]:
    """Everything in the account a notebook can make, by kind and name (the local SageMaker's
    account, which only the running notebook uses: see the module's docstring)."""
    sm = tut.sagemaker
    buckets = {b["Name"] for b in tut.s3.list_buckets().get("Buckets", [])}
    objects = {
        f"{bucket}/{key}"
        for bucket in buckets
        for key in _names(tut.s3, "list_objects_v2", "Contents", "Key", Bucket=bucket)
    }
    queues = {
        url for page in tut.client("sqs").get_paginator("list_queues").paginate()
        for url in page.get("QueueUrls", [])
    }
    return {
        "endpoints": _names(sm, "list_endpoints", "Endpoints", "EndpointName"),
        "endpoint configs": _names(
            sm, "list_endpoint_configs", "EndpointConfigs", "EndpointConfigName"
        ),
        "models": _names(sm, "list_models", "Models", "ModelName"),
        "running transform jobs": _names(
            sm, "list_transform_jobs", "TransformJobSummaries", "TransformJobName",
            StatusEquals="InProgress",
        ),
        "S3 buckets": buckets,
        "S3 objects": objects,
        "SNS topics": _names(tut.sns, "list_topics", "Topics", "TopicArn"),
        "SQS queues": queues,
        **_untagged_kinds(tut),
    }


def _names(client: Any, operation: str, key: str, field: str, **params: Any) -> set[str]:
    """``field`` of every item under ``key`` in every page of ``operation``."""
    found = set()
    for page in client.get_paginator(operation).paginate(**params):
        found |= {str(item[field]) for item in page.get(key, [])}
    return found


def snapshot(tut: Any) -> dict[str, set[str]]:
    """What :func:`leftovers` compares with: the whole local account, or on AWS what carries
    no tags."""
    return _whole_account(tut) if _is_local(tut) else _untagged_kinds(tut)


def _is_local(tut: Any) -> bool:
    from utils import local_sagemaker

    url = local_sagemaker.url()
    return url is not None and tut.endpoint_url == url


def leftovers(tut: Any, notebook_file: Path, baseline: dict[str, set[str]]) -> list[str]:
    """What ``notebook_file`` left behind, one line per kind (empty: nothing)."""
    from utils.cleanup import find_tagged
    from utils.paths import BUILD_DIR

    number, prefix = notebook_file.stem[:2], notebook_file.stem + "/"
    kinds: dict[str, list[str]] = {
        "folders under build/": sorted(
            str(p.relative_to(BUILD_DIR.parent)) for p in BUILD_DIR.glob(f"{number}_*")
        ),
    }
    if not _is_local(tut):  # a shared account: what carries the notebook's tags or prefix
        found = find_tagged(tut, notebook=number)
        listed = tut.s3.list_objects_v2(Bucket=tut.bucket, Prefix=prefix)
        kinds.update(
            {
                "endpoints": found.endpoints,
                "endpoint configs": found.endpoint_configs,
                "models": found.models,
                "running transform jobs": found.transform_jobs,
                "SNS topics": found.topics,
                "SQS queues": found.queues,
                f"S3 objects under {prefix}": [o["Key"] for o in listed.get("Contents", [])],
            }
        )
    for kind, now in snapshot(tut).items():
        kinds[f"{kind} (new since the notebook started)"] = sorted(now - baseline.get(kind, set()))
    return [f"{kind}: {', '.join(names)}" for kind, names in kinds.items() if names]


def _notebook_of(item: pytest.Item | None) -> Path | None:
    """The notebook file an nbval cell item belongs to (None for other tests)."""
    from nbval.plugin import IPyNbCell

    if not isinstance(item, IPyNbCell):
        return None
    return Path(item.path)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Before a notebook's first cell starts its kernel: the notebooks' own settings."""
    global _set_aside
    if _set_aside is None and _notebook_of(item) is not None:
        _set_aside = _use_settings(_notebook_env)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    global _set_aside
    try:
        yield
        _check_clean_up(item, nextitem)
    finally:
        if _set_aside is not None and _notebook_of(nextitem) != _notebook_of(item):
            _use_settings(_set_aside)  # the notebook's kernel is gone: the tests' settings back
            _set_aside = None


def _check_clean_up(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    notebook_file = _notebook_of(item)
    if notebook_file is None or not notebook_file.name[:2].isdigit():
        return None
    key = str(notebook_file)
    if key not in _baseline:  # the first cell (setup) has run: note what exists already
        with _connected(notebook_file.name[:2]) as tut:
            _baseline[key] = snapshot(tut)
    if _notebook_of(nextitem) == notebook_file:
        return None  # more cells of this notebook to come
    with _connected(notebook_file.name[:2]) as tut:
        left = leftovers(tut, notebook_file, _baseline.pop(key))
    if left:
        pytest.fail(
            f"{notebook_file.name} left these behind after its clean-up:\n  " + "\n  ".join(left),
            pytrace=False,
        )
    return None
