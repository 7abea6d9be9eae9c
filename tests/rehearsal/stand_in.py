"""A stand-in AWS account for the AWS rehearsal: the local SageMaker, reached the way AWS is.

The notebooks run with ``HANDSON_BACKEND=aws``, so ``setup("aws")`` and every AWS branch of the
helpers run unchanged. What makes the account a stand-in is only how it is reached: an AWS
config profile whose ``endpoint_url`` points at a local SageMaker (botocore honours it per
profile; ``setup("aws")`` clears the ``AWS_ENDPOINT_URL*`` variables, never a profile), with the
account's key in a credentials file (the server's own key: it accepts only requests signed with it). Nothing else in the kernel's environment says
"local": no ``AWS_ENDPOINT_URL``, no ``SAGEMAKER_VALIDATE_ROLE``, no telemetry opt-out.

It presents a fresh account: no tutorial bucket (``setup`` creates the SDK's default one), an
execution role created from the repository's ``iam/`` files as the Studio guide says, and found
through ``HANDSON_ROLE_ARN`` as outside Studio. Every request is recorded
(``LOCAL_SAGEMAKER_CALL_LOG``), so the tests can list the actions the notebooks call. Any attempt
to reach a real AWS address fails at once: HTTPS goes to a closed local proxy port.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import psutil
from botocore.config import Config

from utils.local_sagemaker.core.credentials import LocalCredentials

ROOT = Path(__file__).resolve().parents[2]
IAM_DIR = ROOT / "iam"
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
#: Where the executed copies are saved, to read what the AWS path printed.
EXECUTED = ROOT / "build" / "rehearsal"
CELL_TIMEOUT_S = 900
#: Notebook 00 once more, as in a Studio space (the role from Studio's metadata file).
STUDIO_RUN = "00_start_here-as-in-studio.ipynb"
PROFILE = "handson-rehearsal"
REGION = "us-east-1"
ROLE_NAME = "handson-sagemaker-execution-role"
#: How the stand-in's administrator (who creates the execution role before the lesson) names its
#: client (``app/<id>`` in the User-Agent), so its calls are not counted as the learner's.
ADMIN_APP_ID = "handson-rehearsal-admin"
#: A port nothing listens on: HTTPS to a real AWS address fails immediately through it.
CLOSED_PROXY = "http://127.0.0.1:9"


#: Notebooks rehearsed in accounts of their own, beside the shared one. Each account's notebooks
#: run one after another, so the longest account is the rehearsal's duration. Measured in the
#: three accounts side by side (2-core machine, beside other runs, load 13): 02 164 s, 03 133 s,
#: 04 81 s, 05 71 s, 06 92 s, 07 105 s, 09 107 s, 00 twice and 01 51 s together. 02 then 04;
#: 03, 05 then 06; and the rest make three accounts that take about as long as each other.
#: (02 and 05 once spent minutes each waiting at AWS's polling pace: see ``run_stand_in``.)
OWN_ACCOUNTS = (
    ("02_real_time_inference.ipynb", "04_serverless_inference.ipynb"),
    ("03_batch_inference.ipynb", "05_asynchronous_inference.ipynb", "06_compare_and_choose.ipynb"),
)
CLEANUP_NOTEBOOK = "08_cleanup.ipynb"


def account_plans() -> list[list[str]]:
    """Which runs go to which account, in the order each account runs them.

    Every notebook appears exactly once (the Studio run of 00 as well, right after 00); a
    notebook added to the course joins the shared account by its number, before the clean-up,
    which runs last there so it still finds and cleans what the notebooks before it left.
    """
    names = [path.name for path in NOTEBOOKS]
    own = [[name for name in plan if name in names] for plan in OWN_ACCOUNTS]
    taken = {name for plan in own for name in plan}
    shared = [name for name in names if name not in taken and name != CLEANUP_NOTEBOOK]
    shared.insert(shared.index(NOTEBOOKS[0].name) + 1, STUDIO_RUN)
    if CLEANUP_NOTEBOOK in names:
        shared.append(CLEANUP_NOTEBOOK)
    return [plan for plan in own if plan] + [shared]


@dataclass(frozen=True)
class StandIn:
    url: str
    folder: Path
    call_log: Path
    role_arn: str

    def kernel_environment(self) -> dict[str, str]:
        """The environment a learner's kernel would have with this account configured."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("AWS_", "HANDSON_", "SAGEMAKER_", "LOCAL_SAGEMAKER_"))
        }
        env.update(
            {
                "AWS_CONFIG_FILE": str(self.folder / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(self.folder / "credentials"),
                "AWS_PROFILE": PROFILE,
                "HANDSON_BACKEND": "aws",
                "HANDSON_ROLE_ARN": self.role_arn,
                # notebook 08 asks before deleting; nobody can answer in a rehearsal
                "HANDSON_CONFIRM_DELETE": "yes",
                # no instance-metadata probing: this is no EC2 instance
                "AWS_EC2_METADATA_DISABLED": "true",
                "HTTPS_PROXY": CLOSED_PROXY,
                "https_proxy": CLOSED_PROXY,
                "NO_PROXY": "127.0.0.1,localhost",
                "no_proxy": "127.0.0.1,localhost",
                # `!python -m utils.local_sagemaker ...` in notebook 00 finds this server
                "LOCAL_SAGEMAKER_STATE_DIR": str(self.folder / "server"),
                # the notebook's files (artifacts, code folders) apart from the local run's:
                # `make test` may run the same notebook under nbval at the same time
                "HANDSON_BUILD_DIR": str(self.folder / "build"),
            }
        )
        return env

    def studio_kernel_environment(self) -> dict[str, str]:
        """The same account seen from a Studio space: no ``HANDSON_ROLE_ARN``; the role comes
        from Studio's metadata file through the SDK's ``get_execution_role()``.

        The SDK reads the file at a fixed path (``/opt/ml/metadata/resource-metadata.json``);
        an IPython start-up file of the rehearsal's own points the SDK at a copy in the stand-in's
        folder, so nothing is written outside it. The copy carries ``ExecutionRoleArn``, the
        first thing the SDK looks for. UNCONFIRMED: whether every Studio space's file has that
        key; without it the SDK asks DescribeUserProfile/DescribeDomain, which the local
        SageMaker does not serve (it has no Studio domains), so that branch is not rehearsed.
        """
        metadata = self.folder / "resource-metadata.json"
        metadata.write_text(
            json.dumps(
                {
                    "AppType": "JupyterLab",
                    "DomainId": "d-handsonrehearsal",
                    "SpaceName": "handson",
                    "ResourceName": "handson",
                    "ResourceArn": f"arn:aws:sagemaker:{REGION}:123456789012:app/"
                    "d-handsonrehearsal/handson/JupyterLab/default",
                    "ExecutionRoleArn": self.role_arn,
                }
            )
        )
        startup = self.folder / "ipython" / "profile_default" / "startup"
        startup.mkdir(parents=True, exist_ok=True)
        (startup / "00-studio-metadata.py").write_text(
            "import sagemaker.core.helper.session_helper as _session_helper\n"
            f"_session_helper.NOTEBOOK_METADATA_FILE = {str(metadata)!r}\n"
        )
        env = self.kernel_environment()
        del env["HANDSON_ROLE_ARN"]
        env["IPYTHONDIR"] = str(self.folder / "ipython")
        return env


def _write_profile(folder: Path, url: str, key: LocalCredentials) -> None:
    """What ``aws configure`` would write, plus the profile's ``endpoint_url``."""
    (folder / "config").write_text(
        f"[profile {PROFILE}]\nregion = {REGION}\nendpoint_url = {url}\noutput = json\n"
    )
    credentials = folder / "credentials"
    credentials.write_text(
        f"[{PROFILE}]\naws_access_key_id = {key.access_key_id}\n"
        f"aws_secret_access_key = {key.secret_access_key}\n"
    )
    credentials.chmod(0o600)


def _create_execution_role(url: str, key: LocalCredentials) -> str:
    """What the Studio guide has an administrator do: the role, its trust and its policy."""
    iam = boto3.client(
        "iam",
        endpoint_url=url,
        region_name=REGION,
        aws_access_key_id=key.access_key_id,
        aws_secret_access_key=key.secret_access_key,
        config=Config(user_agent_appid=ADMIN_APP_ID),
    )
    arn = iam.create_role(
        RoleName=ROLE_NAME,
        AssumeRolePolicyDocument=(IAM_DIR / "execution-role-trust.json").read_text(),
        Description="Execution role for the hands-on SageMaker inference tutorial",
    )["Role"]["Arn"]
    iam.put_role_policy(
        RoleName=ROLE_NAME,
        PolicyName="handson-sagemaker-inference-execution",
        PolicyDocument=(IAM_DIR / "execution-role-policy.json").read_text(),
    )
    return arn


def run_stand_in(folder: Path) -> Iterator[StandIn]:
    """Start the stand-in account's server, yield it, stop it and check nothing is left.

    The ``LOCAL_SAGEMAKER_*`` settings are in this process's environment only while the server
    starts and stops: the tests that run meanwhile keep reaching their own local SageMaker.
    """
    from utils.local_sagemaker.core.credentials import load_or_create
    from utils.local_sagemaker.wire import daemon

    server_dir = folder / "server"
    settings = {
        "LOCAL_SAGEMAKER_STATE_DIR": str(server_dir),
        "LOCAL_SAGEMAKER_PORT": "0",
        "LOCAL_SAGEMAKER_CALL_LOG": str(folder / "calls.jsonl"),
        # Notebook 02's load test waits for a real-time scale-out and scale-in: at AWS's pace
        # that takes half an hour; the stand-in's autoscaling clock runs 60 times faster, as the
        # local run's does. The AWS code path asks a server on this machine for that pace
        # (utils.autoscaling.autoscaling_pace) and polls it at most every quarter of a second
        # (utils.polling), as the local run does: the stand-in waits for what the server does,
        # never for AWS's polling intervals (02 holding its load two one-minute alarm periods
        # and polling every 15 s, 05 waking from zero, each clean-up 10 s).
        "LOCAL_SAGEMAKER_AUTOSCALING_TIME_SCALE": "60",
    }
    with _environment(settings):
        url = daemon.ensure_running()
    # the account's key: the server's own, as a learner's is the account's
    key = load_or_create(server_dir)
    _write_profile(folder, url, key)
    stand_in = StandIn(url, folder, folder / "calls.jsonl", _create_execution_role(url, key))
    try:
        yield stand_in
    finally:
        with _environment(settings):
            state = daemon.status()
            tree = []
            if state is not None:
                root = psutil.Process(state["pid"])
                tree = [root, *root.children(recursive=True)]
            daemon.stop()
        _, alive = psutil.wait_procs(tree, timeout=10)
        assert alive == [], f"processes left after stop: {alive}"


@contextlib.contextmanager
def _environment(settings: dict[str, str]) -> Iterator[None]:
    saved = {key: os.environ.get(key) for key in settings}
    os.environ.update(settings)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def learner_calls(stand_in: StandIn) -> list[dict]:
    """The recorded calls the notebooks made (not the administrator's nor the service's own)."""
    from utils.local_sagemaker.wire.call_log import read

    return [c for c in read(stand_in.call_log) if c.get("app") is None]


def service_calls(stand_in: StandIn) -> list[dict]:
    """The recorded calls the local SageMaker made itself (for the execution role's policy)."""
    from utils.local_sagemaker.core.settings import SERVICE_APP_ID
    from utils.local_sagemaker.wire.call_log import read

    return [c for c in read(stand_in.call_log) if c.get("app") == SERVICE_APP_ID]


def load_policy(name: str) -> dict:
    return json.loads((IAM_DIR / name).read_text())
