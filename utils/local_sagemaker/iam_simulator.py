"""The local IAM's ``SimulatePrincipalPolicy``: moto stores roles and policies, this evaluates them.

moto does not implement the call (its IAM answers a bare 500), so the SageMaker SDK's role
validation (``ModelBuilder.build()`` simulates the execution role's permissions) could only be
switched off. Here the call is answered as AWS answers it: the principal's inline and attached
identity policies are read from the local IAM and evaluated by :mod:`.iam_policy` for every
action and resource asked, with the given context entries, in IAM's query protocol (XML).
API: https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
"""

from __future__ import annotations

import json
import uuid
from typing import Any
from urllib.parse import unquote
from xml.sax.saxutils import escape

from .iam_policy import evaluate

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"


def _members(form: dict[str, list[str]], prefix: str) -> list[str]:
    """``Prefix.member.1``, ``Prefix.member.2``, ... in order."""
    found = []
    index = 1
    while f"{prefix}.member.{index}" in form:
        found.append(form[f"{prefix}.member.{index}"][0])
        index += 1
    return found


def _context(form: dict[str, list[str]]) -> dict[str, list[str]]:
    context: dict[str, list[str]] = {}
    index = 1
    while f"ContextEntries.member.{index}.ContextKeyName" in form:
        key = form[f"ContextEntries.member.{index}.ContextKeyName"][0]
        context[key] = _members(form, f"ContextEntries.member.{index}.ContextKeyValues")
        index += 1
    return context


def _error(code: str, message: str, status: int) -> tuple[int, list[tuple[str, str]], bytes]:
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, [("Content-Type", "text/xml")], body.encode()


def _document(value: Any) -> dict[str, Any]:
    """boto3 decodes policy documents to dicts; some paths return URL-encoded JSON text."""
    return value if isinstance(value, dict) else json.loads(unquote(value))


def principal_policies(iam: Any, arn: str) -> list[tuple[str, dict[str, Any]]] | None:
    """(policy name, document) of every identity policy of a role or user; None if unknown."""
    kind, _, name = arn.split(":", 5)[-1].partition("/")
    name = name.rsplit("/", 1)[-1]
    if kind not in ("role", "user"):
        return None
    inline_list, inline_get, attached = (
        (iam.list_role_policies, iam.get_role_policy, iam.list_attached_role_policies)
        if kind == "role"
        else (iam.list_user_policies, iam.get_user_policy, iam.list_attached_user_policies)
    )
    key = "RoleName" if kind == "role" else "UserName"
    try:
        names = inline_list(**{key: name})["PolicyNames"]
    except iam.exceptions.NoSuchEntityException:
        return None
    policies = [
        (n, _document(inline_get(**{key: name, "PolicyName": n})["PolicyDocument"])) for n in names
    ]
    for item in attached(**{key: name})["AttachedPolicies"]:
        version = iam.get_policy(PolicyArn=item["PolicyArn"])["Policy"]["DefaultVersionId"]
        document = iam.get_policy_version(PolicyArn=item["PolicyArn"], VersionId=version)
        policies.append((item["PolicyName"], _document(document["PolicyVersion"]["Document"])))
    return policies


def handle(iam: Any, form: dict[str, list[str]]) -> tuple[int, list[tuple[str, str]], bytes]:
    """Answer one ``SimulatePrincipalPolicy`` request (``form``: its parsed query parameters)."""
    source = (form.get("PolicySourceArn") or [""])[0]
    actions = _members(form, "ActionNames")
    if not source or not actions:
        missing = "PolicySourceArn" if not source else "ActionNames"
        return _error(
            "ValidationError",
            f"1 validation error detected: Value null at '{missing}' "
            "failed to satisfy constraint: Member must not be null",
            400,
        )
    policies = principal_policies(iam, source)
    if policies is None:
        return _error("NoSuchEntity", f"The principal {source} cannot be found.", 404)
    resources = _members(form, "ResourceArns") or ["*"]
    context = _context(form)
    members = []
    for action in actions:
        for resource in resources:
            decision = evaluate([doc for _, doc in policies], action, resource, context)
            matched = "".join(
                f"<member><SourcePolicyId>{escape(name)}</SourcePolicyId>"
                "<SourcePolicyType>IAM Policy</SourcePolicyType></member>"
                for name, doc in policies
                if evaluate([doc], action, resource, context).decision == decision.decision
                and decision.matched
            )
            missing = "".join(
                f"<member>{escape(k)}</member>" for k in sorted(decision.missing_context)
            )
            members.append(
                f"<member><EvalActionName>{escape(action)}</EvalActionName>"
                f"<EvalResourceName>{escape(resource)}</EvalResourceName>"
                f"<EvalDecision>{decision.decision}</EvalDecision>"
                f"<MatchedStatements>{matched}</MatchedStatements>"
                f"<MissingContextValues>{missing}</MissingContextValues></member>"
            )
    body = (
        f'<SimulatePrincipalPolicyResponse xmlns="{NAMESPACE}"><SimulatePrincipalPolicyResult>'
        f"<IsTruncated>false</IsTruncated><EvaluationResults>{''.join(members)}</EvaluationResults>"
        "</SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
    return 200, [("Content-Type", "text/xml")], body.encode()
