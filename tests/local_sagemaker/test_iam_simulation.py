"""The local IAM answers ``SimulatePrincipalPolicy`` as AWS does, so the SDK's role check can run.

moto stores the roles and policies; the gateway evaluates them (``iam_simulator``). Checked with
boto3 (decisions, resources, context, missing context, unknown principals) and with the SageMaker
SDK's own role validation, which ``ModelBuilder.build()`` runs unless switched off.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from local_server import make_client

TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "sagemaker.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
INLINE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Images",
            "Effect": "Allow",
            "Action": "ecr:GetAuthorizationToken",
            "Resource": "*",
        },
        {
            "Sid": "Models",
            "Effect": "Allow",
            "Action": ["s3:GetObject"],
            "Resource": "arn:aws:s3:::models/*",
            "Condition": {"StringEquals": {"s3:ExistingObjectTag/stage": "prod"}},
        },
    ],
}
MANAGED = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}],
}


@pytest.fixture(scope="module")
def iam(local_sm: str) -> Any:
    return make_client("iam", local_sm)


@pytest.fixture(scope="module")
def role_arn(iam: Any) -> str:
    name = f"SageMakerSimRole-{uuid.uuid4().hex[:8]}"
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=json.dumps(INLINE))
    managed = iam.create_policy(PolicyName=f"no-deletes-{name}", PolicyDocument=json.dumps(MANAGED))
    iam.attach_role_policy(RoleName=name, PolicyArn=managed["Policy"]["Arn"])
    return arn


def _decisions(iam: Any, role_arn: str, actions: list[str], **kwargs: Any) -> dict[str, dict]:
    results = iam.simulate_principal_policy(PolicySourceArn=role_arn, ActionNames=actions, **kwargs)
    assert results["IsTruncated"] is False
    return {r["EvalActionName"]: r for r in results["EvaluationResults"]}


def test_allowed_implicit_and_explicit_deny(iam: Any, role_arn: str) -> None:
    found = _decisions(
        iam, role_arn, ["ecr:GetAuthorizationToken", "sagemaker:CreateModel", "s3:DeleteObject"]
    )
    assert found["ecr:GetAuthorizationToken"]["EvalDecision"] == "allowed"
    assert found["ecr:GetAuthorizationToken"]["EvalResourceName"] == "*"
    assert found["ecr:GetAuthorizationToken"]["MatchedStatements"][0]["SourcePolicyId"] == "inline"
    assert found["sagemaker:CreateModel"]["EvalDecision"] == "implicitDeny"
    assert found["s3:DeleteObject"]["EvalDecision"] == "explicitDeny"


def test_resources_and_context_entries(iam: Any, role_arn: str) -> None:
    resource = "arn:aws:s3:::models/model.tar.gz"
    without = _decisions(iam, role_arn, ["s3:GetObject"], ResourceArns=[resource])["s3:GetObject"]
    assert without["EvalDecision"] == "implicitDeny"
    assert without["MissingContextValues"] == ["s3:ExistingObjectTag/stage"]
    context = [
        {
            "ContextKeyName": "s3:ExistingObjectTag/stage",
            "ContextKeyValues": ["prod"],
            "ContextKeyType": "string",
        }
    ]
    allowed = _decisions(
        iam, role_arn, ["s3:GetObject"], ResourceArns=[resource], ContextEntries=context
    )["s3:GetObject"]
    assert allowed["EvalDecision"] == "allowed"
    assert allowed["EvalResourceName"] == resource
    elsewhere = _decisions(
        iam,
        role_arn,
        ["s3:GetObject"],
        ResourceArns=["arn:aws:s3:::other/k"],
        ContextEntries=context,
    )
    assert elsewhere["s3:GetObject"]["EvalDecision"] == "implicitDeny"


def test_an_unknown_principal_is_no_such_entity(iam: Any) -> None:
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.simulate_principal_policy(
            PolicySourceArn="arn:aws:iam::123456789012:role/nobody", ActionNames=["s3:GetObject"]
        )


def test_the_sdk_validates_a_serving_role_without_being_switched_off(
    local_sm: str, iam: Any, role_arn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import boto3
    from sagemaker.core.helper.iam_role_resolver import (
        RoleValidationError,
        resolve_and_validate_role,
    )

    from utils.local_sagemaker.wire import daemon

    env = daemon.client_environment_for(local_sm)  # the endpoint and the local key
    monkeypatch.delenv("SAGEMAKER_VALIDATE_ROLE", raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", local_sm)
    session = boto3.Session(
        aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        region_name="us-east-1",
    )

    class Session:  # what the resolver reads from a SageMaker SDK session
        boto_session = session

    assert resolve_and_validate_role(role_arn, "serving", Session()) == role_arn

    name = f"SageMakerBareRole-{uuid.uuid4().hex[:8]}"
    bare = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))["Role"]["Arn"]
    with pytest.raises(RoleValidationError, match="ecr:GetAuthorizationToken"):
        resolve_and_validate_role(bare, "serving", Session())
