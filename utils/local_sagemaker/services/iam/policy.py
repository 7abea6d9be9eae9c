"""IAM policy evaluation, as AWS's policy simulator does it for identity-based policies.

Used by the local IAM's ``SimulatePrincipalPolicy`` (so the SageMaker SDK's own role validation
runs against the local SageMaker instead of being switched off) and by the tests that check the
tutorial's least-privilege policy against the actions the notebooks call.

What it follows (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html):
an explicit ``Deny`` wins; otherwise an ``Allow`` whose ``Action``/``NotAction``,
``Resource``/``NotResource`` and every ``Condition`` match allows; otherwise the decision is
``implicitDeny``. Wildcards ``*`` and ``?`` match as in IAM (actions case-insensitively). Condition
operators: the String*, Arn*, Bool, Null and Numeric* families, ``...IfExists`` and the
``ForAnyValue:``/``ForAllValues:`` set qualifiers. A condition key missing from the context makes
its condition false (true for ``IfExists`` and ``Null: true``), and is reported as a missing
context value, as the simulator does. Policy variables, permissions boundaries, SCPs and
resource-based policies are out of scope: the tutorial uses none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

ALLOWED = "allowed"
IMPLICIT_DENY = "implicitDeny"
EXPLICIT_DENY = "explicitDeny"


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _wildcard(pattern: str, value: str, ignore_case: bool) -> bool:
    if ignore_case:
        pattern, value = pattern.lower(), value.lower()
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, flags=re.DOTALL) is not None


def action_matches(pattern: str, action: str) -> bool:
    """``s3:Get*`` matches ``s3:GetObject`` (IAM action names are case-insensitive)."""
    return _wildcard(pattern, action, ignore_case=True)


def resource_matches(pattern: str, resource: str) -> bool:
    """``arn:aws:s3:::bucket/*`` matches ``arn:aws:s3:::bucket/key`` (ARNs are case-sensitive)."""
    return _wildcard(pattern, resource, ignore_case=False)


@dataclass
class Decision:
    """The outcome for one action on one resource."""

    action: str
    resource: str
    decision: str
    matched: list[str] = field(default_factory=list)  # Sids (or indexes) of deciding statements
    missing_context: set[str] = field(default_factory=set)

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOWED


def _compare(op: str, actual: str, wanted: str) -> bool:
    base = op
    if base.startswith("String"):
        ignore = "IgnoreCase" in base
        if "Like" in base:
            result = _wildcard(wanted, actual, ignore_case=ignore)
        else:
            result = actual.lower() == wanted.lower() if ignore else actual == wanted
        return not result if "Not" in base else result
    if base.startswith("Arn"):
        result = resource_matches(wanted, actual)
        return not result if "Not" in base else result
    if base == "Bool":
        return actual.lower() == str(wanted).lower()
    if base.startswith("Numeric"):
        a, w = float(actual), float(wanted)
        return {
            "NumericEquals": a == w,
            "NumericNotEquals": a != w,
            "NumericLessThan": a < w,
            "NumericLessThanEquals": a <= w,
            "NumericGreaterThan": a > w,
            "NumericGreaterThanEquals": a >= w,
        }[base]
    raise ValueError(f"unsupported condition operator {op}")


def _condition_holds(
    operator: str, key: str, wanted: Sequence[Any], context: Mapping[str, Any], missing: set[str]
) -> bool:
    qualifier = None
    if ":" in operator:
        qualifier, operator = operator.split(":", 1)
    if_exists = operator.endswith("IfExists")
    op = operator.removesuffix("IfExists")
    present = _context_value(context, key)
    if op == "Null":
        is_null = present is None
        return any(is_null == (str(w).lower() == "true") for w in wanted)
    if present is None:
        if not if_exists:
            missing.add(key)
        return if_exists or qualifier == "ForAllValues"
    values = [str(v) for v in _as_list(present)]
    negated = "Not" in op
    if qualifier == "ForAllValues":
        return all(any(_compare(op, v, str(w)) for w in wanted) for v in values)
    if qualifier == "ForAnyValue" or not negated:
        return any(_compare(op, v, str(w)) for v in values for w in wanted)
    # a negated operator on a single value: true when it matches none of the wanted values
    return all(_compare(op, v, str(w)) for v in values for w in wanted)


def _context_value(context: Mapping[str, Any], key: str) -> Any:
    for name, value in context.items():
        if name.lower() == key.lower():
            return value
    return None


def _statement_applies(
    statement: Mapping[str, Any],
    action: str,
    resource: str,
    context: Mapping[str, Any],
    missing: set[str],
) -> bool:
    if "Action" in statement:
        if not any(action_matches(p, action) for p in _as_list(statement["Action"])):
            return False
    elif any(action_matches(p, action) for p in _as_list(statement.get("NotAction"))):
        return False
    if "Resource" in statement:
        if not any(resource_matches(p, resource) for p in _as_list(statement["Resource"])):
            return False
    elif "NotResource" in statement and any(
        resource_matches(p, resource) for p in _as_list(statement["NotResource"])
    ):
        return False
    for operator, pairs in (statement.get("Condition") or {}).items():
        for key, wanted in pairs.items():
            if not _condition_holds(operator, key, _as_list(wanted), context, missing):
                return False
    return True


def evaluate(
    policies: Iterable[Mapping[str, Any]],
    action: str,
    resource: str = "*",
    context: Mapping[str, Any] | None = None,
) -> Decision:
    """Decide ``action`` on ``resource`` under the identity ``policies`` (policy documents)."""
    context = context or {}
    missing: set[str] = set()
    allows: list[str] = []
    denies: list[str] = []
    for p_index, policy in enumerate(policies):
        for s_index, statement in enumerate(_as_list(policy.get("Statement"))):
            if _statement_applies(statement, action, resource, context, missing):
                sid = statement.get("Sid") or f"policy{p_index}.statement{s_index}"
                (denies if statement.get("Effect") == "Deny" else allows).append(sid)
    if denies:
        return Decision(action, resource, EXPLICIT_DENY, denies, missing)
    if allows:
        return Decision(action, resource, ALLOWED, allows, missing)
    return Decision(action, resource, IMPLICIT_DENY, [], missing)


def granted_action_patterns(policies: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every ``Action`` pattern of every ``Allow`` statement (for "grants nothing unused")."""
    return [
        pattern
        for policy in policies
        for statement in _as_list(policy.get("Statement"))
        if statement.get("Effect") == "Allow"
        for pattern in _as_list(statement.get("Action"))
    ]
