"""The local IAM's ``SimulatePrincipalPolicy`` in IAM's query protocol (form in, XML out).

moto does not implement the call (its IAM answers a bare 500), so the SageMaker SDK's role
validation (``ModelBuilder.build()`` simulates the execution role's permissions) could only be
switched off. The gateway routes the call here; the evaluation is
:mod:`utils.local_sagemaker.services.iam.simulation`'s.
API: https://docs.aws.amazon.com/IAM/latest/APIReference/API_SimulatePrincipalPolicy.html
"""

from __future__ import annotations

import uuid
from typing import Any
from xml.sax.saxutils import escape

from ..services.iam.simulation import NoSuchPrincipal, simulate

NAMESPACE = "https://iam.amazonaws.com/doc/2010-05-08/"
Answer = tuple[int, list[tuple[str, str]], bytes]


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


def _error(code: str, message: str, status: int) -> Answer:
    body = (
        f'<ErrorResponse xmlns="{NAMESPACE}"><Error><Type>Sender</Type><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )
    return status, [("Content-Type", "text/xml")], body.encode()


def simulate_principal_policy(iam: Any, form: dict[str, list[str]]) -> Answer:
    """Answer one ``SimulatePrincipalPolicy`` request (``form``: its parsed query parameters)."""
    source = (form.get("PolicySourceArn") or [""])[0]
    actions = _members(form, "ActionNames")
    if not source or not actions:
        missing = "PolicySourceArn" if not source else "ActionNames"
        return _error(
            "ValidationError",
            f"1 validation error detected: Value null at '{missing}' failed to satisfy "
            "constraint: Member must not be null",
            400,
        )
    try:
        results = simulate(iam, source, actions, _members(form, "ResourceArns"), _context(form))
    except NoSuchPrincipal:
        return _error("NoSuchEntity", f"The principal {source} cannot be found.", 404)
    members = []
    for result in results:
        decision = result.decision
        matched = "".join(
            f"<member><SourcePolicyId>{escape(name)}</SourcePolicyId>"
            "<SourcePolicyType>IAM Policy</SourcePolicyType></member>"
            for name in result.policy_names
        )
        missing = "".join(
            f"<member>{escape(key)}</member>" for key in sorted(decision.missing_context)
        )
        members.append(
            f"<member><EvalActionName>{escape(decision.action)}</EvalActionName>"
            f"<EvalResourceName>{escape(decision.resource)}</EvalResourceName>"
            f"<EvalDecision>{decision.decision}</EvalDecision>"
            f"<MatchedStatements>{matched}</MatchedStatements>"
            f"<MissingContextValues>{missing}</MissingContextValues></member>"
        )
    body = (
        f'<SimulatePrincipalPolicyResponse xmlns="{NAMESPACE}"><SimulatePrincipalPolicyResult>'
        f"<IsTruncated>false</IsTruncated><EvaluationResults>{''.join(members)}"
        "</EvaluationResults></SimulatePrincipalPolicyResult>"
        f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
        "</SimulatePrincipalPolicyResponse>"
    )
    return 200, [("Content-Type", "text/xml")], body.encode()
