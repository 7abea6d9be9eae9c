"""The notebooks' setup helper: one call picks the backend and hands back everything a lesson needs.

    from utils.session import setup
    tut = setup()            # local SageMaker (the default): no AWS account, no cost
    tut = setup("aws")       # real SageMaker, chosen explicitly (or HANDSON_BACKEND=aws)

Nothing else in a notebook knows which backend it runs on. Both backends are reached through the
standard AWS settings, because the SageMaker SDK v3 builds its own boto3 clients: on the local
backend this module exports ``AWS_ENDPOINT_URL`` and the local SageMaker's own access key into
the kernel's environment, so plain boto3, the SDK and the ``aws`` CLI in ``!`` cells all reach the
local SageMaker, signed with its key.

Your own AWS credentials never reach the local SageMaker: while the local backend is in use, the
kernel's AWS settings that could override the local key (a session token, a profile name) are
set aside, and ``setup("aws")`` later in the same kernel puts every setting back as it was.
"""

from __future__ import annotations

import os
import platform
import re
import sys
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

from utils.local_sagemaker import CONFLICTING_AWS_VARIABLES
from utils.paths import PROJECT_ROOT

PROJECT_TAG = "handson-sagemaker-inference"
BACKENDS = ("local", "aws")
LOCAL_ROLE_NAME = "handson-sagemaker-execution-role"
LOCAL_BUCKET = "handson-sagemaker-inference-local"

# Versions the artifact depends on: they must equal those of the AWS scikit-learn container
# (see requirements.txt for the source of each).
REQUIRED_VERSIONS = {"scikit-learn": "1.4.2", "numpy": "2.1.0"}
SDK_RANGE = (3, 12)
#: Pythons the tutorial is tested on: 3.12 (the AWS container's; CI runs everything on it) and 3.11
#: (CI runs the unit tests on it).
SUPPORTED_PYTHONS = ((3, 12), (3, 11))

#: The kernel's own values of the settings the local backend changed (None: was not set), and
#: the values it gave them: setup("aws") puts back the first where the second are still in place.
_kernel_values: dict[str, str | None] = {}
_local_values: dict[str, str | None] = {}
#: The local SageMaker's URL this kernel last connected to (so a restart can be announced).
_connected_url: dict[str, str] = {}

#: The execution role's trust and permissions policies (the ones the Studio guide attaches).
IAM_DIR = PROJECT_ROOT / "iam"
EXECUTION_POLICY_NAME = "handson-sagemaker-inference-execution"


@dataclass
class Tutorial:
    """What a notebook works with after ``setup()``: clients, SDK session, bucket, role, tags."""

    backend: str
    region: str
    account: str
    bucket: str
    role: str
    endpoint_url: str | None
    notebook: str
    boto_session: Any = field(repr=False)
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _sdk_session: Any = field(default=None, repr=False)

    # --- clients -------------------------------------------------------------------------------
    def client(self, service: str) -> Any:
        """A boto3 client for ``service``, created once and reused."""
        if service not in self._clients:
            self._clients[service] = self.boto_session.client(service, region_name=self.region)
        return self._clients[service]

    @property
    def sagemaker(self) -> Any:
        return self.client("sagemaker")

    @property
    def runtime(self) -> Any:
        return self.client("sagemaker-runtime")

    @property
    def s3(self) -> Any:
        return self.client("s3")

    @property
    def logs(self) -> Any:
        return self.client("logs")

    @property
    def cloudwatch(self) -> Any:
        return self.client("cloudwatch")

    @property
    def autoscaling(self) -> Any:
        return self.client("application-autoscaling")

    @property
    def sns(self) -> Any:
        return self.client("sns")

    @property
    def sdk_session(self) -> Any:
        """The SageMaker Python SDK v3 session, with the tutorial's bucket as default bucket."""
        if self._sdk_session is None:
            from sagemaker.core.helper.session_helper import Session

            self._sdk_session = Session(
                boto_session=self.boto_session,
                sagemaker_client=self.sagemaker,
                sagemaker_runtime_client=self.runtime,
                default_bucket=self.bucket,
            )
        return self._sdk_session

    # --- naming and tagging --------------------------------------------------------------------
    @property
    def tags(self) -> list[dict[str, str]]:
        """Tags on everything the tutorial creates, so notebook 08 can find and delete it."""
        return [
            {"Key": "project", "Value": PROJECT_TAG},
            {"Key": "notebook", "Value": self.notebook},
        ]

    def name(self, prefix: str) -> str:
        """A fresh resource name: ``<prefix>-<8 hex>``, valid for every SageMaker name pattern."""
        prefix = re.sub(r"[^a-zA-Z0-9-]", "-", prefix).strip("-")[:50]
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def s3_uri(self, *parts: str) -> str:
        return "s3://" + "/".join([self.bucket, *[p.strip("/") for p in parts]])

    @property
    def is_local(self) -> bool:
        return self.backend == "local"


def setup(backend: str | None = None, notebook: str = "tutorial", quiet: bool = False) -> Tutorial:
    """Select the backend, check versions, connect, and print one short block saying where.

    ``backend``: ``"local"`` (default) or ``"aws"``; ``HANDSON_BACKEND`` sets it too. AWS is only
    ever used when chosen explicitly.
    """
    backend = (backend or os.environ.get("HANDSON_BACKEND") or "local").lower()
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
    versions = check_versions()
    _put_interpreter_tools_on_path()
    if backend == "local":
        tut = _connect_local(notebook)
    else:
        from utils import aws_errors

        aws_errors.install()  # quota and permission errors explained (notebook kernels only)
        tut = _connect_aws(notebook)
    _forget_cached_sdk_clients()
    if not quiet:
        print(describe(tut, versions))
    return tut


def _put_interpreter_tools_on_path() -> None:
    """Let ``!aws ...`` cells find the CLI installed beside this kernel's Python (the venv)."""
    bin_dir = os.path.dirname(sys.executable)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")


def _forget_cached_sdk_clients() -> None:
    """Make the SDK v3 resources follow the backend just chosen.

    ``sagemaker.core`` caches one SageMaker client per process, created with the endpoint
    settings of the moment; after switching backends in the same kernel it would keep talking
    to the old one. Only reset when the SDK is already imported (importing it is slow).
    """
    sdk_utils = sys.modules.get("sagemaker.core.utils.utils")
    if sdk_utils is not None:
        sdk_utils.SageMakerClient.reset()


def check_versions() -> dict[str, str]:
    """Installed versions of what matters; raises with a fix if the serving libraries differ."""
    found = {"python": platform.python_version()}
    for dist in ("scikit-learn", "numpy", "sagemaker", "boto3"):
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[dist] = "missing"
    problems = [
        f"{dist} {found[dist]} (the AWS scikit-learn container has {want})"
        for dist, want in REQUIRED_VERSIONS.items()
        if found[dist] != want
    ]
    sdk = found["sagemaker"]
    if sdk == "missing" or tuple(int(p) for p in sdk.split(".")[:2]) < SDK_RANGE or sdk[0] != "3":
        problems.append(f"sagemaker {sdk} (this tutorial needs the SDK v3: sagemaker>=3.12,<4)")
    if sys.version_info[:2] not in SUPPORTED_PYTHONS:
        problems.append(f"Python {found['python']} (the tutorial is tested on 3.12 and 3.11)")
    if problems:
        raise RuntimeError(
            "This environment does not match the tutorial's:\n  - "
            + "\n  - ".join(problems)
            + "\nInstall the pinned versions: pip install -r requirements.txt"
        )
    return found


def describe(tut: Tutorial, versions: dict[str, str]) -> str:
    where = (
        f"local SageMaker at {tut.endpoint_url} (no AWS account, no cost)"
        if tut.is_local
        else f"AWS account {tut.account} (real resources, real cost)"
    )
    libs = ", ".join(f"{k} {v}" for k, v in versions.items())
    return "\n".join(
        [
            f"Backend : {tut.backend} — {where}",
            f"Region  : {tut.region}",
            f"Bucket  : {tut.bucket}",
            f"Role    : {tut.role}",
            f"Versions: {libs}",
        ]
    )


# --- local ----------------------------------------------------------------------------------------
#: What the tutorial starts its local SageMaker with, unless the environment says otherwise: the
#: autoscaling clock 60 times faster than AWS's (an alarm's one-minute period lasts a second, a
#: 300 s cooldown 5 s), so notebook 02 shows a scale-out and a scale-in in about a minute
#: instead of twenty. Everything else runs at AWS's pace. ``python -m utils.local_sagemaker
#: start`` on its own starts it at AWS's pace.
LOCAL_SERVER_SETTINGS = {"LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE": "60"}


def start_local_sagemaker() -> str:
    """Start the local SageMaker with :data:`LOCAL_SERVER_SETTINGS` (or reuse the running one,
    whatever it was started with) and return its URL; the environment is left as it was."""
    from utils import local_sagemaker

    added = {k: v for k, v in LOCAL_SERVER_SETTINGS.items() if k not in os.environ}
    os.environ.update(added)
    try:
        return str(local_sagemaker.ensure_running())
    finally:
        for key in added:
            os.environ.pop(key, None)


def _connect_local(notebook: str) -> Tutorial:
    import boto3

    from utils import local_sagemaker, lost_server

    was_running = local_sagemaker.is_running()
    url = start_local_sagemaker()
    notice = lost_server.restart_notice(_connected_url.get("local"), was_running, url)
    if notice:
        print(notice)
    _connected_url["local"] = url
    lost_server.install(url)  # a later stop gets one clear message, not a traceback
    env = local_sagemaker.client_environment()
    _use_local_environment({**env, **local_sagemaker.sdk_environment()})
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name=env["AWS_DEFAULT_REGION"],
    )
    tut = Tutorial(
        backend="local",
        region=env["AWS_DEFAULT_REGION"],
        account=session.client("sts").get_caller_identity()["Account"],
        bucket=LOCAL_BUCKET,
        role="",
        endpoint_url=url,
        notebook=notebook,
        boto_session=session,
    )
    tut.role = _ensure_local_role(tut.client("iam"))
    _ensure_bucket(tut.s3, tut.bucket, tut.region)
    return tut


def _use_local_environment(settings: dict[str, str]) -> None:
    """Export ``settings``, set the identity variables aside, remember the kernel's own values.

    A value that differs from the one the local backend gave is the learner's (set in the kernel
    since): it is the one to put back later.
    """
    wanted: dict[str, str | None] = dict.fromkeys(CONFLICTING_AWS_VARIABLES)
    wanted.update(settings)
    for name, value in wanted.items():
        current = os.environ.get(name)
        if name not in _local_values or current != _local_values[name]:
            _kernel_values[name] = current
        _local_values[name] = value
        _set_environment(name, value)


def _restore_kernel_environment() -> None:
    """Undo :func:`_use_local_environment` where the kernel has not changed a setting since."""
    for name, value in _kernel_values.items():
        if os.environ.get(name) == _local_values.get(name):
            _set_environment(name, value)
    _kernel_values.clear()
    _local_values.clear()


def _set_environment(name: str, value: str | None) -> None:
    if value is None:
        os.environ.pop(name, None)
    else:
        os.environ[name] = value


def _ensure_local_role(iam: Any) -> str:
    """The local execution role, made as the Studio guide has it made on AWS: trust and policy.

    The SageMaker SDK checks the role's permissions (``iam:SimulatePrincipalPolicy``) before it
    creates a model; the policy is put again each time, so a role made by an older version of
    the tutorial passes that check too.
    """
    try:
        arn: str = iam.get_role(RoleName=LOCAL_ROLE_NAME)["Role"]["Arn"]
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(
            RoleName=LOCAL_ROLE_NAME,
            AssumeRolePolicyDocument=(IAM_DIR / "execution-role-trust.json").read_text(),
            Description="Execution role for the hands-on tutorial's local SageMaker",
        )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=LOCAL_ROLE_NAME,
        PolicyName=EXECUTION_POLICY_NAME,
        PolicyDocument=(IAM_DIR / "execution-role-policy.json").read_text(),
    )
    return arn


def _ensure_bucket(s3: Any, bucket: str, region: str) -> None:
    try:
        s3.head_bucket(Bucket=bucket)
    except s3.exceptions.ClientError:
        if region == "us-east-1":
            s3.create_bucket(Bucket=bucket)
        else:
            s3.create_bucket(
                Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": region}
            )


# --- AWS ------------------------------------------------------------------------------------------
def _connect_aws(notebook: str) -> Tutorial:
    """Real SageMaker with the default credentials and region; the Studio execution role."""
    import boto3

    _restore_kernel_environment()  # a previous local run in this kernel must not leak into AWS
    for var in ("AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_S3"):
        if os.environ.get(var, "").startswith("http://127.0.0.1"):
            del os.environ[var]  # a previous local run in this kernel must not leak into AWS
    session = boto3.Session()
    if session.region_name is None:
        raise RuntimeError("No AWS region configured: set AWS_DEFAULT_REGION or run `aws configure`.")
    account = session.client("sts").get_caller_identity()["Account"]
    tut = Tutorial(
        backend="aws",
        region=session.region_name,
        account=account,
        bucket="",
        role="",
        endpoint_url=None,
        notebook=notebook,
        boto_session=session,
    )
    tut.bucket = os.environ.get("HANDSON_BUCKET") or default_bucket_name(tut.region, account)
    _ensure_bucket(tut.s3, tut.bucket, tut.region)
    tut.role = os.environ.get("HANDSON_ROLE_ARN") or _studio_execution_role(tut)
    return tut


def default_bucket_name(region: str, account: str) -> str:
    """The SageMaker SDK's default bucket name, ``sagemaker-{region}-{account}``.

    Computed here, from the account our own STS client reported, instead of asking
    ``Session.default_bucket()``: the SDK asks STS on a fixed regional address, ignoring the
    endpoint settings of the AWS profile in use. The bucket is then created like the SDK does
    when it does not exist yet (a fresh account).
    """
    return f"sagemaker-{region}-{account}"


def _studio_execution_role(tut: Tutorial) -> str:
    from sagemaker.core.helper.session_helper import get_execution_role

    try:
        return get_execution_role(tut.sdk_session)
    except ValueError as err:
        raise RuntimeError(
            "Outside SageMaker Studio, set HANDSON_ROLE_ARN to a SageMaker execution role ARN."
        ) from err
