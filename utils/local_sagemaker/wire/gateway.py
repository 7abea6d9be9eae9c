"""The gateway: one WSGI app on one port that builds the services and routes each request.

* ``X-Amz-Target: SageMaker.*`` (JSON 1.1) -> the control plane (:mod:`.control_api`);
* ``POST /endpoints/{name}/invocations`` and ``/async-invocations`` -> the runtime
  (:mod:`.runtime_routes`);
* any other request signed for the ``sagemaker`` service -> our "not implemented" answer (never
  moto's SageMaker, which is only a record store; :mod:`.unimplemented`);
* ``/_local/*`` -> private routes (:mod:`.local_routes`);
* everything else -> moto's server app, in-process (S3, STS, IAM, CloudWatch Logs and metrics,
  Application Auto Scaling, SNS, SQS). moto picks the service from the SigV4 credential scope in
  the ``Authorization`` header, so boto3 pointed at this single URL reaches the right backend. An
  operation moto does not implement gets an AWS error in its service's protocol that names it
  (:mod:`.unimplemented`), never a bare 500.

Our own services reach moto the same way any client does: boto3 clients on this gateway's URL,
whose requests this gateway answers in-process (:mod:`.in_process`: no socket, the same route).
Every service gets what it needs through its constructor, here and only here (ARCHITECTURE.md,
"Layers").
"""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from ..core.credentials import client_environment_for, load_or_create
from ..core.httpserver import SERVER_SOFTWARE
from ..core.settings import (
    SERVICE_APP_ID,
    STATE_APP_ID,
    autoscaling_time_scale,
    call_log_path,
    health_check_interval,
    invocation_timeout,
    model_environments_dir,
    save_interval,
)
from ..core.worker_contract import MODEL_ENVIRONMENTS_ENV
from ..services.async_inference.service import AsyncService
from ..services.autoscaling import AutoScaler
from ..services.endpoints.deployment import Deployer
from ..services.endpoints.fleet_factory import FleetFactory
from ..services.endpoints.registry import Registry
from ..services.fleet.healing import HealthPolicy
from ..services.fleet.instance import stop_all
from ..services.fleet.instance_fleet import InstanceFleet
from ..services.fleet.launcher import prewarm, stop_templates
from ..services.meter.cost_meter import CostMeter
from ..services.realtime import Runtime
from ..services.scaling.activities import ScalingActivities
from ..services.scaling.clock import ScalingClock
from ..services.scaling.metrics import MetricReader
from ..services.scaling.realtime import RealtimeScaler
from ..services.scaling.registrations import ScalingRegistrations
from ..services.serverless.fleet import ServerlessServices
from ..services.state.persistence import Persistence
from ..services.telemetry.aws_clients import make_client
from ..services.telemetry.data_points import MetricSink
from ..services.telemetry.invocation_metrics import MetricsPublisher
from ..services.telemetry.logs import LogShipper
from ..services.telemetry.recent import RecentInvocations
from ..services.transform.jobs import TransformJobs
from ..services.transform.read_ahead import hold_nothing
from . import control_api, iam_routes, unimplemented
from .autoscaling_front import Answer, ScalingFront
from .call_log import CallLog
from .control_plane import ControlPlane
from .in_process import InProcessTransport
from .local_routes import LocalRoutes
from .logs_front import LogsFront
from .runtime_routes import ASYNC_PATH, INVOKE_PATH, RuntimeRoutes, new_request_id

StartResponse = Callable[..., Any]

#: Protocols whose requests name their operation (a target, an Action, a CBOR path).
NAMED_PROTOCOLS = ("json", "query", "smithy-rpc-v2-cbor")


def is_runtime_path(path: str) -> bool:
    """Whether ``path`` is one the SageMaker runtime answers (InvokeEndpoint, ...Async)."""
    return bool(INVOKE_PATH.match(path) or ASYNC_PATH.match(path))


def _signing_service(environ: dict[str, Any]) -> str | None:
    auth = environ.get("HTTP_AUTHORIZATION", "")
    marker = "Credential="
    index = auth.find(marker)
    if index < 0:
        return None
    scope = auth[index + len(marker) :].split(",", 1)[0].split("/")
    return scope[3].lower() if len(scope) >= 5 else None


class FleetEvents:
    """A fleet started or stopped serving: the meter bills it; listeners (the asynchronous
    queues, which wake up when capacity arrives) hear of every start."""

    def __init__(self, meter: CostMeter) -> None:
        self.meter = meter
        self._started_listeners: list[Callable[[str], None]] = []

    def on_started(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(endpoint_name)`` whenever one of an endpoint's fleets starts."""
        self._started_listeners.append(listener)

    def fleet_started(self, endpoint_name: str, fleet: InstanceFleet) -> None:
        self.meter.fleet_started(endpoint_name, fleet)
        for listener in self._started_listeners:
            listener(endpoint_name)

    def fleet_stopped(self, endpoint_name: str, fleet: InstanceFleet) -> None:
        self.meter.fleet_stopped(endpoint_name, fleet)

    def capacity_changed(self, endpoint_name: str) -> None:
        """A replacement instance went into service (the count, and so the bill, is unchanged):
        the listeners hear of it as of a start."""
        for listener in self._started_listeners:
            listener(endpoint_name)


class Gateway:
    """The single WSGI application behind the local SageMaker's port."""

    def __init__(self, url: str, state_dir: Path) -> None:
        from .moto_app import MotoApp

        self.url = url
        self.credentials = load_or_create(state_dir)
        log_path = call_log_path()
        self.call_log = CallLog(log_path) if log_path else None
        self.moto = MotoApp()
        self._clients: dict[str, Any] = {}
        self._clients_lock = threading.Lock()
        #: The services' calls reach this gateway in this process, not over HTTP.
        self._transport = InProcessTransport(self, url, SERVER_SOFTWARE)
        self.logs = LogShipper(lambda: self.client("logs"))
        recent = RecentInvocations()
        self.metrics = MetricsPublisher(lambda: self.client("cloudwatch"), recent)
        self.metric_sink = MetricSink(lambda: self.client("cloudwatch"))
        self.meter = CostMeter()
        events = FleetEvents(self.meter)
        self.deployer = Deployer(
            state_dir=state_dir,
            s3_client=lambda: self.client("s3"),
            log_sink=self.logs.emit,
            # the workers' own AWS calls name the service, as the gateway's clients do
            instance_env={
                **client_environment_for(url),
                "AWS_SDK_UA_APP_ID": SERVICE_APP_ID,
                MODEL_ENVIRONMENTS_ENV: str(model_environments_dir()),
            },
            fleets=FleetFactory(
                ServerlessServices(
                    log_sink=self.logs.emit,
                    metrics=self.metrics,
                    metric_sink=self.metric_sink,
                    meter=self.meter.serverless,
                    invocation_timeout=invocation_timeout(),
                ),
                HealthPolicy(interval=health_check_interval()),
                events.capacity_changed,
            ),
            events=events,
        )
        registrations = ScalingRegistrations(self.client)
        self.registrations = registrations
        self.registry = Registry(
            self.deployer,
            self.logs.ensure_stream,
            registrations,
            flush_logs=self.logs.flush,
            model_created=prewarm,
        )
        self.async_service = AsyncService(self.registry, self.client, self.metric_sink)
        events.on_started(self.async_service.capacity_changed)
        activities = ScalingActivities(self.registry)
        self.autoscaler = AutoScaler(self.registry, self.async_service, self.client, activities)
        self.realtime_scaler = RealtimeScaler(
            self.registry,
            registrations,
            MetricReader(recent, self.client),
            ScalingClock(autoscaling_time_scale()),
            activities,
        )
        self.realtime_scaler.start()
        self.scaling_front = ScalingFront(registrations, activities)
        self.logs_front = LogsFront()
        self.transform_jobs = TransformJobs(
            self.registry, self.deployer, self.logs.ensure_stream, self.meter,
            flush_logs=self.logs.flush,
            hold_calls=self.call_log.hold if self.call_log is not None else hold_nothing,
        )
        self.control = ControlPlane(self.registry, self.transform_jobs)
        self.runtime = RuntimeRoutes(Runtime(self.registry), self.async_service)
        self.persistence = Persistence(
            state_dir,
            self.state_client,
            self.registry,
            self.transform_jobs,
            self.async_service,
            self.meter,
            self.realtime_scaler,
            save_interval(),
            lambda line: print(f"local SageMaker: {line}", flush=True),
        )
        self.local = LocalRoutes(
            url,
            self.registry,
            self.transform_jobs,
            self.async_service,
            self.autoscaler,
            self.realtime_scaler,
            self.meter,
            self.logs,
            self.metrics,
            self.metric_sink,
        )

    def restore(self) -> list[str]:
        """Bring back the state saved by the last run (the server must already answer: the
        AWS services are restored through their APIs on this gateway's URL), then keep saving.
        Returns the notes about saved parts that could not be restored.

        The worker template starts here if the account has models (their endpoints' instances
        fork from it, and the next CreateEndpoint does not wait for its imports), or with the
        first CreateModel (``Registry.model_created``): a server that never starts an instance
        (a test's, a lesson without endpoints) does not import the container's libraries."""
        notes = self.persistence.restore()
        self.persistence.start()
        with self.registry.lock:
            has_models = bool(self.registry.models)
        if has_models:
            prewarm()
        return notes

    def client(self, service: str) -> Any:
        """A cached boto3 client for ``service`` on this gateway (clients are thread-safe)."""
        return self._client(service, SERVICE_APP_ID)

    def state_client(self, service: str) -> Any:
        """The same, for saving and restoring the state: its calls are not the service's
        (the call log leaves them out)."""
        return self._client(service, STATE_APP_ID)

    def _client(self, service: str, app_id: str) -> Any:
        with self._clients_lock:
            key = f"{app_id}/{service}"
            if key not in self._clients:
                self._clients[key] = make_client(
                    service, self.url, self.credentials, app_id, send=self._transport
                )
            return self._clients[key]

    # -- WSGI ---------------------------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """Route one request. Every path answers in its service's protocol; should one raise all
        the same (a bug of ours), the client still gets a parseable AWS-style InternalFailure,
        not the HTTP server's plain-text 500 page."""
        try:
            return self._route(environ, start_response)
        except Exception as exc:
            body = {"__type": "InternalFailure", "message": f"{type(exc).__name__}: {exc}"}
            headers = [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "InternalFailure"),
                ("x-amzn-RequestId", new_request_id()),
            ]
            return _respond(start_response, 500, headers, json.dumps(body).encode())

    def _route(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.call_log is not None:
            self.call_log.record(environ)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        path = environ.get("PATH_INFO", "")
        if target.startswith("SageMaker."):
            return self._control_plane(environ, start_response, target)
        if path.startswith("/_local/"):
            body = self.local.answer(path)
            status = 404 if body is None else 200
            payload = b"{}" if body is None else json.dumps(body).encode()
            return _respond(start_response, status, [("Content-Type", "application/json")], payload)
        service = _signing_service(environ)
        if service in (None, "sagemaker") and environ.get("REQUEST_METHOD") == "POST":
            match = INVOKE_PATH.match(path)
            if match:
                return _respond(start_response, *self.runtime.invoke(environ, match.group(1)))
            match = ASYNC_PATH.match(path)
            if match:
                return _respond(
                    start_response, *self.runtime.invoke_async(environ, match.group(1))
                )
        if service == "iam" and environ.get("REQUEST_METHOD") == "POST":
            raw = bytes(environ["wsgi.input"].read())
            environ["wsgi.input"] = io.BytesIO(raw)  # moto reads it again
            form = parse_qs(raw.decode("utf-8", "replace"))
            if form.get("Action") == ["SimulatePrincipalPolicy"]:
                answer = iam_routes.simulate_principal_policy(self.client("iam"), form)
                return _respond(start_response, *answer)
        if service == "sagemaker":
            return self._unserved_sagemaker(environ, start_response, path)
        if service == "application-autoscaling" and environ.get("REQUEST_METHOD") == "POST":
            amended = self.scaling_front.handle(
                environ, lambda env: self._moto_answer(env, "application-autoscaling")
            )
            if amended is not None:
                return _respond(start_response, *amended)
        if service == "logs" and environ.get("REQUEST_METHOD") == "POST":
            amended = self.logs_front.handle(environ, lambda env: self._moto_answer(env, "logs"))
            if amended is not None:
                return _respond(start_response, *amended)
        return self._moto(environ, start_response, service)

    def _moto_answer(self, environ: dict[str, Any], service: str) -> Answer:
        """moto's answer to a call to ``service``, kept to be amended."""
        status: list[str] = []
        headers: list[tuple[str, str]] = []

        def start(line: str, response_headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            status.append(line)
            headers.extend(response_headers)
            return lambda _data: None

        body = b"".join(self._moto(environ, start, service))
        kept = [(k, v) for k, v in headers if k.lower() != "content-length"]
        return int(status[0].split()[0]), kept, body

    def _unserved_sagemaker(
        self, environ: dict[str, Any], start_response: StartResponse, path: str
    ) -> list[bytes]:
        """A runtime call the local SageMaker does not offer (never moto's SageMaker)."""
        body: bytes = environ["wsgi.input"].read()
        call = unimplemented.identify(
            "sagemaker", environ.get("REQUEST_METHOD", ""), path, "", _headers(environ), body
        )
        if call is not None and call.operation is not None:
            return _respond(start_response, *unimplemented.not_implemented(call, new_request_id()))
        if call is not None and call.protocol == "json":  # an X-Amz-Target SageMaker lacks
            return _respond(start_response, *unimplemented.unknown_operation(call, new_request_id()))
        return _respond(
            start_response,
            404,
            [
                ("Content-Type", "application/json"),
                ("x-amzn-ErrorType", "UnknownOperationException"),
            ],
            json.dumps({"message": f"The local SageMaker does not serve {path} yet."}).encode(),
        )

    def _moto(
        self, environ: dict[str, Any], start_response: StartResponse, service: str | None
    ) -> Iterable[bytes]:
        """Hand a request to moto; a call nobody implements gets an AWS error naming it."""
        body: bytes = environ["wsgi.input"].read()
        environ["wsgi.input"] = io.BytesIO(body)
        call = unimplemented.identify(
            service,
            environ.get("REQUEST_METHOD", ""),
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", ""),
            _headers(environ),
            body,
        )
        if call is not None and not call.served:
            return _respond(start_response, *unimplemented.not_implemented(call, new_request_id()))
        if call is not None and call.operation is None and call.protocol in NAMED_PROTOCOLS:
            # Names no operation (REST requests are left to moto, which matches its routes).
            return _respond(start_response, *unimplemented.unknown_operation(call, new_request_id()))
        # FIDELITY services.iam-not-enforced DIFFERS: IAM is not enforced
        #   local: Any role works and no call is denied for lack of a permission.
        #   why: there is no account to grant permissions in; moto stores IAM resources but does not
        #     evaluate policies.
        #   notice: On AWS the execution role needs permissions (reading the model from S3, writing
        #     logs, ...) and a call without one fails with AccessDenied.
        try:
            response: Iterable[bytes] = self.moto(environ, start_response)
            if _may_change(environ, call):
                # after moto applied it, so the save that this starts sees the change
                self.persistence.touched(
                    service,
                    call.operation if call is not None else None,
                    environ.get("PATH_INFO"),
                )
                if service == "application-autoscaling":
                    self.registrations.changed()
        except Exception as exc:
            if call is None:
                return _respond(start_response, *_not_served(service))
            if isinstance(exc, NotImplementedError):
                answer = unimplemented.not_implemented(call, new_request_id())
                return _respond(start_response, *answer)
            detail = f"{type(exc).__name__}: {exc}"
            answer = unimplemented.internal_failure(call, detail, new_request_id())
            return _respond(start_response, *answer)
        return response

    def _control_plane(
        self, environ: dict[str, Any], start_response: StartResponse, target: str
    ) -> list[bytes]:
        body: bytes = environ["wsgi.input"].read()
        status, payload = control_api.handle(self.control, target, body)
        return _respond(
            start_response,
            status,
            [
                ("Content-Type", "application/x-amz-json-1.1"),
                ("x-amzn-RequestId", new_request_id()),
            ],
            payload,
        )

    def shutdown(self) -> None:
        """Save the state, then stop every job and endpoint's workers, ship what is left of
        the logs and metrics, and save the AWS parts that changed meanwhile."""
        self.logs.flush(timeout=3.0)
        self.metrics.flush(timeout=3.0)
        self.metric_sink.flush(timeout=3.0)
        self.persistence.close()
        self.transform_jobs.shutdown()
        self.autoscaler.stop()
        self.realtime_scaler.stop()
        self.async_service.stop()
        self.registry.shutdown()
        stop_all()
        stop_templates()
        self.logs.flush(timeout=3.0)
        self.metrics.flush(timeout=3.0)
        self.metric_sink.flush(timeout=3.0)
        self.persistence.save_changes()


def _not_served(service: str | None) -> tuple[int, list[tuple[str, str]], bytes]:
    """A request for a service the local SageMaker does not route (or unsigned, unrecognisable)
    that moto could not take either: a JSON error naming it, never a bare 500."""
    what = f"{service} requests" if service else "this request"
    return (
        404,
        [
            ("Content-Type", "application/json"),
            ("x-amzn-ErrorType", "UnknownOperationException"),
            ("x-amzn-RequestId", new_request_id()),
        ],
        json.dumps(
            {
                "__type": "UnknownOperationException",
                "message": f"The local SageMaker does not serve {what}.",
            }
        ).encode(),
    )


#: Operations that only read (the saver's own reads among them): they never mark a part to save.
_READ_PREFIXES = ("Describe", "Get", "List", "Head")


def _may_change(environ: dict[str, Any], call: unimplemented.Call | None) -> bool:
    """Whether a request to moto may change what it holds (then its part is saved again)."""
    if call is not None and call.operation is not None:
        return not call.operation.startswith(_READ_PREFIXES)
    return environ.get("REQUEST_METHOD") not in ("GET", "HEAD")


def _headers(environ: dict[str, Any]) -> dict[str, str]:
    """The request's headers, lower-case names (WSGI keeps Content-Type apart)."""
    headers = {
        key[5:].lower().replace("_", "-"): str(value)
        for key, value in environ.items()
        if key.startswith("HTTP_")
    }
    if environ.get("CONTENT_TYPE"):
        headers["content-type"] = str(environ["CONTENT_TYPE"])
    return headers


def _respond(
    start_response: StartResponse, status: int, headers: list[tuple[str, str]], body: bytes
) -> list[bytes]:
    headers = [*headers, ("Content-Length", str(len(body)))]
    start_response(f"{status} {_REASONS.get(status, 'Status')}", headers)
    return [body]


_REASONS = {
    200: "OK",
    202: "Accepted",
    400: "Bad Request",
    404: "Not Found",
    413: "Payload Too Large",
    424: "Failed Dependency",
    429: "Too Many Requests",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
