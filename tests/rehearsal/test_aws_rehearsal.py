"""The AWS rehearsal: every notebook, top to bottom, on the AWS code path, in a stand-in account.

The notebooks' stored outputs are the local run's (strict nbval checks those), so here they are
executed without comparing outputs; any error fails the notebook (cells tagged
``raises-exception`` may raise, as under nbval). The executed copies are saved in
``build/rehearsal/`` to read what the AWS path printed. The run itself is the session fixture
``rehearsal`` (``conftest.py``); ``test_iam_policy.py`` checks the calls it recorded.
"""

from __future__ import annotations

import nbformat
import pytest
from stand_in import EXECUTED, NOTEBOOKS, STUDIO_RUN, StandIn

pytestmark = pytest.mark.rehearsal


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
