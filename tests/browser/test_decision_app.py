"""The decision helper as a Voilà app, driven in a real browser (Debian's chromium, Playwright).

What it proves: the app (``apps/decision_helper.ipynb``, the helper of notebook 06 on a page of
its own) runs stand-alone; the widgets a learner touches reach the kernel; and what the page then recommends is what the decision engine says for the same workload.
The expected answers are not written down here: each step builds the workload the page now
describes and asks ``utils.decision.recommend`` for it, so the test checks that the browser
matches the engine (mode, monthly cost and ruled-out modes), whatever the engine's rules become.

How: Voilà serves the app on 127.0.0.1 on a free port (it creates no SageMaker resources: it only
builds the helper); Playwright drives
``/usr/bin/chromium`` headless with a fresh profile (``playwright install`` is never used). Every
wait has a finite timeout (nbclient-based runners can stall on widget notebooks,
jupyter/nbclient#312), and Voilà is always stopped. A screenshot of the final page is saved to
``build/screenshots/decision_app.png``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import psutil
import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import sync_playwright

from utils.billing import format_usd
from utils.cost_model import DeploymentOptions
from utils.decision import LATENCY_LABELS, Recommendation, Workload, recommend
from utils.decision_widget import DEFAULT_WORKLOAD, decision_helper

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "apps" / "decision_helper.ipynb"
SCREENSHOT = ROOT / "build" / "screenshots" / "decision_app.png"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

SERVER_START_TIMEOUT_S = 60  # Voilà listening
APP_READY_TIMEOUT_MS = 120_000  # kernel start + every cell of the app
CELL_TIMEOUT_S = 120  # Voilà's own per-cell limit
UPDATE_TIMEOUT_MS = 30_000  # one input change -> recomputed recommendation on the page


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    """Stop Voilà (it shuts its kernels down on SIGTERM); kill whatever is left after 15 s.

    Kernels run in sessions of their own (jupyter_client starts them so), so they are found
    as Voilà's children before it stops, and waited for (or killed) one by one.
    """
    try:
        children = psutil.Process(proc.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        children = []
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
    _, alive = psutil.wait_procs(children, timeout=15)
    for child in alive:
        child.kill()
    psutil.wait_procs(alive, timeout=15)


@pytest.fixture(scope="module")
def voila_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Serve the app with Voilà on 127.0.0.1 and yield its address; always stopped."""
    logs = tmp_path_factory.mktemp("voila")
    port = _free_port()
    log_path = logs / "voila.log"
    command = [
        sys.executable,
        "-m",
        "voila",
        str(NOTEBOOK),
        "--no-browser",
        f"--port={port}",
        "--Voila.ip=127.0.0.1",
        f"--VoilaExecutor.timeout={CELL_TIMEOUT_S}",
        "--show_tracebacks=True",
    ]
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(logs / "runtime")}
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"Voilà exited with {proc.returncode}:\n{log_path.read_text()}")
            try:
                # A static file: asking for the page itself would start a kernel.
                with urllib.request.urlopen(f"{url}voila/static/voila.js", timeout=2):
                    break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                if time.monotonic() > deadline:
                    pytest.fail(
                        f"Voilà not ready in {SERVER_START_TIMEOUT_S} s:\n{log_path.read_text()}"
                    )
                time.sleep(0.1)  # polling interval
        yield url
    finally:
        _stop(proc)


@pytest.fixture(scope="module")
def page(voila_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[object]:
    """A headless chromium page (fresh profile) with the app loaded and fully executed."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"{CHROMIUM} is missing: apt-get install chromium (Playwright's own browsers are "
            "never downloaded)"
        )
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(profile),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1400, "height": 1500},
        )
        try:
            context.set_default_timeout(UPDATE_TIMEOUT_MS)
            page = context.new_page()
            page.goto(voila_url, wait_until="commit", timeout=APP_READY_TIMEOUT_MS)
            # Voilà shows the cells only once the whole app has run, so a visible
            # recommendation means the kernel is done and later cells cannot change it again.
            page.wait_for_selector(
                ".decision-recommendation-text", state="visible", timeout=APP_READY_TIMEOUT_MS
            )
            yield page
        finally:
            context.close()


# --- reading and driving the page ------------------------------------------------------------


def _expected_text(rec: Recommendation) -> str:
    if rec.mode is None:
        return "No SageMaker inference mode fits this workload."
    return f"Recommended: {rec.label} about {format_usd(rec.ranked[0].monthly_usd)} per month"


def _expected(rec: Recommendation) -> dict[str, object]:
    return {
        "mode": rec.mode or "none",
        "text": _expected_text(rec),
        "excluded": sorted(rec.excluded_modes()),
        "warnings": sorted(rec.warning_codes()),
    }


# Everything the page shows about the recommendation, read in one go in the browser.
_READ_PAGE = """() => {
    const head = document.querySelector('.decision-recommendation-text');
    const attrs = (sel, name) => [...document.querySelectorAll(sel)].map(e => e.dataset[name]);
    return {
        mode: head ? head.dataset.mode : null,
        text: head ? head.innerText.split(/\\s+/).join(' ').trim() : null,
        excluded: attrs('.decision-exclusions li[data-mode]', 'mode').sort(),
        warnings: attrs('.decision-warnings li[data-code]', 'code').sort(),
    };
}"""


# The two charts are image widgets: each new PNG gets a new blob URL.
_CHART_SOURCES = """() => ['.decision-cost-chart', '.decision-traffic-chart'].map(
    sel => { const img = document.querySelector(sel); return img ? img.src : null; })"""


def _check(page, workload: Workload, before: dict[str, object] | None = None) -> dict:
    """Wait (bounded) until the page shows what the engine recommends for `workload`.

    Each step must change what is shown (`before` is the previous step's), otherwise waiting for
    the expected state could succeed before the page has caught up with the change.
    """
    expected = _expected(recommend(workload, DeploymentOptions()))
    assert expected != before, f"this step changes nothing the page shows: {workload}"
    with contextlib.suppress(PlaywrightTimeoutError):  # the assertion shows the difference
        page.wait_for_function(
            f"(want) => JSON.stringify(({_READ_PAGE})()) === JSON.stringify(want)",
            arg=expected,
            timeout=UPDATE_TIMEOUT_MS,
        )
    assert page.evaluate(_READ_PAGE) == expected, workload
    return expected


def _type_into_slider(page, name: str, value: float) -> None:
    """Type a value into a slider's readout and press Enter, as a learner would."""
    readout = page.locator(f".decision-input-{name} .widget-readout")
    readout.click()
    readout.press("Control+a")
    readout.press_sequentially(f"{value:g}")
    readout.press("Enter")


def test_browser_recommendation_follows_the_engine(page) -> None:
    started = time.monotonic()
    workload = DEFAULT_WORKLOAD
    shown = [_check(page, workload)]  # as the app starts

    steps = [
        # (what a learner does, the workload field it changes, the new value)
        (
            lambda: _type_into_slider(page, "requests_per_day", 500_000),
            "requests_per_day",
            500_000.0,
        ),
        (lambda: _type_into_slider(page, "payload_kb", 8192), "payload_kb", 8192.0),  # 8 MB > 6 MB
        (
            lambda: page.locator(".decision-input-latency select").select_option(
                label=LATENCY_LABELS["offline"]
            ),
            "latency",
            "offline",
        ),
        (
            lambda: page.locator(".decision-input-user_waits input[type=checkbox]").uncheck(),
            "user_waits",
            False,
        ),
    ]
    # A helper in this process, given the same inputs, tells which chart images each step
    # changes (an unchanged image is not sent again), so the test can wait for exactly those.
    mirror = decision_helper()
    for act, field, value in steps:
        charts_before = page.evaluate(_CHART_SOURCES)
        pngs_before = (mirror.cost_chart.value, mirror.traffic_chart.value)
        act()
        workload = replace(workload, **{field: value})
        shown.append(_check(page, workload, before=shown[-1]))
        mirror.set_values(**{field: value})
        changed = [
            a != b
            for a, b in zip(
                pngs_before, (mirror.cost_chart.value, mirror.traffic_chart.value), strict=True
            )
        ]
        page.wait_for_function(
            f"""([before, changed]) => ({_CHART_SOURCES})().every(
                (src, i) => !changed[i] || (src && src !== before[i]))""",
            arg=[charts_before, changed],
            timeout=UPDATE_TIMEOUT_MS,
        )

    # The walk is meant to move the recommendation across modes; make sure it did.
    modes = [step["mode"] for step in shown]
    assert len(set(modes)) >= 3, modes

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert SCREENSHOT.stat().st_size > 10_000
    assert time.monotonic() - started < 60
