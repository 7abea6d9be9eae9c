"""Batch transform: the data semantics as pure functions, the batch agent, the runner, the jobs.

* :mod:`.validation` — CreateTransformJob request checks, :class:`~.validation.TransformJobSpec`.
* :mod:`.records` — gzip, SplitType (None, Line, RecordIO, TFRecord), batching.
* :mod:`.data_processing` — JSONPath filters, JoinSource, splitting MultiRecord responses.
* :mod:`.assembly` — input selection (S3Prefix, ManifestFile), ``.out`` names, AssembleWith.
* :mod:`.agent` — the per-object chain of the above (``prepare``/``finish``), in a batch agent
  process per instance when records must be parsed.
* :mod:`.runner` — one job's work; :mod:`.jobs` — the account's jobs and their statuses.
"""
