"""Errors raised by the batch-transform data library while a job runs.

What ``CreateTransformJob`` refuses synchronously is an ordinary
:class:`~...core.errors.AwsError` (``ValidationException``, see :mod:`.validation`). A
:class:`TransformDataError` is the other kind: it happens *while the job runs* (a record too
large, a JSONPath that does not fit the data, a response that cannot be split). AWS never answers
the API call with these: the object that hit the problem gets no ``.out``, a line goes to the
job's CloudWatch log stream (``<bucket>/<key>: <message>``), and the job ends ``Failed`` with a
``FailureReason``. ``failure_kind`` says which prefix the runner should put on the
``FailureReason`` (``ClientError`` for problems with the customer's data or settings,
``AlgorithmError`` for problems with what the container answered).
"""

from __future__ import annotations


class TransformDataError(Exception):
    """A problem found in the data while a transform job runs (the job fails, no API error)."""

    def __init__(self, message: str, failure_kind: str = "ClientError") -> None:
        super().__init__(message)
        self.message = message
        self.failure_kind = failure_kind


class InvalidJsonPathError(TransformDataError):
    """An InputFilter/OutputFilter expression outside the subset SageMaker supports.

    AWS accepts any string of at most 63 characters at create time and only fails when the job
    applies it (aws/sagemaker-python-sdk#1112 shows the failure as a job log line), so this is a
    :class:`TransformDataError`, not a validation error.
    """
