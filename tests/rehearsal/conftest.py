"""The AWS rehearsal's accounts and its one run of every notebook, shared by its tests.

A learner runs the notebooks one after another in one account, and notebook 08 cleans up what
the others left. Run that way, the rehearsal took about 11 minutes, most of it two notebooks
waiting at AWS's pace (02 polled its autoscaling every 15 s while it scaled out and in, 05 waited
for an endpoint to scale to zero and back): it was the longest piece of ``make test``. The waits
now follow the stand-in's own clock (``stand_in.run_stand_in``), and the notebooks run in three
stand-in accounts at once, each account's notebooks in order (``stand_in.account_plans``): 02
then 04; 03, 05 then 06; every other notebook in a third account, with 00 once more as in Studio
right after 00, and 08 last.

Each notebook runs in a kernel of its own either way; the threads here only wait for kernels.
The tests of ``test_aws_rehearsal.py`` (each notebook ran through; the calls they made against
the policy) read that run, the calls of all three accounts together. The fixtures last as long as
that file (module scope): the stand-in accounts stop when its last test ends, while the rest of
``make test`` still runs, instead of with the process's own server after its last test (that
teardown took 21 s at the very end of one measured run, load 9).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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
    account_plans,
    learner_calls,
    run_stand_in,
)


@pytest.fixture(scope="module")
def stand_ins(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[StandIn]]:
    """One stand-in account per plan, each with its own local SageMaker, stopped at the end."""
    with contextlib.ExitStack() as stack:
        accounts = []
        for number in range(len(account_plans())):
            folder = tmp_path_factory.mktemp(f"stand-in-account-{number}")
            accounts.append(stack.enter_context(contextlib.contextmanager(run_stand_in)(folder)))
        yield accounts


@pytest.fixture(scope="module")
def studio_account(stand_ins: list[StandIn]) -> StandIn:
    """The account the Studio run of notebook 00 used."""
    return next(
        account
        for account, plan in zip(stand_ins, account_plans(), strict=True)
        if STUDIO_RUN in plan
    )


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


def _run_plan(account: StandIn, plan: list[str]) -> dict[str, str | None]:
    by_name = {path.name: path for path in NOTEBOOKS}
    results: dict[str, str | None] = {}
    for name in plan:
        if name == STUDIO_RUN:
            env = account.studio_kernel_environment()
            results[name] = _execute(NOTEBOOKS[0], env, saved_as=STUDIO_RUN)
        else:
            results[name] = _execute(by_name[name], account.kernel_environment())
    return results


@pytest.fixture(scope="module")
def rehearsal(stand_ins: list[StandIn]) -> dict[str, str | None]:
    """Each notebook's name -> None (ran through on the AWS path) or its error."""
    saved = dict(os.environ)
    plans = account_plans()
    try:
        with ThreadPoolExecutor(max_workers=len(plans), thread_name_prefix="account") as pool:
            runs = [pool.submit(_run_plan, a, p) for a, p in zip(stand_ins, plans, strict=True)]
            results = {name: error for run in runs for name, error in run.result().items()}
        _write_recorded_actions(stand_ins)
        return results
    finally:
        os.environ.clear()
        os.environ.update(saved)


@pytest.fixture(scope="module")
def recorded_calls(rehearsal: dict[str, str | None], stand_ins: list[StandIn]) -> list[dict]:
    """The calls the notebooks made with the learner's credentials, in every account."""
    return [call for account in stand_ins for call in learner_calls(account)]


def _write_recorded_actions(stand_ins: list[StandIn]) -> None:
    """``build/rehearsal/actions.txt``: each IAM action the notebooks called, with a count."""
    from collections import Counter

    counts = Counter(
        action
        for account in stand_ins
        for call in learner_calls(account)
        for action in call["actions"]
    )
    lines = [f"{count:6d}  {action}" for action, count in sorted(counts.items())]
    (EXECUTED / "actions.txt").write_text("\n".join(lines) + "\n")
