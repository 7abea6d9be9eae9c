"""``python -m utils.local_sagemaker preflight ARTIFACT``: the preflight check on the command line.

ARTIFACT is a local ``model.tar.gz`` or an ``s3://`` URI, read with the AWS settings of the
environment (real AWS, or the local SageMaker after ``eval "$(python -m utils.local_sagemaker
env)"``). Exit status 0 only when the artifact would deploy and answer, so a learner's own CI can
run it before paying for a deployment.

``--model NAME`` checks a model that already exists instead (``CreateModel``, or the SDK v3's
``ModelBuilder.build()``, which creates it): its image, ``ModelDataUrl`` and ``Environment``,
read with ``DescribeModel``, exactly as a deployment of it would use them. A model costs nothing
until an endpoint runs it, so between ``build()`` and ``deploy()`` is when the check saves money;
and the SDK chooses what the learner would otherwise have to copy (the repacked archive's URL,
``SAGEMAKER_PROGRAM`` named after the learner's own script).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..core.images import DEFAULT_SKLEARN_IMAGE
from ..core.s3_uri import split_s3_uri
from ..core.settings import model_environments_dir
from ..core.worker_contract import MODEL_ENVIRONMENTS_ENV
from ..services.preflight.run import SDK_ENVIRONMENT, PreflightRequest, preflight
from ..services.preflight.trial import Sample


def add_parser(sub: Any) -> None:
    """Add the ``preflight`` subcommand to the command line's subparsers ``sub``."""
    parser = sub.add_parser(
        "preflight",
        help="check a model archive the way a deployment would (exit 0: it would deploy and answer)",
        description=__doc__.split("\n")[0],
    )
    parser.add_argument(
        "artifact", nargs="?", help="a local model.tar.gz or an s3:// URI (or give --model)"
    )
    parser.add_argument(
        "--model", metavar="NAME",
        help="check a model already created (CreateModel, ModelBuilder.build()): its image, "
        "ModelDataUrl and Environment, read with DescribeModel",
    )
    parser.add_argument(
        "--image",
        help=f"the model's serving image URI (default: {DEFAULT_SKLEARN_IMAGE})",
    )
    parser.add_argument(
        "--sample", action="append", default=[], type=Path, metavar="FILE",
        help="a request body to send once the model has loaded (repeatable)",
    )
    parser.add_argument("--content-type", help="Content-Type of the samples (needed with --sample)")
    parser.add_argument("--accept", help="Accept header of the samples (default: the container's)")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE",
        help="a variable of the model's Environment (repeatable; default: the SDK's "
        "SAGEMAKER_PROGRAM=inference.py, SAGEMAKER_SUBMIT_DIRECTORY=/opt/ml/model/code)",
    )
    parser.add_argument(
        "--startup-timeout", type=float,
        help="seconds the model has to pass /ping (default: the local SageMaker's, 240)",
    )
    parser.add_argument("--log", action="store_true", help="also print the container log")


def _usage_error(args: argparse.Namespace) -> str | None:
    """What is wrong with the combination of options, if anything."""
    if args.sample and not args.content_type:
        return "--sample needs --content-type (e.g. text/csv)"
    if (args.artifact is None) == (args.model is None):
        return "give an ARTIFACT (a model.tar.gz or an s3:// URI) or --model NAME, not both"
    if args.model is not None and (args.env or args.image):
        return "--model reads the image and the Environment from the model; drop --image and --env"
    for item in args.env:
        key, sep, _ = item.partition("=")
        if not sep or not key:
            return f"--env takes KEY=VALUE, not {item!r}"
    return None


def run(args: argparse.Namespace) -> int:
    """Run the preflight for the parsed ``args``; returns the exit status."""
    problem = _usage_error(args)
    if problem:
        print(f"preflight: {problem}", file=sys.stderr)
        return 2
    if args.model is not None:
        container = _model_container(args.model)
        if container is None:
            return 1
        given, image = str(container["ModelDataUrl"]), str(container["Image"])
        # Exactly the model's Environment: a deployment adds nothing to it.
        environment = dict(container.get("Environment", {}))
    else:
        given, image = args.artifact, args.image or DEFAULT_SKLEARN_IMAGE
        environment = dict(SDK_ENVIRONMENT)
        for item in args.env:
            key, _, value = item.partition("=")
            environment[key] = value
    samples = [
        Sample(path.read_bytes(), args.content_type, args.accept, path.name) for path in args.sample
    ]
    with tempfile.TemporaryDirectory(prefix="preflight-download-") as download:
        if given.startswith("s3://"):
            artifact = Path(download) / "model.tar.gz"
            if not _download(given, artifact):
                return 1
            url = given
        else:
            artifact = Path(given)
            if not artifact.is_file():
                print(f"preflight: no file {artifact}", file=sys.stderr)
                return 2
            url = "s3://your-bucket/model.tar.gz"
        source_archive = None
        submit = environment.get("SAGEMAKER_SUBMIT_DIRECTORY", "")
        if submit.startswith("s3://"):
            source_archive = Path(download) / "sourcedir.tar.gz"
            if not _download(submit, source_archive):
                return 1
        request = PreflightRequest(
            artifact,
            image=image,
            environment=environment,
            samples=samples,
            model_data_url=url,
            source_archive=source_archive,
            # The container reaches AWS (an S3 sourcedir.tar.gz) with these, as with its role.
            instance_environment={
                **{k: v for k, v in os.environ.items() if k.startswith("AWS_")},
                # the environments a deployment's instances reuse, and the other way round
                MODEL_ENVIRONMENTS_ENV: str(model_environments_dir()),
            },
        )
        if args.startup_timeout:
            request.startup_timeout = args.startup_timeout
        report = preflight(request)
    # the name the learner gave, not a download's path
    report.artifact = f"model {args.model} ({given})" if args.model else given
    print(report.format())
    if args.log:
        print("\nContainer log:\n" + "\n".join(report.log))
    return 0 if report.passed else 1


def _model_container(name: str) -> dict[str, Any] | None:
    """The one container of model ``name`` (DescribeModel), or None after saying why not."""
    import boto3

    try:
        described = boto3.client("sagemaker").describe_model(ModelName=name)
    except Exception as exc:  # any AWS or network failure ends the same way
        print(f"preflight: cannot describe model {name}: {exc}", file=sys.stderr)
        return None
    containers = described.get("Containers") or [described.get("PrimaryContainer", {})]
    if len(containers) != 1:
        print(
            f"preflight: model {name} is an inference pipeline of {len(containers)} containers; "
            "preflight checks a model of one container",
            file=sys.stderr,
        )
        return None
    container: dict[str, Any] = containers[0]
    if not str(container.get("ModelDataUrl", "")).startswith("s3://"):
        print(
            f"preflight: model {name} has no s3:// ModelDataUrl (a model.tar.gz) to check",
            file=sys.stderr,
        )
        return None
    return container


def _download(url: str, target: Path) -> bool:
    import boto3

    bucket, key = split_s3_uri(url)
    try:
        boto3.client("s3").download_file(bucket, key, str(target))
    except Exception as exc:  # any AWS or network failure ends the same way
        print(f"preflight: cannot download {url}: {exc}", file=sys.stderr)
        return False
    return True
