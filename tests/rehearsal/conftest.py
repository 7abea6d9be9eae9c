"""The AWS rehearsal's account and its one run of every notebook, shared by its tests.

The notebooks run once, in order, in one session fixture, because they share one account the
way a learner's account is shared: notebook 08 cleans up what the others left. The tests of
``test_aws_rehearsal.py`` (each notebook ran through; the calls they made against the policy)
read that run.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from stand_in import (
    CELL_TIMEOUT_S,
    EXECUTED,
    NOTEBOOKS,
    STUDIO_RUN,
    StandIn,
    learner_calls,
    run_stand_in,
)


@pytest.fixture(scope="session")
def stand_in(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandIn]:
    yield from run_stand_in(tmp_path_factory.mktemp("stand-in-account"))


def _execute(path: Path, env: dict[str, str], saved_as: str | None = None) -> str | None:
    """Run one notebook in a fresh kernel with ``env``; None if it ran through, else the error."""
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    error = None
    try:
        client.execute(env=env)
    except CellExecutionError as failure:
        error = str(failure)
    finally:
        EXECUTED.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, EXECUTED / (saved_as or path.name))
    return error


@pytest.fixture(scope="session")
def rehearsal(stand_in: StandIn) -> dict[str, str | None]:
    """Each notebook's name -> None (ran through on the AWS path) or its error."""
    env = stand_in.kernel_environment()
    saved = dict(os.environ)
    try:
        results = {path.name: _execute(path, env) for path in NOTEBOOKS}
        # notebook 00 once more, as in a Studio space: the role from Studio's metadata file
        results[STUDIO_RUN] = _execute(
            NOTEBOOKS[0], stand_in.studio_kernel_environment(), saved_as=STUDIO_RUN
        )
        _write_recorded_actions(stand_in)
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _write_recorded_actions(stand_in: StandIn) -> None:
    """``build/rehearsal/actions.txt``: each IAM action the notebooks called, with a count."""
    from collections import Counter

    counts = Counter(action for call in learner_calls(stand_in) for action in call["actions"])
    lines = [f"{count:6d}  {action}" for action, count in sorted(counts.items())]
    (EXECUTED / "actions.txt").write_text("\n".join(lines) + "\n")
