"""The AWS rehearsal: every notebook, top to bottom, on the AWS code path, in a stand-in account.

The notebooks' stored outputs are the local run's (strict nbval checks those), so here they are
executed without comparing outputs; any error fails the notebook (cells tagged
``raises-exception`` may raise, as under nbval). The executed copies are saved in
``build/rehearsal/`` to read what the AWS path printed. Then the recorded calls are checked
against the tutorial's IAM policy (``test_iam_policy.py``).

The notebooks run once, in order, in one session fixture, because they share one account the
way a learner's account is shared: notebook 08 cleans up what the others left, and the account
must be empty at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from stand_in import ROOT, StandIn, run_stand_in

pytestmark = pytest.mark.rehearsal

NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
EXECUTED = ROOT / "build" / "rehearsal"
CELL_TIMEOUT_S = 900
STUDIO_RUN = "00_start_here-as-in-studio.ipynb"


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
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.mark.parametrize("notebook", [*(p.name for p in NOTEBOOKS), STUDIO_RUN])
def test_notebook_runs_on_the_aws_path(rehearsal: dict[str, str | None], notebook: str) -> None:
    error = rehearsal[notebook]
    assert error is None, f"{notebook} failed on the AWS path:\n{error}"


def test_setup_found_the_role_as_in_studio(
    rehearsal: dict[str, str | None], stand_in: StandIn
) -> None:
    executed = nbformat.read(EXECUTED / STUDIO_RUN, as_version=4)
    printed = "".join(
        output.get("text", "") for cell in executed.cells for output in cell.get("outputs", [])
    )
    assert f"Role    : {stand_in.role_arn}" in printed, printed
