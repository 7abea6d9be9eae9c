"""What AWS's scikit-learn serving images hold: Python, the libraries a model pickles with, and
the packages a handler script may import without a ``requirements.txt``.

On AWS the image decides the libraries: ``sagemaker-scikit-learn:1.2-1-cpu-py3`` runs
scikit-learn 1.2.1 whatever the model was trained with. The worker (``container/libraries.py``)
reports the image's scikit-learn to the user code, and the preflight check compares an
artifact's libraries with the image's; both read this one table.

Sources: each image's Dockerfile in aws/sagemaker-scikit-learn-container
(``docker/<tag>/base/Dockerfile.cpu``: ``PYTHON_VERSION`` and the ``scikit-learn==`` /
``numpy==`` lines) and that tag's ``requirements.txt`` (tags v0.23-1, v1.0-1, v1.2-1, v1.4.2,
and eae7b6b for 1.4-2-py312). Only the AWS repository ``sagemaker-scikit-learn`` is mapped; any
other image (or an unknown tag) is not emulated and not checked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class ImageLibraries:
    """The versions one serving image runs (None: the Dockerfile does not pin it)."""

    framework_version: str
    python: str
    scikit_learn: str
    numpy: str | None


#: Image tag prefix (framework version) -> what the image installs.
SKLEARN_IMAGES: dict[str, ImageLibraries] = {
    "0.23-1": ImageLibraries("0.23-1", "3.7", "0.23.2", "1.19.2"),
    "1.0-1": ImageLibraries("1.0-1", "3.8", "1.0.2", "1.19.2"),
    "1.2-1": ImageLibraries("1.2-1", "3.8", "1.2.1", "1.24.1"),
    "1.4-2": ImageLibraries("1.4-2", "3.10", "1.4.2", "2.1.0"),
    "1.4-2-py312": ImageLibraries("1.4-2-py312", "3.12", "1.4.2", "2.1.0"),
}

#: The newest image in the table, the one ``image_uris.retrieve("sklearn", version="1.4-2-py312",
#: ...)`` gives (us-east-1's registry).
DEFAULT_SKLEARN_IMAGE = (
    "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3"
)

#: Top-level modules a handler may import in the scikit-learn images without a requirements.txt
#: (the container's own requirements.txt at eae7b6b, by import name), besides the standard
#: library.
SKLEARN_IMAGE_MODULES = frozenset({
    "boto3", "botocore", "certifi", "cryptography", "dateutil", "flask", "gevent", "google",
    "gunicorn", "joblib", "narwhals", "numpy", "pandas", "psutil", "pyarrow", "retrying",
    "sagemaker_containers", "sagemaker_inference", "sagemaker_sklearn_container",
    "sagemaker_training", "scipy", "setuptools", "six", "sklearn", "threadpoolctl", "urllib3",
    "werkzeug", "wheel", "yaml",
})

_SKLEARN_IMAGE = re.compile(r"(?:^|/)sagemaker-scikit-learn:(?P<tag>[^@]+)$")


def sklearn_image_libraries(image: str | None) -> ImageLibraries | None:
    """What an AWS scikit-learn image runs, or None when the image is not one we know.

    ``...sagemaker-scikit-learn:1.2-1-cpu-py3`` -> the ``1.2-1`` row; the longest matching
    framework version wins, so ``1.4-2-py312-cpu-py3`` maps through ``1.4-2-py312``.
    """
    match = _SKLEARN_IMAGE.search(image or "")
    if not match:
        return None
    tag = match.group("tag")
    for framework in sorted(SKLEARN_IMAGES, key=len, reverse=True):
        if tag == framework or tag.startswith(framework + "-"):
            return SKLEARN_IMAGES[framework]
    return None
