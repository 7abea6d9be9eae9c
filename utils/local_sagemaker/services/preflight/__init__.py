"""Preflight: will this model artifact deploy and answer on SageMaker? Answered in seconds.

On AWS a broken artifact is found the expensive way: the endpoint sits in ``Creating`` while an
instance is provisioned, the container's health check fails, and only then does the endpoint go
``Failed``. The preflight runs the same contract locally, in the order a deployment meets it:

1. the archive (:mod:`.archive_checks`): a readable gzipped tar, only safe members, its size,
   the handler script where the container looks for it;
2. the handler script, read but not run (:mod:`.handler_checks`): imports the image cannot
   satisfy, a missing ``model_fn``, handler signatures the container cannot call, handlers that
   ignore the content type;
3. library versions against the target image's (:mod:`.versions`, table in ``core/images.py``);
4. a real instance (:mod:`.trial`): the emulated container loads the model in a worker process,
   answers ``/ping``, and serves the sample requests.

Every finding says what AWS would show for it (the endpoint's FailureReason, the ModelError an
invocation gets, the container's log line) and how to fix it (:mod:`.findings`).
:func:`.run.preflight` runs them all; the command line is ``python -m utils.local_sagemaker
preflight``.
"""
