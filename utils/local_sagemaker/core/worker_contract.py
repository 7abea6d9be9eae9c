"""What the gateway and an instance's worker process agree on, besides HTTP.

The worker (``python -m utils.local_sagemaker.container.server``) learns its settings from the
environment, as a SageMaker container does, and reports the port the OS gave it on its first
stdout line; everything else it prints is the container log.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: The worker's module, run with ``python -m``.
WORKER_MODULE = "utils.local_sagemaker.container.server"

#: The worker template's module (``container/template.py``), run with ``python -m`` and the file
#: descriptor of its control socket: it imports the worker's libraries once and forks workers.
TEMPLATE_MODULE = "utils.local_sagemaker.container.template"

#: Where the model is unpacked in a SageMaker container; ``SAGEMAKER_SUBMIT_DIRECTORY`` paths
#: under it mean the local model folder.
CONTAINER_MODEL_DIR = "/opt/ml/model"

#: A model's own packages: a file of this name in its code gets an environment of its own.
REQUIREMENTS = "requirements.txt"

#: ``SAGEMAKER_SUBMIT_DIRECTORY`` when the model does not set it: the code inside the model.
DEFAULT_SUBMIT_DIRECTORY = CONTAINER_MODEL_DIR + "/code"

#: First stdout line of a worker: this marker, then its port.
PORT_MARKER = "__local_sagemaker_worker_port__="

#: The port the worker binds (0: any free port, reported with :data:`PORT_MARKER`).
WORKER_PORT_ENV = "LOCAL_SAGEMAKER_WORKER_PORT"

#: The model container's ``Image``: it decides which scikit-learn the user code sees.
IMAGE_ENV = "LOCAL_SAGEMAKER_IMAGE"

#: A serverless variant's ``MemorySizeInMB``: the worker bounds its own address space to it where
#: the platform can (see ``container/memory_bound.py``). Unset: no bound (real-time instances).
MEMORY_LIMIT_ENV = "LOCAL_SAGEMAKER_WORKER_MEMORY_MB"

#: Where a worker keeps the environments it installs from a model's ``requirements.txt`` (one per
#: content hash); unset: ``model-environments`` in the local SageMaker's state folder.
MODEL_ENVIRONMENTS_ENV = "LOCAL_SAGEMAKER_MODEL_ENVIRONMENTS"


def container_environment(
    base: Mapping[str, str], container: Mapping[str, Any], extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """A model container's environment, the same for endpoint and transform instances.

    ``base`` (how a worker reaches the local AWS services), then the model's ``Environment``,
    then ``extra`` (a transform job's own Environment and batch variables), and the ``Image``,
    which decides the libraries the user code sees.
    """
    env = {**base, **(container.get("Environment") or {}), **(extra or {})}
    env[IMAGE_ENV] = container.get("Image") or ""
    return env


def local_code_directory(submit_directory: str, model_dir: str) -> str | None:
    """The local folder of the user's code for ``SAGEMAKER_SUBMIT_DIRECTORY``; None for an
    ``s3://`` sourcedir.tar.gz, which only the worker downloads.

    ``/opt/ml/model[/...]`` maps onto the local model folder; ``file://`` (SDK local mode) and
    other paths are used as they are.
    """
    if submit_directory == CONTAINER_MODEL_DIR or submit_directory.startswith(
        CONTAINER_MODEL_DIR + "/"
    ):
        return model_dir + submit_directory[len(CONTAINER_MODEL_DIR) :]
    if submit_directory.startswith("s3://"):
        return None
    return submit_directory.removeprefix("file://")
