"""Settings of the local SageMaker: identity, where state lives, ports and tunable timeouts.

Everything a test or a learner may want to change is an environment variable read once, when the
gateway starts, so a running server never changes behaviour behind a notebook's back. The names
all start with ``LOCAL_SAGEMAKER_`` so they cannot collide with AWS's own settings.
"""

from __future__ import annotations

import os
from pathlib import Path

# FIDELITY platform.one-account DIFFERS: one account, one region
#   local: Account `123456789012` (moto's default) and region `us-east-1`.
#   why: the ARNs moto mints (logs, IAM, SNS) and the local SageMaker's must agree, as on AWS.
#   notice: On AWS ARNs, bucket names and log links carry your account ID and your region.
#: Dummy account. It is moto's default account, so ARNs minted by moto (logs, IAM, SNS) and by our
#: SageMaker agree, as they would on AWS.
ACCOUNT_ID = "123456789012"

#: The app id (``AWS_SDK_UA_APP_ID``, ``app/<id>`` in the User-Agent) of the local SageMaker's own
#: AWS calls and its child processes, so a recorded call says whether the service or a learner
#: made it (:mod:`utils.local_sagemaker.call_log`).
SERVICE_APP_ID = "local-sagemaker"

#: The app id of the local SageMaker's bookkeeping calls, saving and restoring its state
#: (``services/state``): no AWS service makes them, so the call log leaves them out (else the
#: AWS rehearsal would check them against the execution role's policy).
STATE_APP_ID = "local-sagemaker-state"

#: The only region the local SageMaker serves (the notebooks' default region).
REGION = "us-east-1"

#: Preferred port. ``start`` uses it when it is free and otherwise lets the OS pick a free port,
#: so a second checkout or a stray process never blocks the tutorial. ``LOCAL_SAGEMAKER_PORT``
#: forces a port (0 means "any free port").
DEFAULT_PORT = 8765

#: Project root, derived from this file (never from the current working directory).
PROJECT_ROOT = Path(__file__).resolve().parents[3]


def state_dir() -> Path:
    """Folder holding the daemon's state file, its log and extracted models.

    ``LOCAL_SAGEMAKER_STATE_DIR`` overrides it (the tests use a temporary folder so they never touch
    a learner's running server).
    """
    override = os.environ.get("LOCAL_SAGEMAKER_STATE_DIR")
    return Path(override) if override else PROJECT_ROOT / "build" / "local-sagemaker"


def model_environments_dir() -> Path:
    """Where instances keep the environments they install from a model's ``requirements.txt``
    (one per content hash, reused by later instances and by the preflight check)."""
    return state_dir() / "model-environments"


def requested_port() -> int | None:
    """The port forced by ``LOCAL_SAGEMAKER_PORT``, or None to use :data:`DEFAULT_PORT` or any."""
    value = os.environ.get("LOCAL_SAGEMAKER_PORT")
    return int(value) if value else None


#: ``LOCAL_SAGEMAKER_WORKER_START``: how instance workers start. ``template`` (the default): forked
#: from a pre-warmed template process where the platform allows (``services/fleet/launcher.py``);
#: ``fresh``: a new Python process for every worker, as on platforms that cannot fork.
WORKER_START_METHODS = ("template", "fresh")


def worker_start() -> str:
    """How instance workers start (:data:`WORKER_START_METHODS`); raises ValueError if unknown."""
    value = os.environ.get("LOCAL_SAGEMAKER_WORKER_START") or WORKER_START_METHODS[0]
    if value not in WORKER_START_METHODS:
        raise ValueError(
            f"LOCAL_SAGEMAKER_WORKER_START={value!r}: use one of {', '.join(WORKER_START_METHODS)}"
        )
    return value


def allowed_origins() -> frozenset[str]:
    """Web origins allowed to call the local SageMaker from a browser (none by default).

    ``LOCAL_SAGEMAKER_ALLOWED_ORIGINS`` lists them, separated by commas, exactly as a browser
    sends them in ``Origin`` (``http://localhost:3000``). Requests from any other page are
    refused and CORS preflights are not granted (see ``request_guard`` and ``SECURITY.md``).
    Signatures are still required from an allowed origin.
    """
    value = os.environ.get("LOCAL_SAGEMAKER_ALLOWED_ORIGINS", "")
    return frozenset(o.strip() for o in value.split(",") if o.strip())


def call_log_path() -> Path | None:
    """Where to record every AWS call the gateway receives (``LOCAL_SAGEMAKER_CALL_LOG``), or None.

    Off by default; the AWS rehearsal turns it on to list the actions the notebooks call (see
    :mod:`utils.local_sagemaker.call_log`).
    """
    value = os.environ.get("LOCAL_SAGEMAKER_CALL_LOG")
    return Path(value) if value else None


def _float_env(name: str, default: float) -> float:
    value = os.environ.get(name)
    return float(value) if value else default


def invocation_timeout() -> float:
    """Seconds the runtime waits for the container before answering with the timeout ModelError.

    AWS gives the model 60 s; ``LOCAL_SAGEMAKER_INVOCATION_TIMEOUT`` lowers it so a test can
    exercise the timeout path with a deliberately slow model without waiting a minute.
    """
    return _float_env("LOCAL_SAGEMAKER_INVOCATION_TIMEOUT", 60.0)


def startup_health_timeout() -> float:
    """Seconds a new instance has to answer ``/ping`` with 200 before the endpoint fails.

    AWS allows 4 minutes by default (``ContainerStartupHealthCheckTimeoutInSeconds`` overrides it
    per variant and wins over this setting); ``LOCAL_SAGEMAKER_STARTUP_TIMEOUT`` changes our default.
    """
    return _float_env("LOCAL_SAGEMAKER_STARTUP_TIMEOUT", 240.0)


#: Runtime request limit from the sagemaker-runtime model ("Body" max).
MAX_INVOKE_BODY_BYTES = 6_291_456

#: Each ``/ping`` attempt times out after 2 s on AWS.
PING_TIMEOUT = 2.0


def health_check_interval() -> float:
    """Seconds between two ``/ping`` health checks of an in-service instance (default 5 s).

    AWS does not publish its cadence (see the ``endpoint.instance-health`` FIDELITY note in
    ``services/fleet/healing.py``); ``LOCAL_SAGEMAKER_HEALTH_CHECK_INTERVAL`` changes it (the
    tests use a shorter one so a hung instance is found quickly).
    """
    return _float_env("LOCAL_SAGEMAKER_HEALTH_CHECK_INTERVAL", 5.0)


def max_instances() -> int:
    """Local quota per instance type: worker processes share the learner's machine.

    ``LOCAL_SAGEMAKER_MAX_INSTANCES`` (default 8) plays the role of AWS's per-account
    "<type> for endpoint usage" (and "for transform job usage") service quota, and exceeding it
    raises the same error.
    """
    return int(os.environ.get("LOCAL_SAGEMAKER_MAX_INSTANCES", "8"))


def serverless_idle_seconds() -> float:
    """Seconds a serverless worker may stay idle before it is stopped (server-wide default).

    ``LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS`` (default 60) is read when the server starts.
    """
    return _float_env("LOCAL_SAGEMAKER_SERVERLESS_IDLE_SECONDS", 60.0)


def async_ttl_scale() -> float:
    """Factor applied to RequestTTLSeconds (default 1; tests use a small one).

    The smallest TTL AWS accepts is 60 s; ``LOCAL_SAGEMAKER_ASYNC_TTL_SCALE`` (read when the
    server starts) lets the test suite see an expiry without waiting a minute.
    """
    return _float_env("LOCAL_SAGEMAKER_ASYNC_TTL_SCALE", 1.0)


def autoscaling_interval() -> float:
    """Seconds between two reads of the Application Auto Scaling policies (default 1 s).

    ``LOCAL_SAGEMAKER_AUTOSCALING_INTERVAL`` changes it (read when the server starts).
    """
    return _float_env("LOCAL_SAGEMAKER_AUTOSCALING_INTERVAL", 1.0)


def scale_in_delay() -> float:
    """Seconds a lower instance count must stay wanted before it is applied (default 0).

    AWS scales in only after its alarm saw the metric low for 15 one-minute periods, so the
    higher count stays for minutes. ``LOCAL_SAGEMAKER_SCALE_IN_SECONDS`` (read when the server
    starts) brings back some of that wait, for a client that polls at AWS's pace and must see
    each count before it changes again.
    """
    return _float_env("LOCAL_SAGEMAKER_SCALE_IN_SECONDS", 0.0)



def autoscaling_time_scale() -> float:
    """How many times faster than AWS the real-time autoscaling clock runs (default 1: AWS's pace).

    Target tracking on AWS waits for 3 one-minute datapoints above the target before it scales
    out, 15 below it before it scales in, and 300 s cooldowns between steps: minutes. With
    ``LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE=60`` (read when the server starts) an alarm period
    of 60 s lasts 1 s and a 300 s cooldown 5 s, so a lesson or a test sees a scale-out and a
    scale-in in well under a minute. Traffic is not scaled: a metric summed over a shortened
    period is scaled up by the same factor, so "invocations per instance per minute" keeps
    meaning per real minute. The tests and the tutorial's ``setup()`` use 60.
    """
    value = _float_env("LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE", 1.0)
    return value if value > 0 else 1.0


def save_interval() -> float:
    """Seconds between two saves of the local account's state (default 1 s).

    A ``kill -9`` of the gateway loses at most about this much of the latest changes; ``stop``
    saves everything. ``LOCAL_SAGEMAKER_SAVE_INTERVAL`` changes it (read when the server starts).
    """
    return _float_env("LOCAL_SAGEMAKER_SAVE_INTERVAL", 1.0)
