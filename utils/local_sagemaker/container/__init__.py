"""The SageMaker scikit-learn serving container, emulated as one local process per instance.

AWS runs ``docker run <image> serve``; the container answers ``GET /ping`` and
``POST /invocations`` and runs the model artifact's own ``code/inference.py``. Here the same
contract is served by :mod:`.server` (one process per endpoint instance), with the handler
semantics of aws/sagemaker-scikit-learn-container ``serving.py`` on top of sagemaker-containers
2.8.6 (:mod:`.handlers`, :mod:`.encoders`). This package imports nothing from the gateway, so a
worker starts as fast as Python, numpy and the user's module allow.
"""
