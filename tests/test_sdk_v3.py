"""The SageMaker Python SDK v3, unmodified, against a running local SageMaker.

Also the fourth packaging style (the other three are in ``tests/local_sagemaker/test_packaging.py``):
``ModelBuilder`` with the learner's own inference script (``SourceCode``), which the SDK repacks
into the model archive, and ``preflight --model`` on the model ``build()`` created.

The flow a learner runs in notebook 02: ``ModelBuilder`` build + deploy (``wait=False``),
``Endpoint.wait_for_status`` with a short poll, ``Endpoint.get(...).invoke(...)``, delete. The
session's local SageMaker (a temporary state folder on a free port) is reached only through the
standard AWS settings that ``setup()`` exports, as in a notebook. Checked along the way: the
offline settings take effect (no telemetry, no connection leaves 127.0.0.1), the SDK's own role
check runs against the local IAM, the SDK's pydantic models accept every describe response, the
prediction is the model's own, and everything is gone afterwards.
"""

from __future__ import annotations

import io
import json
import logging
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import pytest

from utils.artifact import SERVING_ENVIRONMENT, TARGET_CONTAINER, package_model
from utils.data import generate_applications, to_csv_rows
from utils.model import TrainingResult

ROOT = Path(__file__).resolve().parents[1]
INSTANCE_TYPE = "ml.m5.large"


@pytest.fixture(scope="module")
def tut(local_sm: str) -> Iterator[Any]:
    """``setup()`` on the session's local SageMaker; the environment is restored afterwards."""
    from utils.session import setup

    saved = dict(os.environ)
    _reset_sdk_clients()
    try:
        yield setup(notebook="test-sdk-v3", quiet=True)
    finally:
        _reset_sdk_clients()
        os.environ.clear()
        os.environ.update(saved)


def _reset_sdk_clients() -> None:
    """Forget the SDK's process-wide cached clients (they remember the endpoint URL)."""
    if "sagemaker.core.utils.utils" in sys.modules:
        sys.modules["sagemaker.core.utils.utils"].SageMakerClient.reset()


@pytest.fixture(scope="module")
def model_data_url(tut: Any, trained: TrainingResult, tmp_path_factory) -> str:
    archive = package_model(trained.pipeline, tmp_path_factory.mktemp("sdk-artifact"))
    key = "test-sdk-v3/model.tar.gz"
    tut.s3.upload_file(str(archive), tut.bucket, key)
    return tut.s3_uri(key)


class _Recorder:
    """Records every botocore API call and every outgoing TCP connection while active."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []
        self.connections: list[Any] = []

    def __enter__(self) -> _Recorder:
        from botocore.client import BaseClient

        self._original_call = BaseClient._make_api_call
        self._original_connect = socket.create_connection
        recorder = self

        def make_api_call(client: Any, operation: str, params: dict) -> Any:
            recorder.calls.append((client.meta.service_model.service_name, operation))
            return recorder._original_call(client, operation, params)

        def create_connection(address: Any, *args: Any, **kwargs: Any) -> Any:
            recorder.connections.append(address)
            return recorder._original_connect(address, *args, **kwargs)

        BaseClient._make_api_call = make_api_call
        socket.create_connection = create_connection
        return self

    def __exit__(self, *exc: Any) -> None:
        from botocore.client import BaseClient

        BaseClient._make_api_call = self._original_call
        socket.create_connection = self._original_connect


def test_offline_settings_are_in_place(tut: Any) -> None:
    assert "SAGEMAKER_VALIDATE_ROLE" not in os.environ  # the role check runs, as on AWS
    config = Path(os.environ["SAGEMAKER_USER_CONFIG_OVERRIDE"])
    assert "TelemetryOptOut: true" in config.read_text()
    from sagemaker.core.common_utils import resolve_value_from_config
    from sagemaker.core.config.config_schema import TELEMETRY_OPT_OUT_PATH

    assert resolve_value_from_config(
        config_path=TELEMETRY_OPT_OUT_PATH, sagemaker_session=tut.sdk_session
    ) is True


def test_model_builder_deploy_invoke_delete(
    tut: Any, model_data_url: str, trained: TrainingResult
) -> None:
    from utils.sdk import quiet_sdk_logging

    quiet_sdk_logging()
    from sagemaker.core import image_uris
    from sagemaker.core.resources import Endpoint
    from sagemaker.serve import ModelBuilder

    image_uri = image_uris.retrieve(
        "sklearn", tut.region, version="1.4-2-py312", image_scope="inference",
        instance_type=INSTANCE_TYPE,
    )
    assert image_uri.endswith("/" + TARGET_CONTAINER["image"])
    model_name, endpoint_name = tut.name("sdk-model"), tut.name("sdk-endpoint")
    sm = tut.sagemaker

    with _Recorder() as seen:
        builder = ModelBuilder(
            image_uri=image_uri,
            s3_model_data_url=model_data_url,
            role_arn=tut.role,
            env_vars=SERVING_ENVIRONMENT,  # where the handlers are, as notebook 02 passes them
            sagemaker_session=tut.sdk_session,
            instance_type=INSTANCE_TYPE,
        )
        model = builder.build(model_name=model_name, tags=tut.tags)
        started = time.monotonic()
        endpoint = builder.deploy(
            endpoint_name=endpoint_name,
            initial_instance_count=1,
            instance_type=INSTANCE_TYPE,
            wait=False,
        )
        deploy_seconds = time.monotonic() - started
        endpoint.wait_for_status("InService", poll=1, timeout=120)
        body = to_csv_rows(generate_applications(3, seed=1))
        answer = Endpoint.get(endpoint_name).invoke(
            body=body, content_type="text/csv", accept="application/json"
        )
        payload = json.loads(answer.body.read())

    # build() created the model the learner asked for: image, archive, role, tags.
    assert model.model_name == model_name
    described_model = sm.describe_model(ModelName=model_name)
    assert described_model["PrimaryContainer"]["Image"] == image_uri
    assert described_model["PrimaryContainer"]["ModelDataUrl"] == model_data_url
    assert described_model["ExecutionRoleArn"] == tut.role
    model_tags = sm.list_tags(ResourceArn=described_model["ModelArn"])["Tags"]
    assert {"Key": "notebook", "Value": "test-sdk-v3"} in model_tags

    # deploy(wait=False) returned without the SDK's 30 s poll; the short wait saw InService.
    assert deploy_seconds < 20
    assert endpoint.endpoint_status == "InService"
    described = sm.describe_endpoint(EndpointName=endpoint_name)
    assert described["EndpointStatus"] == "InService"
    # build(tags=...) tags what deploy() creates too, so a forgotten endpoint can be found.
    endpoint_tags = sm.list_tags(ResourceArn=described["EndpointArn"])["Tags"]
    assert {"Key": "notebook", "Value": "test-sdk-v3"} in endpoint_tags
    assert described["ProductionVariants"][0]["CurrentInstanceCount"] == 1

    # A real prediction: the same probabilities as the pipeline in this process.
    frame = generate_applications(3, seed=1)
    expected = [round(float(p), 4) for p in trained.probability_of_default(frame)]
    assert answer.content_type == "application/json"
    assert answer.invoked_production_variant == "AllTraffic"
    assert [p["probability_of_default"] for p in payload["predictions"]] == expected

    # Which calls the SDK made: SageMaker, its role check, the account id; nothing off this machine.
    services = {service for service, _ in seen.calls}
    assert services <= {"sagemaker", "sagemaker-runtime", "s3", "iam", "sts"}, seen.calls
    assert ("iam", "SimulatePrincipalPolicy") in seen.calls
    assert ("sagemaker", "CreateModel") in seen.calls
    assert ("sagemaker", "CreateEndpointConfig") in seen.calls
    assert ("sagemaker", "CreateEndpoint") in seen.calls
    hosts = {address[0] for address in seen.connections}
    assert hosts <= {"127.0.0.1", "localhost"}, hosts

    # Delete with the SDK's resources; the endpoint, its config and the model are gone.
    config_name = endpoint.endpoint_config_name
    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=60)
    sm.delete_endpoint_config(EndpointConfigName=config_name)
    model.delete()
    assert endpoint_name not in [e["EndpointName"] for e in sm.list_endpoints()["Endpoints"]]
    for call, kwargs in (
        (sm.describe_endpoint, {"EndpointName": endpoint_name}),
        (sm.describe_endpoint_config, {"EndpointConfigName": config_name}),
        (sm.describe_model, {"ModelName": model_name}),
    ):
        with pytest.raises(sm.exceptions.ClientError, match="Could not find"):
            call(**kwargs)


def test_quiet_sdk_logging_keeps_the_root_logger_unconfigured() -> None:
    """Importing sagemaker.serve calls logging.basicConfig(INFO); quiet_sdk_logging prevents it."""
    script = (
        "import logging\n"
        "from utils.sdk import quiet_sdk_logging\n"
        "quiet_sdk_logging()\n"
        "from sagemaker.serve import ModelBuilder\n"
        "root = logging.getLogger()\n"
        "print(len(root.handlers), logging.getLevelName(root.level))\n"
        "logging.getLogger('botocore.test').info('this must not be printed')\n"
    )
    env = {
        **os.environ,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ACCESS_KEY_ID": "x",
        "AWS_SECRET_ACCESS_KEY": "x",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=120, check=True,
    )
    assert done.stdout.split() == ["0", "WARNING"]
    assert "INFO" not in done.stderr, done.stderr


def test_without_quiet_sdk_logging_the_import_turns_info_logging_on() -> None:
    """The quirk itself, so we notice when a new SDK fixes it and the helper can go."""
    script = (
        "import logging\n"
        "import sagemaker.serve\n"
        "print(logging.getLevelName(logging.getLogger().level))\n"
    )
    env = {**os.environ, "AWS_EC2_METADATA_DISABLED": "true"}
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, env=env,
        timeout=120, check=True,
    )
    assert done.stdout.strip() == logging.getLevelName(logging.INFO)


# --- the fourth packaging style: ModelBuilder with your own inference script --------------------

#: The learner's own script, under a name of their own, importing a module beside it.
OWN_SCRIPT = '''
import os

import joblib
from features import read_rows


def model_fn(model_dir):
    return joblib.load(os.path.join(model_dir, "risk_model.joblib"))


def input_fn(body, content_type):
    if content_type != "text/csv":
        raise ValueError(f"cannot read {content_type!r}: send text/csv")
    return read_rows(body)


def predict_fn(data, model):
    return model.predict_proba(data)[:, 1]


def output_fn(prediction, accept):
    return ",".join(f"{p:.4f}" for p in prediction), "text/csv"
'''

FEATURES = '''
import numpy as np


def read_rows(body):
    text = body.decode() if isinstance(body, (bytes, bytearray)) else body
    return np.array([line.split(",") for line in text.splitlines() if line], dtype="float64")
'''


def _build_own_script(tut: Any, model_url: str, name: str, source_code: Any) -> Any:
    from sagemaker.core import image_uris
    from sagemaker.serve import ModelBuilder

    image_uri = image_uris.retrieve(
        "sklearn", tut.region, version="1.4-2-py312", image_scope="inference",
        instance_type=INSTANCE_TYPE,
    )
    builder = ModelBuilder(
        image_uri=image_uri, s3_model_data_url=model_url, role_arn=tut.role,
        source_code=source_code, sagemaker_session=tut.sdk_session, instance_type=INSTANCE_TYPE,
    )
    builder.build(model_name=name, tags=tut.tags)
    return builder


def _s3_bytes(tut: Any, url: str) -> bytes:
    from utils.local_sagemaker.core.s3_uri import split_s3_uri

    bucket, key = split_s3_uri(url)
    return tut.s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def test_model_builder_with_your_own_script(tut: Any, tmp_path: Path, capsys: Any) -> None:
    """``ModelBuilder(image_uri=<scikit-learn image>, s3_model_data_url=..., source_code=
    SourceCode(source_dir=..., entry_script=...))``: the SDK repacks the model with the folder as
    ``code/`` into ``s3://<default bucket>/<model name>/model.tar.gz`` and sets the script-mode
    Environment; the container imports the script from there. Preflight reads the built model."""
    import tarfile

    from sagemaker.core.training.configs import SourceCode

    from utils.artifact import write_archive
    from utils.local_sagemaker.wire.cli import main
    from utils.own_model import MODEL_FILE, csv_rows, train_risk_model
    from utils.sdk import quiet_sdk_logging

    quiet_sdk_logging()
    risk = train_risk_model(seed=0)
    buffer = io.BytesIO()
    joblib.dump(risk.forest, buffer)
    original = write_archive(tmp_path / "model.tar.gz", {MODEL_FILE: buffer.getvalue()})
    tut.s3.upload_file(str(original), tut.bucket, "test-sdk-v3/own/model.tar.gz")
    model_url = tut.s3_uri("test-sdk-v3/own/model.tar.gz")
    source = tmp_path / "my_code"
    source.mkdir()
    (source / "serve.py").write_text(OWN_SCRIPT)
    (source / "features.py").write_text(FEATURES)
    model_name, endpoint_name = tut.name("sdk-own"), tut.name("sdk-own")
    sm = tut.sagemaker

    with _Recorder() as seen:
        builder = _build_own_script(
            tut, model_url, model_name, SourceCode(source_dir=str(source), entry_script="serve.py")
        )
    # CreateModel: the repacked archive under the model's name, the script named by its own name.
    container = sm.describe_model(ModelName=model_name)["PrimaryContainer"]
    repacked = f"s3://{tut.bucket}/{model_name}/model.tar.gz"
    assert container["ModelDataUrl"] == repacked
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "serve.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
        "SAGEMAKER_CONTAINER_LOG_LEVEL": "20",
        "SAGEMAKER_REGION": tut.region,
    }
    assert ("s3", "PutObject") in seen.calls or ("s3", "CreateMultipartUpload") in seen.calls
    with tarfile.open(fileobj=io.BytesIO(_s3_bytes(tut, repacked))) as tar:
        files = sorted(m.name for m in tar.getmembers() if m.isfile())
    assert files == ["code/features.py", "code/serve.py", MODEL_FILE]
    assert _s3_bytes(tut, model_url) == original.read_bytes()  # the learner's archive untouched

    # Preflight the built model before paying for an endpoint: the model's own settings.
    sample = tmp_path / "rows.csv"
    applications = generate_applications(2, seed=3)
    sample.write_text(csv_rows(applications))
    status = main(["preflight", "--model", model_name, "--sample", str(sample),
                   "--content-type", "text/csv"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"Preflight of model {model_name} ({repacked})" in out
    assert "code/serve.py is where the container looks" in out

    endpoint = builder.deploy(
        endpoint_name=endpoint_name, initial_instance_count=1, instance_type=INSTANCE_TYPE,
        wait=False,
    )
    endpoint.wait_for_status("InService", poll=1, timeout=120)
    answer = tut.runtime.invoke_endpoint(
        EndpointName=endpoint_name, ContentType="text/csv", Body=csv_rows(applications)
    )
    expected = risk.forest.predict_proba(applications[risk.columns].to_numpy(dtype="float64"))
    assert answer["Body"].read().decode() == ",".join(f"{p:.4f}" for p in expected[:, 1])

    config_name = endpoint.endpoint_config_name
    endpoint.delete()
    endpoint.wait_for_delete(poll=1, timeout=60)
    sm.delete_endpoint_config(EndpointConfigName=config_name)
    sm.delete_model(ModelName=model_name)
    for key in (f"{model_name}/model.tar.gz", "test-sdk-v3/own/model.tar.gz"):
        tut.s3.delete_object(Bucket=tut.bucket, Key=key)


def test_an_entry_script_without_source_dir_is_dropped_and_preflight_says_so(
    tut: Any, trained: TrainingResult, model_data_url: str, caplog: Any, capsys: Any
) -> None:
    """``SourceCode(entry_script=...)`` alone: the SDK warns and creates the model without the
    script (no SAGEMAKER_PROGRAM), which fails the ping on AWS; preflight --model catches it."""
    from sagemaker.core.training.configs import SourceCode

    from utils.local_sagemaker.wire.cli import main

    name = tut.name("sdk-nosrc")
    with caplog.at_level(logging.WARNING):
        _build_own_script(tut, model_data_url, name, SourceCode(entry_script="serve.py"))
    assert "source_code was provided without a source_dir" in caplog.text
    container = tut.sagemaker.describe_model(ModelName=name)["PrimaryContainer"]
    assert container["ModelDataUrl"] == model_data_url
    assert "SAGEMAKER_PROGRAM" not in container.get("Environment", {})
    assert main(["preflight", "--model", name]) == 1
    out = capsys.readouterr().out
    assert "the model's Environment has no SAGEMAKER_PROGRAM" in out
    words = " ".join(out.split())
    assert "did not pass the ping health check" in words
    assert "SourceCode(source_dir=..., entry_script=...)" in words
    tut.sagemaker.delete_model(ModelName=name)

    assert main(["preflight", "--model", name]) == 1
    assert f"cannot describe model {name}" in capsys.readouterr().err
    assert main(["preflight", "--model", name, "--image", "x"]) == 2
    assert main(["preflight", "model.tar.gz", "--model", name]) == 2
