"""Which libraries the emulated serving container has, from the model's image URI.

On AWS the image decides the libraries: ``sagemaker-scikit-learn:1.2-1-cpu-py3`` runs
scikit-learn 1.2.1 whatever the model was trained with, and a model pickled with another
scikit-learn fails (or silently misbehaves) there. The local worker runs this project's Python
environment, so on its own it would always have the training scikit-learn and that mistake could
never happen locally. To keep it visible, the worker *reports* the image's scikit-learn version to
the user code: ``sklearn.__version__`` (and what ``importlib.metadata.version("scikit-learn")``
answers) becomes the image's version before the user module is imported.

Emulation choice (documented, easy to change): only the reported version changes, not the code
that runs. That is enough for what the tutorial teaches: a ``model_fn`` that checks the version
(this project's ``code/inference.py`` does) fails the health check with its own message, and
scikit-learn's own unpickling check warns with ``InconsistentVersionWarning`` ("Trying to
unpickle estimator ... from version 1.4.2 when using version 1.2.1"), as it does in the real
container. A model that would *crash* in an older scikit-learn is not reproduced.

The table of what each image holds is ``core/images.py`` (sourced from AWS's Dockerfiles); only
the AWS repository ``sagemaker-scikit-learn`` is mapped, any other image (or an unknown tag) runs
unemulated. ``LOCAL_SAGEMAKER_IMAGE`` carries the model's ``Image`` into the worker.
"""

from __future__ import annotations

import os

from ..core.images import sklearn_image_libraries
from ..core.worker_contract import IMAGE_ENV


def scikit_learn_version_for_image(image: str | None) -> str | None:
    """The scikit-learn version an AWS scikit-learn image runs, or None when not known."""
    libraries = sklearn_image_libraries(image)
    return libraries.scikit_learn if libraries else None


# FIDELITY container.library-versions DIFFERS: the image's scikit-learn is reported, not installed
#   local: A model on a `sagemaker-scikit-learn` image sees that image's scikit-learn version
#     (`sklearn.__version__`, `importlib.metadata`) while this project's scikit-learn runs it.
#   why: one environment cannot hold every image's scikit-learn; a version check in
#     code/inference.py, and scikit-learn's InconsistentVersionWarning, are what the lessons show.
#   notice: A model that would crash inside an older scikit-learn, rather than fail its version
#     check, loads here; on AWS it fails.
def emulate_image_libraries(image: str | None = None) -> str | None:
    """Make the user code see the image's scikit-learn; returns the version emulated, if any.

    Does nothing (and imports nothing) when the image is not a known scikit-learn image or
    already matches the installed scikit-learn.
    """
    image = image if image is not None else os.environ.get(IMAGE_ENV)
    wanted = scikit_learn_version_for_image(image)
    if wanted is None:
        return None
    from importlib import metadata

    try:
        installed = metadata.version("scikit-learn")
    except metadata.PackageNotFoundError:
        return None
    if installed == wanted:
        return None
    import sklearn

    sklearn.__version__ = wanted
    # sklearn.base binds __version__ at import; it stamps and checks pickles with it.
    import sklearn.base

    sklearn.base.__version__ = wanted
    real_version = metadata.version

    def version(distribution_name: str) -> str:
        if distribution_name.lower().replace("_", "-") == "scikit-learn":
            return wanted
        return real_version(distribution_name)

    metadata.version = version
    return wanted
