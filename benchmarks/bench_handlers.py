"""What the model's request handlers cost per request, in-process, measured side by side.

Every endpoint, serverless endpoint, asynchronous endpoint and transform job runs the artifact's
``code/inference.py``: ``input_fn`` -> ``predict_fn`` -> ``output_fn`` on each request. This
benchmark calls them in one process, on the artifact the lessons deploy, and prints the CPU time
per request of each phase (``time.process_time``: other load on the machine inflates it less
than wall time), for

* one application and ten applications, as ``text/csv`` and as ``application/json``
  (``application/json`` answers), the shape of real-time, serverless and asynchronous requests;
* one big batch: 25,000 CSV lines, about 6.6 MB, about one mini-batch of a transform job (notebook
  03's jobs send up to 6 MiB per request, the default MaxPayloadInMB; ``--batch`` changes the count, 0 leaves it out).

Beside them, the scikit-learn pipeline's own ``predict_proba`` on the frame ``input_fn`` built:
what ``predict_fn`` cannot go below without changing the model. ``--baseline PATH`` also runs
another copy of the handler script (an earlier version, say
``git show <commit>:utils/model_code/inference.py > /tmp/before.py``) on the same requests, in
alternating rounds, so a change in machine load hits both alike, and prints the ratios. The
machine's load average is printed with the figures.

Run: ``python benchmarks/bench_handlers.py [--rounds 7] [--requests 100] [--batch 25000]
[--baseline PATH]``
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils import data  # noqa: E402
from utils.artifact import (  # noqa: E402
    CODE_DIR,
    ENTRY_POINT,
    import_handlers,
    package_model,
    safe_extract,
)
from utils.model import train_model  # noqa: E402

PHASES = ("input_fn", "predict_fn", "output_fn")


def _requests(batch: int) -> dict[str, tuple[bytes, str, int]]:
    """Label -> (body, content type, how many calls a round makes)."""
    cases = {}
    for rows in (1, 10):
        frame = data.generate_applications(rows, seed=rows)
        cases[f"{rows} row{'s' if rows > 1 else ''}, CSV"] = (
            data.to_csv_rows(frame).encode(),
            "text/csv",
            1,
        )
        cases[f"{rows} row{'s' if rows > 1 else ''}, JSON"] = (
            json.dumps(data.to_json_records(frame)).encode(),
            "application/json",
            1,
        )
    if batch:
        body = data.to_csv_rows(data.generate_applications(batch, seed=3)).encode()
        cases[f"{batch:,} rows, CSV ({len(body) / 1e6:.1f} MB)"] = (body, "text/csv", 0)
    return cases


def _round(
    handlers: ModuleType, model: Any, body: bytes, content_type: str, calls: int
) -> list[float]:
    """CPU seconds per call of each phase, and of the pipeline alone on the same frame."""
    clock = time.process_time
    spent = [0.0] * (len(PHASES) + 1)
    for _ in range(calls):
        start = clock()
        frame = handlers.input_fn(body, content_type)
        parsed = clock()
        prediction = handlers.predict_fn(frame, model)
        predicted = clock()
        handlers.output_fn(prediction, "application/json")
        answered = clock()
        model.predict_proba(frame[data.FEATURE_COLUMNS])
        spent[0] += parsed - start
        spent[1] += predicted - parsed
        spent[2] += answered - predicted
        spent[3] += clock() - answered
    return [seconds / calls for seconds in spent]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds per request")
    parser.add_argument("--requests", type=int, default=100, help="calls per round (small ones)")
    parser.add_argument("--batch", type=int, default=25_000, help="rows in the big batch (0: none)")
    parser.add_argument("--baseline", type=Path, help="another inference.py to run beside it")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        archive = package_model(train_model(seed=0).pipeline, Path(folder))
        model_dir = safe_extract(archive, Path(folder) / "model")
        scripts = {"handlers": import_handlers(model_dir)}
        if args.baseline:
            # in a model folder of its own, imported as the container imports the script
            baseline_dir = Path(folder) / "baseline"
            (baseline_dir / CODE_DIR).mkdir(parents=True)
            shutil.copyfile(args.baseline, baseline_dir / CODE_DIR / ENTRY_POINT)
            scripts["baseline"] = import_handlers(baseline_dir)
        model = scripts["handlers"].model_fn(str(model_dir))

        print(f"load average at start: {os.getloadavg()[0]:.2f}")
        print("CPU ms per request (median of the rounds); 'pipeline' = model.predict_proba alone")
        for label, (body, content_type, small) in _requests(args.batch).items():
            calls = args.requests if small else 1
            rounds = args.rounds if small else 3
            for script in scripts.values():  # warm-up
                _round(script, model, body, content_type, 2 if small else 1)
            samples: dict[str, list[list[float]]] = {name: [] for name in scripts}
            for _ in range(rounds):  # alternating: one round of each script in turn
                for name, script in scripts.items():
                    samples[name].append(_round(script, model, body, content_type, calls))
            print(f"\n{label}")
            totals = {}
            for name, rows in samples.items():
                medians = [statistics.median(row[i] for row in rows) * 1e3 for i in range(4)]
                totals[name] = sum(medians[:3])
                phases = "  ".join(
                    f"{phase} {ms:8.2f}" for phase, ms in zip(PHASES, medians, strict=False)
                )
                print(
                    f"  {name:9s} {phases}  total {totals[name]:8.2f}   pipeline {medians[3]:8.2f}"
                )
            if "baseline" in totals:
                print(
                    f"  baseline / handlers (total): {totals['baseline'] / totals['handlers']:.2f}x"
                )
        print(f"\nload average at end: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
