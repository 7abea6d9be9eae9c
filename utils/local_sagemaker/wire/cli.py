"""Command line: ``python -m utils.local_sagemaker {start,status,stop,reset,env,costs,preflight}``.

* ``start``  start in the background (or reuse the running one) and print its URL; what the
  previous run saved comes back (a saved part that cannot be read is moved aside, and said);
* ``status`` print URL and pid, exit status 1 if not running;
* ``stop``   stop the gateway and every endpoint worker it started (the state is saved first);
* ``reset``  stop it if it runs and delete everything it saved: the next start is a new, empty
  account (:func:`.daemon.reset`);
* ``env``    print ``unset`` and ``export`` lines: ``eval "$(python -m utils.local_sagemaker env)"``
  points any AWS client (boto3, the SageMaker SDK v3, the AWS CLI) at the local SageMaker,
  signing with its key (a session token or profile of your own would otherwise get in the way);
* ``costs``  what the endpoints have cost so far, as AWS would bill them;
* ``preflight ARTIFACT`` (or ``--model NAME``)  check a model archive (or a model already
  created) the way a deployment would, in seconds (:mod:`.preflight_command`); exit status 0
  only when it would deploy and answer.

``serve`` runs the server in the foreground (what ``start`` launches).
"""

from __future__ import annotations

import argparse
import json
import shlex

from ..core import settings
from ..services.meter.report import format_costs
from ..services.state.persistence import summary
from . import daemon, preflight_command
from .costs import current_costs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m utils.local_sagemaker", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("start", help="start in the background (idempotent) and print the URL")
    sub.add_parser("status", help="print URL and pid; exit 1 if not running")
    sub.add_parser("stop", help="stop the gateway and all its workers")
    sub.add_parser("reset", help="stop it and delete all saved state (an empty account)")
    sub.add_parser("env", help="print export lines for AWS clients")
    costs = sub.add_parser("costs", help="what the endpoints have cost so far")
    costs.add_argument("--json", action="store_true", help="print the raw JSON")
    preflight_command.add_parser(sub)
    serve = sub.add_parser("serve", help="run in the foreground")
    serve.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)

    if args.command == "start":
        print(daemon.ensure_running())
        return 0
    if args.command == "status":
        state = daemon.status()
        if state is None:
            print("not running")
            return 1
        print(f"running at {state['url']} (pid {state['pid']})")
        return 0
    if args.command == "stop":
        print("stopped" if daemon.stop() else "not running")
        return 0
    if args.command == "reset":
        directory = settings.state_dir()
        stopped = daemon.stop()  # its last save first, so the summary is complete
        held = summary(directory)
        removed = daemon.reset()[1]
        print("stopped the running local SageMaker" if stopped else "it was not running")
        if removed:
            print(f"removed from {directory}: {', '.join(removed)}")
            for line in held:
                print(f"  {line}")
        else:
            print(f"nothing saved in {directory}")
        for name, why in daemon.RESET_KEEPS.items():
            if (directory / name).exists():
                print(f"kept {name}: {why}")
        return 0
    if args.command == "env":
        print("unset " + " ".join(daemon.CONFLICTING_AWS_VARIABLES))
        for key, value in daemon.client_environment().items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    if args.command == "costs":
        snapshot = current_costs(daemon.ensure_running())
        print(json.dumps(snapshot, indent=2) if args.json else format_costs(snapshot))
        return 0
    if args.command == "preflight":
        return preflight_command.run(args)
    if args.command == "serve":
        daemon.serve(args.port)
        return 0
    return 2

