"""What each notebook costs on AWS, at the dated prices in utils/prices.json: the table in docs/studio.md.

    python tools/aws_costs.py          # print the Markdown table
    python tools/aws_costs.py --check  # exit 1 if docs/studio.md holds another table, or the
                                       # instructor guide states other costs per notebook

The local SageMaker meters what runs, but it cannot know how long AWS keeps instances busy:
creating an endpoint, updating it and starting a transform job's instances take minutes there.
So each notebook's AWS bill is estimated from what it creates and from how long those
resources run on AWS, with the instructor guide's assumptions (docs/instructor-guide.md, "What
each notebook costs on AWS": a learner's pace on AWS, instances billed from CreateEndpoint to
deletion, a transform job's instances from TransformStartTime to TransformEndTime: about 2
billed minutes each). The clean-up cell of each notebook
prints the bill of what actually ran; notebook 08 deletes whatever is left.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from utils.pricing import PriceTable  # noqa: E402

DOC = ROOT / "docs" / "studio.md"
INSTRUCTOR_GUIDE = ROOT / "docs" / "instructor-guide.md"
BEGIN = "<!-- aws-costs:begin (python tools/aws_costs.py) -->"
END = "<!-- aws-costs:end -->"
INSTANCE = "ml.m5.large"


@dataclass(frozen=True)
class Usage:
    """What one notebook keeps running on AWS, and for how long."""

    notebook: str
    what: str
    instance_minutes: float = 0.0  # ml.m5.large instance-minutes (endpoints, jobs)
    serverless_gb_seconds: float = 0.0  # compute of serverless requests
    provisioned_gb_seconds: float = 0.0  # provisioned concurrency kept warm


USAGES = (
    Usage("00", "nothing (reads only)"),
    Usage("01", "nothing (runs on your machine)"),
    Usage(
        "02",
        "endpoint: 1 instance 20 min, old and new fleet together 6 min, 2 instances 15 min; "
        "the load test: 2 instances 8 more min (3 min of alarm, then a new instance starting), "
        "3 for 17 min (2 held, 15 until the low alarm scales in); 3 for 10 min (exercise 2); "
        "SDK endpoint: 1 instance 20 min",
        instance_minutes=20 + 6 + 2 * 15 + 2 * 8 + 3 * 17 + 3 * 10 + 20,
    ),
    Usage(
        "03",
        "9 transform jobs with 10 instances in all, about 2 billed min each (start-up excluded)",
        instance_minutes=10 * 2,
    ),
    Usage(
        "04",
        "about 90 requests of 50 ms at 2 GB; provisioned concurrency 1 at 2 GB for about 15 min",
        serverless_gb_seconds=90 * 0.05 * 2,
        provisioned_gb_seconds=15 * 60 * 2,
    ),
    Usage(
        "05",
        "1 instance 40 min (until the first scale-in, 15 min after the queue empties), "
        "22 min for the wake from zero, 2 instances 20 min in exercise 2",
        instance_minutes=40 + 22 + 2 * 20,
    ),
    Usage(
        "06",
        "real-time 1 instance 35 min, asynchronous 1 instance 30 min, 1 transform job 2 billed min",
        instance_minutes=35 + 30 + 2,
    ),
    Usage(
        "07",
        "real-time 75 min (a 2nd instance its last 10), default-handler 45, failing 8, "
        "right-image 35, asynchronous 25, exercise 3's endpoint 10 min, 2 transform jobs of 2 billed min; "
        "provisioned concurrency 1 at 2 GB for 70 min",
        instance_minutes=75 + 10 + 45 + 8 + 35 + 25 + 10 + 2 * 2,
        provisioned_gb_seconds=70 * 60 * 2,
    ),
    Usage("08", "nothing (deletes what is left)"),
    Usage(
        "09",
        "3 endpoints: the first about 25 min, the second about 20 min, the ModelBuilder one "
        "about 10 min (start included); the preflight checks run on your machine",
        instance_minutes=25 + 20 + 10,
    ),
)


def cost(usage: Usage, prices: PriceTable) -> float:
    return (
        usage.instance_minutes / 60 * prices.instance_hourly(INSTANCE)
        + usage.serverless_gb_seconds * prices.serverless_gb_second()
        + usage.provisioned_gb_seconds * prices.provisioned_concurrency_gb_second()
    )


def money(usd: float) -> str:
    """``$0.46``; a cost below a cent but above nothing reads ``under $0.01``."""
    return "under $0.01" if 0 < usd < 0.01 else f"${usd:.2f}"


def table(prices: PriceTable | None = None) -> str:
    prices = prices or PriceTable.load()
    lines = [
        f"Prices as of {prices.as_of} (us-east-1, {INSTANCE} at "
        f"${prices.instance_hourly(INSTANCE):.3f}/hour):",
        "",
        "| Notebook | What runs on AWS | About |",
        "|---|---|---|",
    ]
    total = 0.0
    for usage in USAGES:
        usd = cost(usage, prices)
        total += usd
        lines.append(f"| {usage.notebook} | {usage.what} | {money(usd)} |")
    lines.append(f"| all | worked through in order, cleaning up as you go | ${total:.2f} |")
    return "\n".join(lines)


def instructor_guide_costs() -> dict[str, str]:
    """Notebook -> the cost the instructor guide's table states (``$0.20``), per notebook."""
    costs = {}
    for line in INSTRUCTOR_GUIDE.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[-1].startswith(("$", "under $")):
            for notebook in cells[0].split(","):
                costs[notebook.strip()] = cells[-1]
    return costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with docs/studio.md")
    args = parser.parse_args(argv)
    text = table()
    if not args.check:
        print(text)
        return 0
    doc = DOC.read_text(encoding="utf-8")
    stored = doc.split(BEGIN, 1)[-1].split(END, 1)[0].strip()
    if stored != text:
        print(f"{DOC.relative_to(ROOT)}: the cost table is out of date; paste this:\n{text}")
        return 1
    prices = PriceTable.load()
    stated = instructor_guide_costs()
    differ = [
        f"{u.notebook}: {stated.get(u.notebook)} there, {money(cost(u, prices))} here"
        for u in USAGES
        if stated.get(u.notebook) != money(cost(u, prices))
    ]
    if differ:
        print(f"{INSTRUCTOR_GUIDE.relative_to(ROOT)} states other costs: " + "; ".join(differ))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
