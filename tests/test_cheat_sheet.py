"""docs/cheat-sheet.md: every AWS CLI command is one the CLI accepts, with parameters the API
accepts; every boto3 call names a real operation and parameters; every SDK v3 call uses keyword
arguments the installed SDK has; every limit and price agrees with the models and the price table.

The CLI forms go through the installed AWS CLI's own parser (shorthand, JSON and fileb:// values
included) and botocore's parameter validation, exactly what `aws` does before sending a request.
"""

import argparse
import inspect
import re
import shlex
from pathlib import Path

import botocore.session
import pytest
from botocore.validate import validate_parameters

from utils.pricing import PriceTable

ROOT = Path(__file__).resolve().parents[1]
TEXT = (ROOT / "docs" / "cheat-sheet.md").read_text(encoding="utf-8")
BOTO = botocore.session.get_session()

# boto3 client variables the cheat sheet uses, and their services.
CLIENTS = {"sm": "sagemaker", "rt": "sagemaker-runtime", "aas": "application-autoscaling",
           "s3": "s3", "cw": "cloudwatch"}
# Values for the shell variables the CLI forms use, so that validation sees realistic strings.
SHELL_VALUES = {
    "$ROLE": "arn:aws:iam::123456789012:role/handson-sagemaker-execution-role",
    "$IMAGE": "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.4-2-py312-cpu-py3",
    "$WAKE_POLICY_ARN": "arn:aws:autoscaling:us-east-1:123456789012:scalingPolicy:1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d:resource/sagemaker/endpoint/loan-async/variant/AllTraffic:policyName/wake-from-zero",
}


def _cli_commands() -> list[str]:
    commands = []
    for block in re.findall(r"```bash\n(.*?)```", TEXT, flags=re.S):
        for command in block.replace("\\\n", " ").splitlines():
            if command.strip().startswith("aws "):
                commands.append(" ".join(command.split()))
    return commands


def _inline_code() -> list[str]:
    return re.findall(r"`([^`\n]+)`", TEXT)

def _argument_list(code: str, opening: int) -> str:
    """The text between the bracket at `opening` and its matching closing bracket."""
    depth = 0
    for index in range(opening, len(code)):
        depth += {"(": 1, ")": -1}.get(code[index], 0)
        if depth == 0:
            return code[opening + 1:index]
    raise AssertionError(f"unbalanced brackets in {code!r}")


def _strip_nested(args: str) -> str:
    """Drop everything inside brackets, so only top-level keyword names remain."""
    depth, kept = 0, []
    for char in args:
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif depth == 0:
            kept.append(char)
    return "".join(kept)

@pytest.fixture(scope="module")
def cli():
    from awscli.clidriver import create_clidriver

    driver = create_clidriver()
    return driver, driver._get_command_table(), driver._get_argument_table()


def test_the_sheet_has_cli_forms_for_every_mode():
    services = {c.split()[1] + " " + c.split()[2] for c in _cli_commands()}
    for needed in ("sagemaker create-endpoint-config", "sagemaker-runtime invoke-endpoint",
                   "sagemaker-runtime invoke-endpoint-async", "sagemaker create-transform-job",
                   "application-autoscaling register-scalable-target"):
        assert needed in services


@pytest.mark.parametrize("command", _cli_commands())
def test_cli_command_is_accepted_by_the_cli(command, cli, tmp_path, monkeypatch):
    _driver, commands, global_args = cli
    for variable, value in SHELL_VALUES.items():
        command = command.replace(variable, value)
    assert "$" not in command.replace("$[", ""), f"give {command.split('$')[1][:20]} a value in SHELL_VALUES"
    tokens = shlex.split(command)[1:]
    # global options (--query, --output, ...) belong to the driver, not the operation
    kept, skip = [], False
    for token in tokens:
        if skip:
            skip = False
            continue
        if token.startswith("--") and token[2:] in global_args:
            skip = global_args[token[2:]].nargs != 0 if hasattr(global_args[token[2:]], "nargs") else True
            continue
        kept.append(token)
    service, operation, *args = kept
    assert service in commands, f"no such CLI service: {service}"
    if service == "s3":  # the high-level s3 commands take paths, not API parameters
        assert operation in commands[service].subcommand_table
        return
    operations = commands[service]._get_command_table()
    assert operation in operations, f"aws {service} has no command {operation}"
    op = operations[operation]
    if operation == "wait":
        waiter, *args = args
        op = op.subcommand_table[waiter]
    for path in re.findall(r"fileb?://(\S+)", " ".join(args)):
        (tmp_path / path).write_text("0")
    monkeypatch.chdir(tmp_path)
    parser = op._create_operation_parser(op.arg_table)
    parsed, unknown = parser.parse_known_args(args)
    assert not unknown, f"{service} {operation} does not take {unknown}"
    if operation in {"create-transform-job", "create-endpoint-config", "create-model",
                     "invoke-endpoint", "invoke-endpoint-async", "put-scaling-policy",
                     "register-scalable-target", "put-metric-alarm", "update-endpoint"}:
        params = op._build_call_parameters(parsed, op.arg_table, argparse.Namespace(region="us-east-1"))
        validate_parameters(params, op._operation_model.input_shape)


def _boto3_calls() -> list[tuple[str, str, str]]:
    calls = []
    for code in _inline_code():
        for match in re.finditer(r"\b(sm|rt|aas|s3|cw)\.(\w+)\(", code):
            calls.append((match.group(1), match.group(2), _argument_list(code, match.end() - 1)))
    return calls


def test_the_sheet_has_boto3_forms():
    assert len(_boto3_calls()) >= 15


@pytest.mark.parametrize(("var", "method", "args"), _boto3_calls())
def test_boto3_call_names_a_real_operation_and_parameters(var, method, args):
    model = BOTO.get_service_model(CLIENTS[var])
    names = {BOTO.create_client(CLIENTS[var], region_name="us-east-1").meta.method_to_api_mapping.get(method)}
    if method == "get_waiter":
        waiter = re.match(r'"(\w+)"', args).group(1)
        assert waiter in BOTO.get_waiter_model(CLIENTS[var]).waiter_names or \
            waiter in [_snake(w) for w in BOTO.get_waiter_model(CLIENTS[var]).waiter_names]
        return
    (operation,) = names
    assert operation, f"{CLIENTS[var]} has no method {method}"
    members = model.operation_model(operation).input_shape.members
    top_level = re.findall(r"(?:^|,\s*)(\w+)=", _strip_nested(args))
    for name in top_level:
        assert name in members, f"{method} has no parameter {name}"




def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()




@pytest.fixture(scope="module")
def sdk(monkeypatch_module):
    from utils.sdk import quiet_sdk_logging

    quiet_sdk_logging()
    from sagemaker.core.inference_config import AsyncInferenceConfig, ServerlessInferenceConfig
    from sagemaker.core.resources import Endpoint, EndpointConfig, Model, TransformJob
    from sagemaker.core.transformer import Transformer
    from sagemaker.serve import ModelBuilder

    return {
        "ModelBuilder": ModelBuilder, "mb.build": ModelBuilder.build, "mb.deploy": ModelBuilder.deploy,
        "ServerlessInferenceConfig": ServerlessInferenceConfig,
        "AsyncInferenceConfig": AsyncInferenceConfig, "Transformer": Transformer,
        "tr.transform": Transformer.transform, "ep.wait_for_status": Endpoint.wait_for_status,
        "Endpoint.get": Endpoint.get, ".invoke": Endpoint.invoke, ".invoke_async": Endpoint.invoke_async,
        "latest_transform_job.wait": TransformJob.wait, "ep.delete": Endpoint.delete,
        "EndpointConfig.get": EndpointConfig.get, "Model.get": Model.get,
    }


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as mp:
        # importing the SDK creates boto3 clients: give it a region and no metadata lookups
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        yield mp


def test_sdk_v3_calls_use_real_keyword_arguments(sdk):
    checked = set()
    for code in _inline_code():
        # Name(...) or a.b(...), keeping the whole argument list with its nested brackets
        for match in re.finditer(r"([A-Za-z_][\w.]*)\(", code):
            call = match.group(1)
            if match.start() and code[match.start() - 1] == ".":
                call = "." + call  # a method called on an expression: Endpoint.get(e).invoke(...)
            key = next((k for k in sdk
                        if call == k or call.endswith(k if k.startswith(".") else "." + k)), None)
            if key is None:
                continue
            args = _argument_list(code, match.end() - 1)
            accepted = set(inspect.signature(sdk[key]).parameters)
            for name in re.findall(r"(?:^|,\s*)(\w+)=", _strip_nested(args)):
                assert name in accepted, f"{call}() has no keyword {name}"
            checked.add(key)
    assert checked == set(sdk), f"not used in the sheet: {set(sdk) - checked}"


def test_limits_agree_with_the_botocore_models():
    runtime = BOTO.get_service_model("sagemaker-runtime")
    invoke = runtime.operation_model("InvokeEndpoint").input_shape.members["Body"].metadata["max"]
    async_body = runtime.operation_model("InvokeEndpointAsync").input_shape.members["Body"].metadata["max"]
    assert f"6 MB ({invoke:,} bytes)" in TEXT
    assert f"at most {async_body:,} bytes" in TEXT
    sm = BOTO.get_service_model("sagemaker")
    serverless = sm.shape_for("ProductionVariantServerlessConfig").members
    assert serverless["MaxConcurrency"].metadata["max"] == 200 and "1–200 per endpoint" in TEXT
    assert f"{serverless['MemorySizeInMB'].metadata['min']}, 2048" in TEXT
    variants = sm.shape_for("ProductionVariantList").metadata
    assert f"| {variants['min']}–{variants['max']} |" in TEXT


def test_prices_agree_with_the_price_table():
    table = PriceTable.load()
    hourly = table.instance_hourly("ml.m5.large", "us-east-1", "realtime")
    assert table.as_of in TEXT
    assert f"${hourly:g} per instance-hour = ${hourly * 730:.2f} per month" in TEXT
    assert f"${table.serverless_gb_second('us-east-1'):g} per GB-second".replace("2e-05", "0.00002") in TEXT
