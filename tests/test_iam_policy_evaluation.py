"""The IAM policy evaluator behind the local ``SimulatePrincipalPolicy`` and the policy tests."""

from __future__ import annotations

from utils.local_sagemaker.services.iam.policy import (
    ALLOWED,
    EXPLICIT_DENY,
    IMPLICIT_DENY,
    action_matches,
    evaluate,
    granted_action_patterns,
)

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "Objects",
            "Effect": "Allow",
            "Action": "s3:Get*",
            "Resource": "arn:aws:s3:::sagemaker-*/*",
        },
        {
            "Sid": "TaggedCreate",
            "Effect": "Allow",
            "Action": ["sagemaker:CreateEndpoint"],
            "Resource": "arn:aws:sagemaker:*:*:endpoint/*",
            "Condition": {"StringEquals": {"aws:RequestTag/project": "handson"}},
        },
        {"Sid": "NoDeletes", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"},
        {"Sid": "All", "Effect": "Allow", "NotAction": "iam:*", "Resource": "arn:aws:sns:*:*:a-*"},
    ],
}


def test_actions_match_case_insensitively_with_wildcards() -> None:
    assert action_matches("s3:Get*", "s3:GetObject")
    assert action_matches("S3:getobject", "s3:GetObject")
    assert action_matches("sagemaker:Describe?ndpoint", "sagemaker:DescribeEndpoint")
    assert not action_matches("s3:Get*", "s3:PutObject")


def test_allow_needs_action_and_resource_to_match() -> None:
    assert evaluate([POLICY], "s3:GetObject", "arn:aws:s3:::sagemaker-x/k").decision == ALLOWED
    assert evaluate([POLICY], "s3:GetObject", "arn:aws:s3:::other/k").decision == IMPLICIT_DENY
    # ARNs are case-sensitive
    assert (
        evaluate([POLICY], "s3:GetObject", "arn:aws:s3:::SageMaker-x/k").decision == IMPLICIT_DENY
    )


def test_an_explicit_deny_wins() -> None:
    policies = [POLICY, {"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}]
    decision = evaluate(policies, "s3:DeleteObject", "arn:aws:s3:::sagemaker-x/k")
    assert decision.decision == EXPLICIT_DENY
    assert decision.matched == ["NoDeletes"]


def test_conditions_use_the_context_and_report_missing_keys() -> None:
    endpoint = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/e"
    ok = evaluate(
        [POLICY], "sagemaker:CreateEndpoint", endpoint, {"aws:RequestTag/project": "handson"}
    )
    assert ok.allowed
    wrong = evaluate(
        [POLICY], "sagemaker:CreateEndpoint", endpoint, {"aws:RequestTag/project": "x"}
    )
    assert wrong.decision == IMPLICIT_DENY
    missing = evaluate([POLICY], "sagemaker:CreateEndpoint", endpoint)
    assert missing.decision == IMPLICIT_DENY
    assert missing.missing_context == {"aws:RequestTag/project"}


def test_operators_if_exists_null_and_set_qualifiers() -> None:
    def allowed(condition: dict, context: dict) -> bool:
        policy = {
            "Statement": [
                {"Effect": "Allow", "Action": "*", "Resource": "*", "Condition": condition}
            ]
        }
        return evaluate([policy], "s3:GetObject", "*", context).allowed

    assert allowed({"StringEqualsIfExists": {"k": "v"}}, {})
    assert not allowed({"StringEqualsIfExists": {"k": "v"}}, {"k": "w"})
    assert allowed({"Null": {"k": "true"}}, {})
    assert not allowed({"Null": {"k": "true"}}, {"k": "v"})
    assert allowed({"StringLike": {"k": "loan-*"}}, {"k": "loan-1"})
    assert allowed({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "c"})
    assert not allowed({"StringNotEquals": {"k": ["a", "b"]}}, {"k": "a"})
    assert allowed(
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["project", "notebook"]}},
        {"aws:TagKeys": ["project"]},
    )
    assert not allowed(
        {"ForAllValues:StringEquals": {"aws:TagKeys": ["project"]}},
        {"aws:TagKeys": ["project", "owner"]},
    )
    assert allowed(
        {"ForAnyValue:StringEquals": {"aws:TagKeys": ["project"]}},
        {"aws:TagKeys": ["owner", "project"]},
    )
    assert allowed({"NumericLessThanEquals": {"n": "3"}}, {"n": "2"})
    assert allowed({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"})
    assert allowed(
        {"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:*:a-*"}},
        {"aws:SourceArn": "arn:aws:sns:us-east-1:1:a-b"},
    )


def test_not_action_allows_everything_else() -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:a-topic"
    assert evaluate([POLICY], "sns:Publish", topic).allowed
    assert not evaluate([POLICY], "iam:PassRole", topic).allowed


def test_granted_action_patterns_lists_allow_statements_only() -> None:
    assert granted_action_patterns([POLICY]) == ["s3:Get*", "sagemaker:CreateEndpoint"]
