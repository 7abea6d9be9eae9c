"""README's shell route: ``eval "$(python -m utils.local_sagemaker env)"`` and nothing else.

A bash shell with a fresh home (no ``~/.aws``, no AWS variables) evaluates the ``env`` output,
creates an execution role from the repository's ``iam/`` files and a bucket with the AWS CLI, as
a learner would on a new account, then runs the SageMaker SDK v3 as it comes:
``ModelBuilder.build()`` (which validates the role with ``iam:SimulatePrincipalPolicy``: no
``SAGEMAKER_VALIDATE_ROLE`` here), ``deploy()``, an invocation and the clean-up. That the role
check really ran shows in the SDK refusing a role without a permissions policy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from utils.artifact import SERVING_ENVIRONMENT, TARGET_CONTAINER
from utils.data import generate_applications, to_csv_rows
from utils.model import TrainingResult

ROOT = Path(__file__).resolve().parents[2]

SDK_SCRIPT = """
import json, sys
from sagemaker.core.helper.iam_role_resolver import RoleValidationError
from sagemaker.core.resources import Endpoint
from sagemaker.serve import ModelBuilder

role, bare_role, model_url, image, environment, body = sys.argv[1:7]
builder = ModelBuilder(
    image_uri=image, s3_model_data_url=model_url, role_arn=role,
    env_vars=json.loads(environment), instance_type="ml.m5.large",
)
model = builder.build(model_name="shell-model")
endpoint = builder.deploy(
    endpoint_name="shell-endpoint", initial_instance_count=1, instance_type="ml.m5.large",
    wait=False,
)
endpoint.wait_for_status("InService", poll=1, timeout=300)
answer = Endpoint.get("shell-endpoint").invoke(
    body=body, content_type="text/csv", accept="application/json"
)
predictions = json.loads(answer.body.read())["predictions"]
config = endpoint.endpoint_config_name
endpoint.delete()
endpoint.wait_for_delete(poll=1, timeout=120)
import boto3
boto3.client("sagemaker").delete_endpoint_config(EndpointConfigName=config)
model.delete()
try:
    ModelBuilder(
        image_uri=image, s3_model_data_url=model_url, role_arn=bare_role,
        instance_type="ml.m5.large",
    ).build(model_name="shell-model-bare")
    refused = None
except RoleValidationError as error:
    refused = str(error)
print(); print("RESULT", json.dumps({"predictions": predictions, "refused": refused}))
"""

SHELL = """
set -euo pipefail
eval "$(python -m utils.local_sagemaker env)"
aws iam create-role --role-name shell-role \\
    --assume-role-policy-document file://iam/execution-role-trust.json >/dev/null
aws iam put-role-policy --role-name shell-role --policy-name tutorial \\
    --policy-document file://iam/execution-role-policy.json
aws iam create-role --role-name shell-bare-role \\
    --assume-role-policy-document file://iam/execution-role-trust.json >/dev/null
aws s3 mb s3://sagemaker-shell-route >/dev/null
aws s3 cp "$ARTIFACT" s3://sagemaker-shell-route/model.tar.gz >/dev/null
account=$(aws sts get-caller-identity --query Account --output text)
python "$SCRIPT" "arn:aws:iam::$account:role/shell-role" \\
    "arn:aws:iam::$account:role/shell-bare-role" \\
    s3://sagemaker-shell-route/model.tar.gz "$IMAGE" "$ENVIRONMENT" "$BODY"
"""


def test_the_sdk_v3_runs_from_a_shell_with_only_the_env_output(
    local_sm: str, artifact_path: Path, trained: TrainingResult, tmp_path: Path
) -> None:
    script = tmp_path / "deploy.py"
    script.write_text(textwrap.dedent(SDK_SCRIPT))
    frame = generate_applications(3, seed=1)
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": os.pathsep.join([venv_bin, "/usr/bin", "/bin"]),
        "HOME": str(tmp_path / "home"),  # a fresh user: no ~/.aws, no SDK config
        "LOCAL_SAGEMAKER_STATE_DIR": os.environ["LOCAL_SAGEMAKER_STATE_DIR"],  # the session's
        "ARTIFACT": str(artifact_path),
        "SCRIPT": str(script),
        "IMAGE": f"683313688378.dkr.ecr.us-east-1.amazonaws.com/{TARGET_CONTAINER['image']}",
        "ENVIRONMENT": json.dumps(SERVING_ENVIRONMENT),
        "BODY": to_csv_rows(frame),
    }
    (tmp_path / "home").mkdir()
    done = subprocess.run(
        ["bash", "-c", SHELL], capture_output=True, text=True, env=env, cwd=ROOT, timeout=600
    )
    assert done.returncode == 0, done.stderr[-4000:]
    [line] = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    result = json.loads(line.removeprefix("RESULT "))

    expected = [round(float(p), 4) for p in trained.probability_of_default(frame)]
    assert [p["probability_of_default"] for p in result["predictions"]] == expected
    # the SDK's own role check ran, against the local IAM, and refused a role with no policy
    assert result["refused"] is not None and "ecr:GetAuthorizationToken" in result["refused"]
