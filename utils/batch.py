"""Notebook-facing helpers for batch transform: input files, waiting, outputs, logs and cost.

Every helper takes the tutorial (or plain boto3 clients) and works the same on the local
SageMaker and on AWS; the only local extra is the progress line while a job runs (objects and
records done), which AWS does not report (DescribeTransformJob shows only the status there).

* :func:`upload_csv_parts`: write a frame as header-less CSV in several S3 objects;
* :func:`wait_for_transform_job`: poll DescribeTransformJob, print each status (and progress);
* :func:`read_csv_outputs`: every ``.out`` under a prefix into one DataFrame;
* :func:`read_transform_job_logs`: the job's ``/aws/sagemaker/TransformJobs`` log lines;
* :func:`transform_cost`: instance-seconds and dollars, as AWS bills a transform job;
* :func:`compare_jobs`, :func:`plot_job_speeds`: several jobs on the same input side by side.

Removing what the lesson wrote to S3 is :func:`utils.s3.delete_prefix`.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from utils import polling
from utils.data import FEATURE_COLUMNS, ID_COLUMN
from utils.endpoint_logs import TRANSFORM_JOBS_LOG_GROUP, transform_job_log_streams
from utils.polling import poll_intervals
from utils.progress import LiveWait
from utils.s3 import split_s3_uri

ENDED = ("Completed", "Failed", "Stopped")


def upload_csv_parts(
    tut: Any, frame: pd.DataFrame, prefix: str, parts: int, include_id: bool = True
) -> str:
    """Upload ``frame`` as ``parts`` header-less CSV objects under ``prefix``; return the S3 URI."""
    columns = [ID_COLUMN, *FEATURE_COLUMNS] if include_id else list(FEATURE_COLUMNS)
    size = -(-len(frame) // parts)
    for n in range(parts):
        chunk = frame.iloc[n * size : (n + 1) * size]
        body = chunk.to_csv(columns=columns, header=False, index=False, lineterminator="\n")
        key = f"{prefix.strip('/')}/applications-synthetic-{n + 1:02d}.csv"
        tut.s3.put_object(Bucket=tut.bucket, Key=key, Body=body.encode())
    return tut.s3_uri(prefix) + "/"


def _local_progress(tut: Any, name: str) -> dict[str, Any] | None:
    if not getattr(tut, "is_local", False) or not tut.endpoint_url:
        return None
    from utils.local_sagemaker import local_route

    try:
        return local_route(tut.endpoint_url, f"/_local/transform-jobs/{name}")
    except (OSError, ValueError):
        return None


def wait_for_transform_job(
    tut: Any,
    name: str,
    quiet: bool = False,
    max_poll_seconds: float | None = None,
    timeout: float = 3600.0,
) -> dict[str, Any]:
    """Poll DescribeTransformJob until the job is Completed, Failed or Stopped; return it.

    Prints each status change (and, locally, progress) unless ``quiet``, with a live line in
    between: the status, the time elapsed and, locally, a bar of the objects done
    (:class:`utils.progress.LiveWait`). Polls fast at first (a
    local job takes seconds) and slows down to AWS's pace (minutes): the interval grows up to
    ``max_poll_seconds``, by default 15 s on AWS and a quarter of a second on the local SageMaker
    (:func:`utils.polling.max_poll_seconds`); raises ``TimeoutError`` if the job is still running
    after ``timeout`` seconds.
    """
    deadline = time.monotonic() + timeout
    most = polling.max_poll_seconds(tut.sagemaker) if max_poll_seconds is None else max_poll_seconds
    intervals = poll_intervals(0.1, most)
    last = None
    with LiveWait(f"transform job {name}", None if quiet else print) as live:
        while True:
            described = tut.sagemaker.describe_transform_job(TransformJobName=name)
            status = described["TransformJobStatus"]
            progress = _local_progress(tut, name)
            line = status
            done = total = None
            if progress and progress.get("ObjectsTotal"):
                done = progress["ObjectsCompleted"] + progress["ObjectsFailed"]
                total = progress["ObjectsTotal"]
                line += f" — objects {done}/{total}, records {progress['RecordsCompleted']:,}"
            if status in ENDED:
                live.finish(line)
                return described
            if line != last:
                live.line(line)
            last = line
            if time.monotonic() > deadline:
                live.finish(f"still {status} after {timeout:.0f} s: stopped waiting")
                raise TimeoutError(f"transform job {name} still {status} after {timeout:.0f} s")
            live.update(status, done, total)
            live.sleep(next(intervals), time.sleep)


def job_seconds(described: dict[str, Any]) -> tuple[float, float]:
    """(seconds from creation to end, seconds the instances ran: TransformStartTime→EndTime)."""
    end = described["TransformEndTime"]
    return (
        (end - described["CreationTime"]).total_seconds(),
        (end - described["TransformStartTime"]).total_seconds(),
    )


def read_csv_outputs(s3: Any, uri: str, columns: list[str]) -> pd.DataFrame:
    """Every ``.out`` object under ``uri`` (in key order) as one DataFrame with ``columns``."""
    bucket, prefix = split_s3_uri(uri)
    frames = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            if item["Key"].endswith(".out"):
                body = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
                frames.append(pd.read_csv(io.BytesIO(body), header=None, names=columns))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def list_outputs(s3: Any, uri: str) -> list[str]:
    """The keys under ``uri``, relative to it (a single page: up to 1,000)."""
    bucket, prefix = split_s3_uri(uri)
    found = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return [item["Key"][len(prefix) :].lstrip("/") for item in found]


@dataclass
class LogLine:
    stream: str
    message: str


def read_transform_job_logs(
    logs: Any, job_name: str, contains: str = "", min_events: int = 1, timeout: float = 30.0
) -> list[LogLine]:
    """The job's log lines containing ``contains`` from every ``<job>/<instance>`` stream.

    Log delivery is asynchronous (on AWS too), so this polls until ``min_events`` are there:
    every 2 s at most on AWS, every quarter of a second on the local SageMaker.
    """
    deadline = time.monotonic() + timeout
    intervals = poll_intervals(0.1, min(2.0, polling.max_poll_seconds(logs)))
    while True:
        lines: list[LogLine] = []
        for stream in transform_job_log_streams(logs, job_name):
            events = logs.get_log_events(
                logGroupName=TRANSFORM_JOBS_LOG_GROUP, logStreamName=stream, startFromHead=True
            )["events"]
            lines.extend(LogLine(stream, e["message"]) for e in events if contains in e["message"])
        if len(lines) >= min_events or time.monotonic() > deadline:
            return lines
        time.sleep(next(intervals))


def transform_cost(tut: Any, job_names: Iterable[str]) -> pd.DataFrame:
    """Instance-seconds and cost per job, as AWS bills batch transform.

    Locally from the local SageMaker's meter (instance-seconds while the job's instances ran,
    at the price table's batch rate); on AWS from DescribeTransformJob
    (TransformStartTime→TransformEndTime × InstanceCount, the billed interval) and the same
    price table.
    """
    names = list(job_names)
    rows = []
    if tut.is_local:
        from utils.billing import current_costs

        for row in current_costs(tut).get("TransformJobs", []):
            if row["TransformJobName"] in names:
                rows.append(
                    {
                        "job": row["TransformJobName"],
                        "instances": f"{row['InstanceCount']} × {row['InstanceType']}",
                        "instance_seconds": row["InstanceSeconds"],
                        "usd": row["CostUsd"],
                    }
                )
    else:
        from utils.billing import hourly_price

        for name in names:
            described = tut.sagemaker.describe_transform_job(TransformJobName=name)
            resources = described["TransformResources"]
            if "TransformEndTime" not in described:
                continue
            seconds = job_seconds(described)[1] * resources["InstanceCount"]
            price = hourly_price(resources["InstanceType"], tut.region, mode="batch")
            rows.append(
                {
                    "job": name,
                    "instances": f"{resources['InstanceCount']} × {resources['InstanceType']}",
                    "instance_seconds": round(seconds, 1),
                    "usd": None if price is None else round(seconds * price / 3600, 6),
                }
            )
    return pd.DataFrame(rows, columns=["job", "instances", "instance_seconds", "usd"])


def compare_jobs(tut: Any, jobs: dict[str, str], rows: int) -> pd.DataFrame:
    """One row per job (label -> job name): seconds its instances ran, rows/s, billed cost.

    ``seconds`` is TransformStartTime→TransformEndTime (the interval AWS bills),
    ``rows_per_s`` is ``rows`` over it, ``instance_seconds`` and ``usd`` come from
    :func:`transform_cost`, and ``speed_vs_first`` compares each job's rows/s with the first's.
    """
    billed = transform_cost(tut, jobs.values()).set_index("job")
    table = []
    for label, name in jobs.items():
        described = tut.sagemaker.describe_transform_job(TransformJobName=name)
        seconds = job_seconds(described)[1]
        table.append(
            {
                "setting": label,
                "seconds": seconds,
                "rows_per_s": rows / seconds if seconds > 0 else float("nan"),
                "instance_seconds": billed["instance_seconds"].get(name, float("nan")),
                "usd": billed["usd"].get(name),
            }
        )
    frame = pd.DataFrame(table)
    frame["speed_vs_first"] = frame["rows_per_s"] / frame["rows_per_s"].iloc[0]
    return frame


def plot_job_speeds(frame: pd.DataFrame, title: str) -> None:
    """Horizontal bars of rows/s per setting (first setting on top), each bar labelled."""
    import matplotlib.pyplot as plt

    from utils import plots

    fig, ax = plt.subplots(figsize=(8, 0.55 * len(frame) + 1.2))
    bars = ax.barh(frame["setting"], frame["rows_per_s"], color="#2e86c1")
    ax.bar_label(bars, labels=[f"{v:,.0f}" for v in frame["rows_per_s"]], padding=3)
    ax.invert_yaxis()
    ax.margins(x=0.15)
    ax.set_xlabel("applications per second (while the instances ran)")
    ax.set_title(title)
    fig.tight_layout()
    plots.show(fig)
