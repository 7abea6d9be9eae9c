"""The AWS services around SageMaker (moto's), saved and restored: S3, IAM, CloudWatch Logs and
metrics, SNS, SQS, Application Auto Scaling.

moto keeps everything in memory and nothing on disk. What it holds is **read** through the AWS
APIs (boto3 on the gateway's own URL, as every service of the local SageMaker reaches moto) and
**restored** through the same AWS API calls a client makes (CreateBucket, PutObject, CreateRole,
PutLogEvents, PutMetricData, ...), so moto's own validation and bookkeeping run as they did the
first time. Three reads go to moto's backend objects in-process instead, each for a reason:

* CloudWatch metric data points: the API has no lossless read (GetMetricData and
  GetMetricStatistics aggregate per period); the backend's ``metric_data`` list is what
  PutMetricData stored, value by value;
* CloudWatch Logs events: the backend's streams are read directly so that a save costs no HTTP
  round trip per page of events while endpoints log on every request; only groups whose streams
  changed are read again;
* SQS messages: ReceiveMessage would hide them from their consumer for the visibility timeout
  and count a receive; the backend's ``messages`` (visible, not delayed) are read without that.

What is not kept is written next to each reader (and in ``docs/fidelity.md``): ids, ARNs with
random parts and creation times that AWS would keep are new after a restart.
"""

from __future__ import annotations

import contextlib
import hashlib
import urllib.parse
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from ...core.settings import ACCOUNT_ID, REGION
from ..scaling.registrations import ALARM_PREFIX
from .growing_json import GrowingJsonArray, encode
from .store import StateStore, atomic_write

#: The parts, in the order they are restored (queues before the topics that deliver to them,
#: scaling policies before the alarms that name them).
PARTS = ("iam", "s3", "sqs", "sns", "application-autoscaling", "cloudwatch")

#: Log groups are saved one file each under this folder (a group changes alone).
LOGS_PREFIX = "logs/group-"

#: S3 object bodies, one file per distinct content (named by its SHA-256).
BLOBS = "s3-objects"

ClientFactory = Callable[[str], Any]


@dataclass(frozen=True)
class BucketChange:
    """An S3 request that may have changed ``bucket`` (None: it is not known which, so any):
    its objects, and unless ``objects_only`` the bucket itself (its tags, policy, versioning, or
    whether it exists; a request on a key changes none of them).

    Kept in the saver's one record of changes (:class:`.persistence.Persistence`) and given to
    the ``s3`` part's next save, which reads again only the buckets named: while a transform
    job writes its outputs, a save lists one bucket, not all.
    """

    bucket: str | None
    objects_only: bool = False
    part: ClassVar[str] = "s3"


@dataclass(frozen=True)
class AlarmsChange:
    """A CloudWatch call that may have changed the alarms (any but PutMetricData, which the
    metrics publisher sends every second while endpoints are invoked): the ``cloudwatch``
    part's next save reads them again (DescribeAlarms); a save for new metric data alone does
    not."""

    part: ClassVar[str] = "cloudwatch"


#: The one :class:`AlarmsChange`.
ALARMS = AlarmsChange()

#: A change narrower than a whole part, given to that part's save (:meth:`AwsServices.save`).
Change = BucketChange | AlarmsChange


def _pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    for page in client.get_paginator(operation).paginate(**params):
        yield from page.get(key, [])


def _each(
    items: Iterable[Any], what: str, notes: list[str], restore: Callable[[Any], None]
) -> None:
    """Restore each item on its own: one that AWS refuses is noted, the rest still come back."""
    for item in items:
        try:
            restore(item)
        except Exception as exc:  # an API error on one item must not lose the others
            notes.append(f"{what} {_label(item)} could not be restored: {exc}")


def _label(item: Any) -> str:
    if isinstance(item, dict):
        for key in ("name", "RoleName", "PolicyName", "Key", "TopicArn", "QueueName", "ResourceId"):
            if key in item:
                return repr(item[key])
    return ""


class AwsServices:
    """Saves and restores what moto holds for the local account."""

    def __init__(self, client: ClientFactory, store: StateStore) -> None:
        self.client = client
        self.store = store
        #: (bucket, key) -> the saved entry of an object already in a blob, to skip re-reading it.
        self._objects: dict[tuple[str, str], dict[str, Any]] = {}
        #: Bucket -> its record as last saved (a save not given a :class:`BucketChange` for it
        #: writes this again).
        self._buckets: dict[str, dict[str, Any]] = {}
        #: Log group name -> what its streams looked like when last saved.
        self._log_signatures: dict[str, list[tuple[str, int, str]]] = {}
        #: Scaling policy ARNs before the restart -> after (alarms name them in AlarmActions).
        self._policy_arns: dict[str, str] = {}
        #: Restored target-tracking policy ARN -> the alarms PutScalingPolicy created for it.
        self._recreated_alarms: dict[str, list[str]] = {}
        #: The CloudWatch alarms as last read (None before the first read); read again when a
        #: save is given :data:`ALARMS`.
        self._alarms: list[dict[str, Any]] | None = None
        #: The metric data points as saved, each converted and encoded once (moto only ever
        #: appends to its list of them).
        self._points = GrowingJsonArray(_metric_point)
        #: Log group -> stream -> its events as saved, each encoded once (moto appends them).
        self._log_events: dict[str, dict[str, GrowingJsonArray]] = {}

    # -- saving -------------------------------------------------------------------------------

    def save(self, part: str, changes: Collection[Change] = ()) -> None:
        """Read one part from moto and write it (logs: one file per changed group).

        ``changes``: the part's narrower changes since its last save (:data:`Change`); what they
        do not name is written as last read, so a caller that loses one saves stale data.
        """
        if part == "logs":
            self._save_logs()
            return
        if part == "cloudwatch":
            self._save_cloudwatch(alarms_changed=ALARMS in changes)
            return
        if part == "s3":
            buckets = [change for change in changes if isinstance(change, BucketChange)]
            self.store.write("s3.json", self._export_s3(buckets))
            self._collect_blobs()
            return
        exporter: dict[str, Callable[[], Any]] = {
            "iam": self._export_iam,
            "sqs": self._export_sqs,
            "sns": self._export_sns,
            "application-autoscaling": self._export_scaling,
        }
        self.store.write(f"{part}.json", exporter[part]())

    # -- restoring ----------------------------------------------------------------------------

    def restore(self, part: str, data: Any, notes: list[str]) -> None:
        """Put one saved part back through the AWS APIs."""
        restorer: dict[str, Callable[[Any, list[str]], None]] = {
            "iam": self._restore_iam,
            "s3": self._restore_s3,
            "sqs": self._restore_sqs,
            "sns": self._restore_sns,
            "application-autoscaling": self._restore_scaling,
            "cloudwatch": self._restore_cloudwatch,
        }
        restorer[part](data, notes)

    def read_logs(self) -> list[tuple[str, dict[str, Any]]]:
        """Every saved log group that can be read (a bad file is moved aside alone)."""
        groups = []
        for name in self.store.names(LOGS_PREFIX):
            saved = self.store.read(name)
            if saved is None:
                continue
            if isinstance(saved[0], dict) and isinstance(saved[0].get("streams"), list):
                groups.append((name, saved[0]))
            else:
                self.store.set_aside(name, "not a saved log group")
        return groups

    def restore_log_groups(
        self, groups: list[tuple[str, dict[str, Any]]], notes: list[str]
    ) -> list[tuple[str, dict[str, Any]]]:
        """Create the log groups and streams :meth:`read_logs` read, without their events, each
        group on its own; returns those whose events can follow (:meth:`restore_log_events`).

        Names are back before the server says it is up, so a listing right after a restart
        (a clean-up, a learner's DescribeLogGroups) sees every group, as on AWS where nothing
        went away; only the events, thousands of PutLogEvents lines, come back in the background.
        """
        restored = []
        for name, record in groups:
            try:
                self._restore_log_group_names(record)
                restored.append((name, record))
            except Exception as exc:  # one group AWS refuses must not lose the others
                notes.append(f"log group file {name} could not be restored: {exc}")
        return restored

    def restore_log_events(
        self, groups: list[tuple[str, dict[str, Any]]], notes: list[str]
    ) -> None:
        """Put back the events of the groups :meth:`restore_log_groups` created. A group or
        stream deleted since (a clean-up right after the restart) stays deleted."""
        for name, record in groups:
            try:
                self._restore_log_events(record, notes)
            except Exception as exc:  # one group AWS refuses must not lose the others
                notes.append(f"log events of {name} could not be restored: {exc}")

    # -- IAM ----------------------------------------------------------------------------------

    def _export_iam(self) -> dict[str, Any]:
        # FIDELITY platform.restart-new-ids DIFFERS: ids and times after a restart
        #   local: After `stop` and `start`, IAM roles get new RoleIds, SNS subscriptions and
        #     scaling policies new ARNs, S3 objects a new LastModified, and log events a new
        #     ingestion time; names, contents, ARNs of everything else and SageMaker's own
        #     times stay. Object versions other than the latest, SQS messages being received
        #     (in flight) and log events older than 14 days are not kept.
        #   why: the AWS services around SageMaker are moto's, restored through the AWS API
        #     calls that create them, and those mint new ids and times.
        #   notice: On AWS nothing changes while your machine is off.
        iam = self.client("iam")
        policies = []
        for policy in _pages(iam, "list_policies", "Policies", Scope="Local"):
            version = iam.get_policy_version(
                PolicyArn=policy["Arn"], VersionId=policy["DefaultVersionId"]
            )["PolicyVersion"]
            policies.append(
                {
                    "PolicyName": policy["PolicyName"],
                    "Path": policy.get("Path", "/"),
                    "Description": policy.get("Description"),
                    "PolicyDocument": version["Document"],
                }
            )
        roles = []
        for role in _pages(iam, "list_roles", "Roles"):
            name = role["RoleName"]
            full = iam.get_role(RoleName=name)["Role"]
            inline = {
                policy: iam.get_role_policy(RoleName=name, PolicyName=policy)["PolicyDocument"]
                for policy in _pages(iam, "list_role_policies", "PolicyNames", RoleName=name)
            }
            attached = [
                p["PolicyArn"]
                for p in _pages(
                    iam, "list_attached_role_policies", "AttachedPolicies", RoleName=name
                )
            ]
            roles.append(
                {
                    "RoleName": name,
                    "Path": full.get("Path", "/"),
                    "AssumeRolePolicyDocument": full.get("AssumeRolePolicyDocument"),
                    "Description": full.get("Description"),
                    "MaxSessionDuration": full.get("MaxSessionDuration"),
                    "PermissionsBoundary": (full.get("PermissionsBoundary") or {}).get(
                        "PermissionsBoundaryArn"
                    ),
                    "Tags": iam.list_role_tags(RoleName=name).get("Tags", []),
                    "Inline": inline,
                    "Attached": attached,
                }
            )
        return {"policies": policies, "roles": roles}

    def _restore_iam(self, data: dict[str, Any], notes: list[str]) -> None:
        iam = self.client("iam")

        def policy(item: dict[str, Any]) -> None:
            params = {
                "PolicyName": item["PolicyName"],
                "Path": item["Path"],
                "PolicyDocument": _json_text(item["PolicyDocument"]),
            }
            if item.get("Description"):
                params["Description"] = item["Description"]
            iam.create_policy(**params)

        def role(item: dict[str, Any]) -> None:
            params: dict[str, Any] = {
                "RoleName": item["RoleName"],
                "Path": item["Path"],
                "AssumeRolePolicyDocument": _json_text(item["AssumeRolePolicyDocument"]),
            }
            for key in ("Description", "MaxSessionDuration", "PermissionsBoundary", "Tags"):
                if item.get(key):
                    params[key] = item[key]
            iam.create_role(**params)
            for name, document in item["Inline"].items():
                iam.put_role_policy(
                    RoleName=item["RoleName"], PolicyName=name, PolicyDocument=_json_text(document)
                )
            for arn in item["Attached"]:
                iam.attach_role_policy(RoleName=item["RoleName"], PolicyArn=arn)

        _each(data["policies"], "IAM policy", notes, policy)
        _each(data["roles"], "IAM role", notes, role)

    # -- S3 -----------------------------------------------------------------------------------

    def _export_s3(self, changes: Iterable[BucketChange]) -> list[dict[str, Any]]:
        """Every bucket's record; those no change names are the saved ones (a save while a
        transform job writes its outputs reads one bucket, not all, and not its tags, policy and
        versioning). A bucket never saved is read whole."""
        all_changed = False
        # bucket -> whether the bucket itself may have changed, not only objects in it
        settings: dict[str, bool] = {}
        for change in changes:
            if change.bucket is None:
                all_changed = True
            else:
                settings[change.bucket] = settings.get(change.bucket, False) or not change.objects_only
        return self._export_buckets(settings, all_changed)

    def _export_buckets(self, changes: dict[str, bool], all_changed: bool) -> list[dict[str, Any]]:
        s3 = self.client("s3")
        buckets = []
        records: dict[str, dict[str, Any]] = {}
        for bucket in s3.list_buckets().get("Buckets", []):
            name = bucket["Name"]
            saved = self._buckets.get(name)
            if saved is not None and not all_changed and name not in changes:
                record = saved
            else:
                record = {"name": name, "objects": []}
                if saved is not None and not all_changed and not changes[name]:
                    for setting in ("tags", "policy", "versioning"):
                        if setting in saved:
                            record[setting] = saved[setting]
                else:
                    self._export_bucket_settings(s3, name, record)
                seen = set()
                for obj in _pages(s3, "list_objects_v2", "Contents", Bucket=name):
                    seen.add(obj["Key"])
                    record["objects"].append(self._export_object(s3, name, obj))
                for gone in [k for k in self._objects if k[0] == name and k[1] not in seen]:
                    del self._objects[gone]
            records[name] = record
            buckets.append(record)
        for gone in [k for k in self._objects if k[0] not in records]:
            del self._objects[gone]
        self._buckets = records
        return buckets

    @staticmethod
    def _export_bucket_settings(s3: Any, name: str, record: dict[str, Any]) -> None:
        with contextlib.suppress(s3.exceptions.ClientError):
            record["tags"] = s3.get_bucket_tagging(Bucket=name)["TagSet"]
        with contextlib.suppress(s3.exceptions.ClientError):
            record["policy"] = s3.get_bucket_policy(Bucket=name)["Policy"]
        with contextlib.suppress(s3.exceptions.ClientError):
            record["versioning"] = s3.get_bucket_versioning(Bucket=name).get("Status")

    def _export_object(self, s3: Any, bucket: str, listed: dict[str, Any]) -> dict[str, Any]:
        """One object's entry; its body is read (and stored as a blob) only when it changed."""
        stamp = [listed["ETag"], int(listed["Size"]), listed["LastModified"].isoformat()]
        known = self._objects.get((bucket, listed["Key"]))
        if known is not None and known["stamp"] == stamp and self._blob(known["blob"]).exists():
            return known
        answer = s3.get_object(Bucket=bucket, Key=listed["Key"])
        body = answer["Body"].read()
        digest = hashlib.sha256(body).hexdigest()
        if not self._blob(digest).exists():
            atomic_write(self._blob(digest), body)
        entry: dict[str, Any] = {"Key": listed["Key"], "blob": digest, "stamp": stamp}
        for key in (
            "ContentType",
            "ContentEncoding",
            "ContentDisposition",
            "ContentLanguage",
            "CacheControl",
            "Metadata",
        ):
            if answer.get(key):
                entry[key] = answer[key]
        with contextlib.suppress(s3.exceptions.ClientError):
            tags = s3.get_object_tagging(Bucket=bucket, Key=listed["Key"]).get("TagSet")
            if tags:
                entry["Tagging"] = urllib.parse.urlencode({t["Key"]: t["Value"] for t in tags})
        self._objects[(bucket, listed["Key"])] = entry
        return entry

    def _blob(self, digest: str) -> Path:
        return self.store.directory / BLOBS / digest

    def _collect_blobs(self) -> None:
        """Remove the bodies no saved object names any more."""
        folder = self.store.directory / BLOBS
        if not folder.is_dir():
            return
        used = {entry["blob"] for entry in self._objects.values()}
        for path in folder.iterdir():
            if path.name not in used and not path.name.startswith("."):
                path.unlink(missing_ok=True)

    def _restore_s3(self, data: list[dict[str, Any]], notes: list[str]) -> None:
        s3 = self.client("s3")
        for bucket in data:
            name = bucket["name"]
            try:
                s3.create_bucket(Bucket=name)
                if bucket.get("versioning"):
                    s3.put_bucket_versioning(
                        Bucket=name, VersioningConfiguration={"Status": bucket["versioning"]}
                    )
                if bucket.get("tags"):
                    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": bucket["tags"]})
                if bucket.get("policy"):
                    s3.put_bucket_policy(Bucket=name, Policy=bucket["policy"])
            except Exception as exc:
                notes.append(f"S3 bucket {name!r} could not be restored: {exc}")
                continue

            def put(entry: dict[str, Any], name: str = name) -> None:
                path = self._blob(entry["blob"])
                if not path.exists():
                    raise FileNotFoundError(f"its saved body {path.name} is missing")
                params = {
                    k: entry[k]
                    for k in (
                        "ContentType",
                        "ContentEncoding",
                        "ContentDisposition",
                        "ContentLanguage",
                        "CacheControl",
                        "Metadata",
                        "Tagging",
                    )
                    if entry.get(k)
                }
                s3.put_object(Bucket=name, Key=entry["Key"], Body=path.read_bytes(), **params)

            _each(bucket["objects"], f"S3 object in {name!r}", notes, put)
            # What was just put is what the blobs hold: the next save need not read it back.
            restored = {entry["Key"]: entry for entry in bucket["objects"]}
            for listed in _pages(s3, "list_objects_v2", "Contents", Bucket=name):
                entry = restored.get(listed["Key"])
                if entry is not None:
                    stamp = [
                        listed["ETag"],
                        int(listed["Size"]),
                        listed["LastModified"].isoformat(),
                    ]
                    self._objects[(name, listed["Key"])] = {**entry, "stamp": stamp}

    # -- SQS ----------------------------------------------------------------------------------

    #: Queue attributes CreateQueue accepts (the others are read-only).
    SQS_SETTABLE = (
        "DelaySeconds",
        "MaximumMessageSize",
        "MessageRetentionPeriod",
        "Policy",
        "ReceiveMessageWaitTimeSeconds",
        "VisibilityTimeout",
        "RedrivePolicy",
        "RedriveAllowPolicy",
        "FifoQueue",
        "ContentBasedDeduplication",
        "KmsMasterKeyId",
        "KmsDataKeyReusePeriodSeconds",
        "SqsManagedSseEnabled",
        "DeduplicationScope",
        "FifoThroughputLimit",
    )

    def _export_sqs(self) -> list[dict[str, Any]]:
        from moto.sqs.models import sqs_backends

        sqs = self.client("sqs")
        backend = sqs_backends[ACCOUNT_ID][REGION]
        queues = []
        for url in sqs.list_queues().get("QueueUrls", []):
            name = url.rstrip("/").rsplit("/", 1)[-1]
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])[
                "Attributes"
            ]
            queue = backend.queues.get(name)
            messages = []
            for message in list(queue.messages) if queue is not None else []:
                saved: dict[str, Any] = {"Body": message.body}
                if message.group_id:
                    saved["MessageGroupId"] = message.group_id
                if message.deduplication_id:
                    saved["MessageDeduplicationId"] = message.deduplication_id
                messages.append(saved)
            queues.append(
                {
                    "QueueName": name,
                    "Attributes": {k: v for k, v in attributes.items() if k in self.SQS_SETTABLE},
                    "Tags": sqs.list_queue_tags(QueueUrl=url).get("Tags", {}),
                    "Messages": messages,
                }
            )
        return queues

    def _restore_sqs(self, data: list[dict[str, Any]], notes: list[str]) -> None:
        sqs = self.client("sqs")

        def queue(item: dict[str, Any]) -> None:
            params: dict[str, Any] = {"QueueName": item["QueueName"]}
            if item.get("Attributes"):
                params["Attributes"] = item["Attributes"]
            if item.get("Tags"):
                params["tags"] = item["Tags"]
            url = sqs.create_queue(**params)["QueueUrl"]
            for message in item.get("Messages", []):
                sqs.send_message(
                    QueueUrl=url,
                    MessageBody=message["Body"],
                    **{k: v for k, v in message.items() if k != "Body"},
                )

        _each(data, "SQS queue", notes, queue)

    # -- SNS ----------------------------------------------------------------------------------

    SNS_TOPIC_SETTABLE = (
        "DisplayName",
        "Policy",
        "DeliveryPolicy",
        "KmsMasterKeyId",
        "FifoTopic",
        "ContentBasedDeduplication",
        "SignatureVersion",
        "TracingConfig",
    )
    SNS_SUBSCRIPTION_SETTABLE = (
        "RawMessageDelivery",
        "FilterPolicy",
        "FilterPolicyScope",
        "RedrivePolicy",
        "DeliveryPolicy",
        "SubscriptionRoleArn",
    )

    def _export_sns(self) -> dict[str, Any]:
        sns = self.client("sns")
        topics = []
        for topic in _pages(sns, "list_topics", "Topics"):
            arn = topic["TopicArn"]
            attributes = sns.get_topic_attributes(TopicArn=arn)["Attributes"]
            topics.append(
                {
                    "TopicArn": arn,
                    "Name": arn.rsplit(":", 1)[-1],
                    "Attributes": {
                        k: v for k, v in attributes.items() if k in self.SNS_TOPIC_SETTABLE
                    },
                    "Tags": sns.list_tags_for_resource(ResourceArn=arn).get("Tags", []),
                }
            )
        subscriptions = []
        for sub in _pages(sns, "list_subscriptions", "Subscriptions"):
            attributes = sns.get_subscription_attributes(SubscriptionArn=sub["SubscriptionArn"])[
                "Attributes"
            ]
            subscriptions.append(
                {
                    "TopicArn": sub["TopicArn"],
                    "Protocol": sub["Protocol"],
                    "Endpoint": sub["Endpoint"],
                    "Attributes": {
                        k: v
                        for k, v in attributes.items()
                        if k in self.SNS_SUBSCRIPTION_SETTABLE and v not in ("", None)
                    },
                }
            )
        return {"topics": topics, "subscriptions": subscriptions}

    def _restore_sns(self, data: dict[str, Any], notes: list[str]) -> None:
        sns = self.client("sns")

        def topic(item: dict[str, Any]) -> None:
            params: dict[str, Any] = {"Name": item["Name"]}
            if item.get("Attributes"):
                params["Attributes"] = item["Attributes"]
            if item.get("Tags"):
                params["Tags"] = item["Tags"]
            sns.create_topic(**params)

        def subscription(item: dict[str, Any]) -> None:
            params: dict[str, Any] = {
                "TopicArn": item["TopicArn"],
                "Protocol": item["Protocol"],
                "Endpoint": item["Endpoint"],
                "ReturnSubscriptionArn": True,
            }
            if item.get("Attributes"):
                params["Attributes"] = item["Attributes"]
            sns.subscribe(**params)

        _each(data["topics"], "SNS topic", notes, topic)
        _each(data["subscriptions"], "SNS subscription to", notes, subscription)

    # -- Application Auto Scaling (SageMaker's scalable targets) ------------------------------

    NAMESPACE = "sagemaker"

    def _export_scaling(self) -> dict[str, Any]:
        scaling = self.client("application-autoscaling")
        ns = {"ServiceNamespace": self.NAMESPACE}
        targets = list(_pages(scaling, "describe_scalable_targets", "ScalableTargets", **ns))
        policies = list(_pages(scaling, "describe_scaling_policies", "ScalingPolicies", **ns))
        actions = list(_pages(scaling, "describe_scheduled_actions", "ScheduledActions", **ns))
        return {
            "targets": [
                {
                    k: v
                    for k, v in t.items()
                    if k
                    in (
                        "ServiceNamespace",
                        "ResourceId",
                        "ScalableDimension",
                        "MinCapacity",
                        "MaxCapacity",
                        "RoleARN",
                        "SuspendedState",
                    )
                }
                for t in targets
            ],
            "policies": [
                {
                    k: v
                    for k, v in p.items()
                    if k
                    in (
                        "PolicyARN",
                        "PolicyName",
                        "ServiceNamespace",
                        "ResourceId",
                        "ScalableDimension",
                        "PolicyType",
                        "StepScalingPolicyConfiguration",
                        "TargetTrackingScalingPolicyConfiguration",
                    )
                }
                for p in policies
            ],
            "scheduled": [
                {
                    k: (v.isoformat() if hasattr(v, "isoformat") else v)
                    for k, v in a.items()
                    if k
                    in (
                        "ScheduledActionName",
                        "ServiceNamespace",
                        "ResourceId",
                        "ScalableDimension",
                        "Schedule",
                        "Timezone",
                        "StartTime",
                        "EndTime",
                        "ScalableTargetAction",
                    )
                }
                for a in actions
            ],
        }

    def _restore_scaling(self, data: dict[str, Any], notes: list[str]) -> None:
        scaling = self.client("application-autoscaling")

        def target(item: dict[str, Any]) -> None:
            scaling.register_scalable_target(**item)

        def policy(item: dict[str, Any]) -> None:
            params = {k: v for k, v in item.items() if k != "PolicyARN"}
            answer = scaling.put_scaling_policy(**params)
            new = answer["PolicyARN"]
            if item.get("PolicyARN"):
                self._policy_arns[item["PolicyARN"]] = new
            # target tracking created its alarms again, under new names: the saved ones replace
            # them when the CloudWatch part is restored (kept if it cannot be)
            self._recreated_alarms[new] = [a["AlarmName"] for a in answer.get("Alarms") or []]

        def scheduled(item: dict[str, Any]) -> None:
            scaling.put_scheduled_action(**item)

        _each(data["targets"], "scalable target", notes, target)
        _each(data["policies"], "scaling policy", notes, policy)
        _each(data.get("scheduled", []), "scheduled action", notes, scheduled)

    # -- CloudWatch: metric data and alarms ---------------------------------------------------

    ALARM_SETTABLE = (
        "AlarmName",
        "AlarmDescription",
        "ActionsEnabled",
        "OKActions",
        "AlarmActions",
        "InsufficientDataActions",
        "MetricName",
        "Namespace",
        "Statistic",
        "ExtendedStatistic",
        "Dimensions",
        "Period",
        "Unit",
        "EvaluationPeriods",
        "DatapointsToAlarm",
        "Threshold",
        "ComparisonOperator",
        "TreatMissingData",
        "EvaluateLowSampleCountPercentile",
        "Metrics",
        "ThresholdMetricId",
    )

    #: An alarm's state, saved with it and put back with SetAlarmState after PutMetricAlarm
    #: (which starts every alarm afresh). StateUpdatedTimestamp becomes the restore's time.
    ALARM_STATE = ("StateValue", "StateReason", "StateReasonData")

    def _save_cloudwatch(self, alarms_changed: bool) -> None:
        """The metric data points (only those added since the last save are encoded, see
        :mod:`.growing_json`) and the alarms (read again only after a call that may have
        changed them: ``alarms_changed``)."""
        from moto.cloudwatch.models import cloudwatch_backends

        backend = cloudwatch_backends[ACCOUNT_ID][REGION]
        points = self._points.encode(backend.metric_data)
        alarms = self._alarms
        if alarms is None or alarms_changed:
            cloudwatch = self.client("cloudwatch")
            alarms = [
                {k: v for k, v in alarm.items() if k in self.ALARM_SETTABLE or k in self.ALARM_STATE}
                for alarm in _pages(cloudwatch, "describe_alarms", "MetricAlarms")
            ]
            self._alarms = alarms
        # the text of {"metrics": [...], "alarms": [...]}
        data = b'{"metrics":' + points + b',"alarms":' + encode(alarms) + b"}"
        self.store.write_encoded("cloudwatch.json", data)

    def _restore_cloudwatch(self, data: dict[str, Any], notes: list[str]) -> None:
        """The alarms (the metric data points come back later: :meth:`restore_metrics`)."""
        cloudwatch = self.client("cloudwatch")

        replaced: set[str] = set()

        def alarm(item: dict[str, Any]) -> None:
            params = {k: v for k, v in item.items() if k not in self.ALARM_STATE}
            for key in ("AlarmActions", "OKActions", "InsufficientDataActions"):
                if key in params:
                    params[key] = [self._policy_arns.get(a, a) for a in params[key]]
            description = str(params.get("AlarmDescription") or "")
            for old, new in self._policy_arns.items():
                description = description.replace(old, new)
            if "AlarmDescription" in params:
                params["AlarmDescription"] = description
            cloudwatch.put_metric_alarm(**params)
            if item.get("StateValue"):  # saved before alarm states were: as a new alarm
                state = {k: item[k] for k in self.ALARM_STATE if item.get(k)}
                state.setdefault("StateReason", "Restored")
                cloudwatch.set_alarm_state(AlarmName=params["AlarmName"], **state)
            if str(params["AlarmName"]).startswith(ALARM_PREFIX):
                replaced.update(
                    a for a in params.get("AlarmActions", []) if a in self._recreated_alarms
                )

        _each(data["alarms"], "CloudWatch alarm", notes, alarm)
        # the alarms target tracking made again when its policies were restored, where the saved
        # ones (their names, as DescribeScalingPolicies showed them before) came back instead
        extra = [name for arn in replaced for name in self._recreated_alarms.pop(arn)]
        saved = {str(item.get("AlarmName")) for item in data["alarms"]}
        extra = [name for name in extra if name not in saved]
        for start in range(0, len(extra), 100):  # DeleteAlarms takes 100 names at most
            cloudwatch.delete_alarms(AlarmNames=extra[start : start + 100])

    def restore_metrics(self, data: dict[str, Any], notes: list[str]) -> None:
        """The metric data points of a saved ``cloudwatch`` part, through PutMetricData."""
        from datetime import UTC, datetime

        cloudwatch = self.client("cloudwatch")
        by_namespace: dict[str, list[dict[str, Any]]] = {}
        for point in data["metrics"]:
            item = {k: v for k, v in point.items() if k != "Namespace"}
            item["Timestamp"] = datetime.fromtimestamp(float(point["Timestamp"]), UTC)
            by_namespace.setdefault(point["Namespace"], []).append(item)
        for namespace, points in by_namespace.items():
            # PutMetricData takes 1,000 at most; moto parses 100 at a time twice as fast
            for start in range(0, len(points), 100):
                try:
                    cloudwatch.put_metric_data(
                        Namespace=namespace, MetricData=points[start : start + 100]
                    )
                except Exception as exc:
                    notes.append(f"metric data in {namespace!r} could not be restored: {exc}")

    # -- CloudWatch Logs ----------------------------------------------------------------------

    def _save_logs(self) -> None:
        from moto.logs.models import logs_backends

        backend = logs_backends[ACCOUNT_ID][REGION]
        groups = dict(list(backend.groups.items()))
        for name, group in groups.items():
            streams = list(group.streams.items())
            signature = [
                (stream_name, len(stream.events), str(stream.last_ingestion_time))
                for stream_name, stream in streams
            ]
            if self._log_signatures.get(name) == signature:
                continue
            encoders = self._log_events.setdefault(name, {})
            for gone_stream in set(encoders) - {stream_name for stream_name, _ in streams}:
                del encoders[gone_stream]
            encoded = []
            for stream_name, stream in streams:
                events = encoders.get(stream_name)
                if events is None:
                    events = encoders[stream_name] = GrowingJsonArray(_log_event)
                encoded.append(
                    b'{"name":' + encode(stream_name) + b',"events":' + events.encode(stream.events)
                    + b"}"
                )
            # the text of {"name": ..., "retention": ..., "streams": [{"name": ..., "events":
            # [[timestamp, message], ...]}, ...]}
            record = (
                b'{"name":' + encode(name) + b',"retention":' + encode(group.retention_in_days)
                + b',"streams":[' + b",".join(encoded) + b"]}"
            )
            self.store.write_encoded(_log_part(name), record)
            self._log_signatures[name] = signature
        for gone in set(self._log_signatures) - set(groups):
            self.store.remove(_log_part(gone))
            del self._log_signatures[gone]
            self._log_events.pop(gone, None)

    def _restore_log_group_names(self, record: dict[str, Any]) -> None:
        logs = self.client("logs")
        name = record["name"]
        with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
            logs.create_log_group(logGroupName=name)
        if record.get("retention"):
            logs.put_retention_policy(logGroupName=name, retentionInDays=int(record["retention"]))
        for stream in record["streams"]:
            with contextlib.suppress(logs.exceptions.ResourceAlreadyExistsException):
                logs.create_log_stream(logGroupName=name, logStreamName=stream["name"])

    def _restore_log_events(self, record: dict[str, Any], notes: list[str]) -> None:
        logs = self.client("logs")
        name = record["name"]
        dropped = 0
        for stream in record["streams"]:
            events: list[dict[str, Any]] = sorted(
                ({"timestamp": int(ts), "message": str(msg)} for ts, msg in stream["events"]),
                key=lambda e: int(e["timestamp"]),
            )
            try:
                for batch in _log_batches(events):
                    answer = logs.put_log_events(
                        logGroupName=name, logStreamName=stream["name"], logEvents=batch
                    )
                    rejected = answer.get("rejectedLogEventsInfo") or {}
                    if "tooOldLogEventEndIndex" in rejected:
                        dropped += int(rejected["tooOldLogEventEndIndex"])
            except logs.exceptions.ResourceNotFoundException:
                continue  # deleted since the restart began: its events are not wanted
        if dropped:
            notes.append(
                f"{dropped} log events of {name} were older than 14 days, the oldest "
                "PutLogEvents accepts, and were not restored"
            )


def _metric_point(datum: Any) -> dict[str, Any]:
    """One of moto's metric data points as PutMetricData takes it back (:meth:`restore_metrics`)."""
    from moto.cloudwatch.models import MetricAggregatedDatum, MetricDatum

    point: dict[str, Any] = {
        "Namespace": datum.namespace,
        "MetricName": datum.name,
        "Dimensions": [{"Name": d.name, "Value": d.value} for d in datum.dimensions],
        "Timestamp": datum.timestamp.timestamp(),
    }
    if datum.unit:
        point["Unit"] = datum.unit
    if isinstance(datum, MetricAggregatedDatum):
        point["StatisticValues"] = {
            "SampleCount": datum.sample_count,
            "Sum": datum.sum,
            "Minimum": datum.min,
            "Maximum": datum.max,
        }
    elif isinstance(datum, MetricDatum):
        point["Value"] = datum.value
    return point


def _log_event(event: Any) -> list[Any]:
    """One of moto's log events as saved: ``[timestamp, message]``."""
    return [event.timestamp, event.message]


def _log_part(group: str) -> str:
    return f"{LOGS_PREFIX}{hashlib.sha256(group.encode()).hexdigest()[:24]}.json"


def _log_batches(events: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    """PutLogEvents batches: at most 10,000 events, 1 MiB (26 bytes per event), 24 hours."""
    batch: list[dict[str, Any]] = []
    size = 0
    for event in events:
        cost = len(event["message"].encode()) + 26
        if batch and (
            len(batch) >= 10_000
            or size + cost > 1_048_576
            or event["timestamp"] - batch[0]["timestamp"] >= 24 * 3600 * 1000
        ):
            yield batch
            batch, size = [], 0
        batch.append(event)
        size += cost
    if batch:
        yield batch


def _json_text(document: Any) -> str:
    """A policy document as IAM takes it (boto3 hands documents back decoded)."""
    import json

    if isinstance(document, str):
        return urllib.parse.unquote(document) if document.startswith("%7B") else document
    return json.dumps(document)
