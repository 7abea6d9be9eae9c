"""``SimulatePrincipalPolicy``: a principal's identity policies, read from the local IAM, evaluated.

moto stores roles, users and their policies; this reads a principal's inline and attached
policies through an IAM client and evaluates them (:mod:`.policy`) for each action and resource
asked, as AWS's policy simulator does for identity policies
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from .policy import Decision, evaluate


class NoSuchPrincipal(LookupError):
    """The ``PolicySourceArn`` names no role or user of the local IAM."""


@dataclass(frozen=True)
class SimulationResult:
    """One action on one resource, with the policies whose statements decided it."""

    decision: Decision
    policy_names: list[str]


def _document(value: Any) -> dict[str, Any]:
    """boto3 decodes policy documents to dicts; some paths return URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    decoded: dict[str, Any] = json.loads(unquote(str(value)))
    return decoded


def principal_policies(iam: Any, arn: str) -> list[tuple[str, dict[str, Any]]]:
    """(policy name, document) of every identity policy of a role or user."""
    kind, _, path = arn.split(":", 5)[-1].partition("/")
    name = path.rsplit("/", 1)[-1]
    if kind == "role":
        key, inline_list, inline_get, attached = (
            "RoleName",
            iam.list_role_policies,
            iam.get_role_policy,
            iam.list_attached_role_policies,
        )
    elif kind == "user":
        key, inline_list, inline_get, attached = (
            "UserName",
            iam.list_user_policies,
            iam.get_user_policy,
            iam.list_attached_user_policies,
        )
    else:
        raise NoSuchPrincipal(arn)
    try:
        names = inline_list(**{key: name})["PolicyNames"]
    except iam.exceptions.NoSuchEntityException as missing:
        raise NoSuchPrincipal(arn) from missing
    policies = [
        (n, _document(inline_get(**{key: name, "PolicyName": n})["PolicyDocument"]))
        for n in names
    ]
    for item in attached(**{key: name})["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)
        policies.append((item["PolicyName"], _document(document["PolicyVersion"]["Document"])))
    return policies


def simulate(
    iam: Any,
    principal_arn: str,
    actions: Sequence[str],
    resources: Sequence[str],
    context: Mapping[str, Any],
) -> list[SimulationResult]:
    """Every action on every resource (``["*"]`` when none is named), in that order."""
    policies = principal_policies(iam, principal_arn)
    results = []
    for action in actions:
        for resource in resources or ["*"]:
            decision = evaluate([doc for _, doc in policies], action, resource, context)
            deciding = [
                name
                for name, doc in policies
                if decision.matched
                and evaluate([doc], action, resource, context).decision == decision.decision
            ]
            results.append(SimulationResult(decision, deciding))
    return results
