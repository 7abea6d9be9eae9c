"""Control-plane conformance with plain boto3: shapes, status sequences, errors, waiters."""

from __future__ import annotations

from typing import Any

import botocore.exceptions
import pytest

from .conftest import ROLE, deploy, unique, wait_status

ACCOUNT = "123456789012"


def error_of(excinfo: pytest.ExceptionInfo[Any]) -> tuple[str, str, int]:
    response = excinfo.value.response
    return (
        response["Error"]["Code"],
        response["Error"]["Message"],
        response["ResponseMetadata"]["HTTPStatusCode"],
    )


def test_model_lifecycle(sm: Any, model_urls: dict[str, str]) -> None:
    name = unique("Model")
    arn = sm.create_model(
        ModelName=name,
        PrimaryContainer={
            "Image": "img",
            "ModelDataUrl": model_urls["default"],
            "Environment": {"A": "1"},
        },
        ExecutionRoleArn=ROLE,
        Tags=[{"Key": "project", "Value": "tests"}],
    )["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{name.lower()}"
    described = sm.describe_model(ModelName=name)
    assert described["ModelName"] == name
    assert described["PrimaryContainer"]["Environment"] == {"A": "1"}
    assert described["ExecutionRoleArn"] == ROLE
    assert "CreationTime" in described
    assert name in [m["ModelName"] for m in sm.list_models(NameContains=name)["Models"]]

    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_model(ModelName=name.upper(), PrimaryContainer={"Image": "img"})
    assert error_of(excinfo) == (
        "ValidationException",
        f'Cannot create already existing model "{arn}".',
        400,
    )
    sm.delete_model(ModelName=name)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.describe_model(ModelName=name)
    assert error_of(excinfo)[1] == f'Could not find model "{arn}".'


def test_endpoint_config_errors(sm: Any, model_urls: dict[str, str]) -> None:
    missing = unique("missing")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint_config(
            EndpointConfigName=unique("cfg"),
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": missing,
                    "InstanceType": "ml.m5.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    assert error_of(excinfo) == (
        "ValidationException",
        f'Could not find model "arn:aws:sagemaker:us-east-1:{ACCOUNT}:model/{missing}".',
        400,
    )
    name = unique("cfg")
    sm.create_model(
        ModelName=name, PrimaryContainer={"Image": "img", "ModelDataUrl": model_urls["default"]}
    )
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": name,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    arn = sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])[
        "EndpointConfigArn"
    ]
    described = sm.describe_endpoint_config(EndpointConfigName=name)
    assert described["EndpointConfigArn"] == arn
    assert described["ProductionVariants"][0]["InitialVariantWeight"] == 1.0
    assert name in [c["EndpointConfigName"] for c in sm.list_endpoint_configs()["EndpointConfigs"]]
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[variant])
    assert error_of(excinfo)[1] == f'Cannot create already existing endpoint configuration "{arn}".'
    sm.delete_endpoint_config(EndpointConfigName=name)
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.describe_endpoint_config(EndpointConfigName=name)
    assert error_of(excinfo)[1] == f'Could not find endpoint configuration "{arn}".'


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (
            {"EndpointName": "a_b", "EndpointConfigName": "cfg"},
            "1 validation error detected: Value 'a_b' at 'endpointName' failed to satisfy "
            "constraint: Member must satisfy regular expression pattern: "
            "^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        (
            {"EndpointName": "x" * 64, "EndpointConfigName": "cfg"},
            f"2 validation errors detected: Value '{'x' * 64}' at 'endpointName' failed to "
            "satisfy constraint: Member must have length less than or equal to 63; Value "
            f"'{'x' * 64}' at 'endpointName' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
    ],
)
def test_name_validation(sm: Any, call: dict[str, str], message: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint(**call)
    assert error_of(excinfo) == ("ValidationException", message, 400)


def test_enum_and_range_validation(sm: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint_config(
            EndpointConfigName="cfg",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "ServerlessConfig": {"MemorySizeInMB": 8192, "MaxConcurrency": 500},
                }
            ],
        )
    code, message, status = error_of(excinfo)
    assert (code, status) == ("ValidationException", 400)
    assert message.startswith("2 validation errors detected: ")
    assert (
        "Value '8192' at 'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed to "
        "satisfy constraint: Member must have value less than or equal to 6144" in message
    )
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint_config(
            EndpointConfigName="cfg",
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": "m",
                    "InstanceType": "ml.fake.large",
                    "InitialInstanceCount": 1,
                }
            ],
        )
    assert (
        "at 'productionVariants.1.member.instanceType' failed to satisfy constraint: Member must satisfy enum value set: ["
        in error_of(excinfo)[1]
    )


def test_unknown_endpoint_and_config(sm: Any) -> None:
    name = unique("nope")
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.describe_endpoint(EndpointName=name)
    assert error_of(excinfo) == (
        "ValidationException",
        f'Could not find endpoint "arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name}".',
        400,
    )
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint(EndpointName=name, EndpointConfigName=name)
    assert error_of(excinfo)[1] == (
        f'Could not find endpoint configuration "arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint-config/{name}".'
    )


def test_endpoint_lifecycle(sm: Any, model_urls: dict[str, str], runtime: Any) -> None:
    name = deploy(sm, model_urls["default"], name=unique("Life"))
    first = sm.describe_endpoint(EndpointName=name)
    assert first["EndpointStatus"] == "Creating"
    assert first["EndpointArn"] == f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/{name.lower()}"
    sm.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600}
    )
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "InService"
    variant = described["ProductionVariants"][0]
    assert variant["VariantName"] == "AllTraffic"
    assert variant["CurrentInstanceCount"] == variant["DesiredInstanceCount"] == 1
    assert described["LastModifiedTime"] >= described["CreationTime"]
    listed = sm.list_endpoints(NameContains=name, StatusEquals="InService")["Endpoints"]
    assert [e["EndpointName"] for e in listed] == [name]

    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.create_endpoint(EndpointName=name.lower(), EndpointConfigName=name)
    assert (
        error_of(excinfo)[1]
        == f'Cannot create already existing endpoint "{described["EndpointArn"]}".'
    )

    # UpdateEndpoint: Updating -> InService, new fleet before the old one stops
    new_cfg = unique("cfg2")
    sm.create_endpoint_config(
        EndpointConfigName=new_cfg,
        ProductionVariants=[
            {
                "VariantName": "Blue",
                "ModelName": name,
                "InstanceType": "ml.c5.large",
                "InitialInstanceCount": 1,
            }
        ],
    )
    sm.update_endpoint(EndpointName=name, EndpointConfigName=new_cfg)
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    served = runtime.invoke_endpoint(EndpointName=name, ContentType="text/csv", Body="1,1\n3,3")
    # The old fleet serves until the new one has passed its health checks; a forked worker can
    # pass them within this request, so what serves is read after it: traffic moves with the
    # variants DescribeEndpoint lists (one switch), and while the old one is still listed it
    # must have answered.
    serving = [v["VariantName"] for v in sm.describe_endpoint(EndpointName=name)["ProductionVariants"]]
    assert served["InvokedProductionVariant"] in ("AllTraffic", "Blue")
    if serving == ["AllTraffic"]:
        assert served["InvokedProductionVariant"] == "AllTraffic"  # the old fleet still serves
    updated = wait_status(sm, name, {"InService", "Failed"})
    assert updated["EndpointStatus"] == "InService"
    assert updated["EndpointConfigName"] == new_cfg
    assert [v["VariantName"] for v in updated["ProductionVariants"]] == ["Blue"]

    # UpdateEndpointWeightsAndCapacities: scale out to 2
    sm.update_endpoint_weights_and_capacities(
        EndpointName=name,
        DesiredWeightsAndCapacities=[{"VariantName": "Blue", "DesiredInstanceCount": 2}],
    )
    assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Updating"
    scaled = wait_status(sm, name, {"InService"})
    assert scaled["ProductionVariants"][0]["CurrentInstanceCount"] == 2

    sm.delete_endpoint(EndpointName=name)
    # Deleting lasts as long as stopping the instances: a forked worker stops in milliseconds,
    # so the endpoint may already be gone when DescribeEndpoint asks.
    try:
        assert sm.describe_endpoint(EndpointName=name)["EndpointStatus"] == "Deleting"
    except botocore.exceptions.ClientError as gone:
        assert gone.response["Error"]["Code"] == "ValidationException", gone.response
    sm.get_waiter("endpoint_deleted").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 300}
    )
    with pytest.raises(botocore.exceptions.ClientError):
        sm.describe_endpoint(EndpointName=name)


def test_broken_model_fn_fails_ping(sm: Any, model_urls: dict[str, str]) -> None:
    name = deploy(sm, model_urls["broken"])
    with pytest.raises(botocore.exceptions.WaiterError):
        sm.get_waiter("endpoint_in_service").wait(
            EndpointName=name, WaiterConfig={"Delay": 0.1, "MaxAttempts": 600}
        )
    described = sm.describe_endpoint(EndpointName=name)
    assert described["EndpointStatus"] == "Failed"
    assert described["FailureReason"] == (
        "The primary container for production variant AllTraffic did not pass the ping health "
        "check. Please check CloudWatch logs for this endpoint."
    )
    sm.delete_endpoint(EndpointName=name)


def test_missing_model_data_fails(sm: Any) -> None:
    name = deploy(sm, "s3://local-sagemaker-tests/does/not/exist.tar.gz")
    described = wait_status(sm, name, {"Failed", "InService"})
    assert described["EndpointStatus"] == "Failed"
    # AWS's FailureReason for this case starts with a space.
    assert described["FailureReason"] == (
        ' Failed to download model data for container "container_1" from URL: '
        '"s3://local-sagemaker-tests/does/not/exist.tar.gz". Please ensure that there is an '
        "object located at the URL and that the role passed to CreateModel has permissions to "
        "download the object."
    )


def test_tags(sm: Any, model_urls: dict[str, str]) -> None:
    name = unique("tagged")
    arn = sm.create_model(
        ModelName=name, PrimaryContainer={"Image": "img"}, Tags=[{"Key": "a", "Value": "1"}]
    )["ModelArn"]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "b", "Value": "2"}, {"Key": "a", "Value": "3"}])
    assert sorted((t["Key"], t["Value"]) for t in sm.list_tags(ResourceArn=arn)["Tags"]) == [
        ("a", "3"),
        ("b", "2"),
    ]
    sm.delete_tags(ResourceArn=arn, TagKeys=["a"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]


def test_unimplemented_operation_is_an_error_not_moto(sm: Any) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as excinfo:
        sm.list_training_jobs()
    assert error_of(excinfo)[0] == "UnknownOperationException"
