"""One endpoint instance: an HTTP server on 127.0.0.1 with the SageMaker container contract.

Run as ``python -m utils.local_sagemaker.container.server`` by the gateway's fleet manager. It
serves ``GET /ping`` and ``POST /invocations`` the way the scikit-learn serving container does:

* the user module and the model load lazily, on the first request (normally the first ping),
  so a broken ``model_fn`` or import fails the health check, as on AWS;
* a load failure answers with gunicorn's bare 500 page and is retried on the next request;
* a handler failure is logged by the app logger as ``Exception on /invocations [POST]`` with the
  traceback, and answered with Flask's HTML "500 Internal Server Error" page, which is the body
  SageMaker quotes in the ModelError.

Settings come from the environment, as in the container: ``SM_MODEL_DIR`` (the extracted model,
``/opt/ml/model`` on AWS), ``SAGEMAKER_PROGRAM`` (no default: unset, the load fails as on AWS),
``SAGEMAKER_SUBMIT_DIRECTORY`` (default ``<model dir>/code``; ``/opt/ml/model`` prefixes are mapped
onto the local model dir, an ``s3://`` sourcedir.tar.gz is downloaded, and a ``requirements.txt``
in the code is installed first: :mod:`.user_code`) and ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT`` (default JSON).

Only the gateway may call it: a request without the worker's secret header is answered 403
before anything else happens (``worker_secret``).

The first stdout line is ``PORT_MARKER<port>`` so the gateway learns the port the OS picked; all
other output is the container log. The worker exits when its parent (the gateway) dies: on every
platform when its stdin pipe from the gateway closes (the operating system closes it whatever
way the gateway ended, even killed), and on Linux also at once through ``PR_SET_PDEATHSIG``.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import sys
import threading
import traceback
from pathlib import Path
from typing import Any

from werkzeug.exceptions import InternalServerError, MethodNotAllowed, NotFound
from werkzeug.wrappers import Request, Response

from ..core import worker_secret
from ..core.httpserver import KeepAliveHandler, LocalWSGIServer
from ..core.worker_contract import PORT_MARKER, WORKER_PORT_ENV
from . import encoders, memory_bound, user_code
from .handlers import Transformer, import_module_named, load_user_module
from .libraries import emulate_image_libraries

#: The body gunicorn sends when the WSGI app itself raises (the sklearn container loads the
#: user module inside the app, so a failing model_fn reaches nginx as this page).
GUNICORN_500 = (
    "<html>\n  <head>\n    <title>Internal Server Error</title>\n  </head>\n  <body>\n"
    "    <h1><p>Internal Server Error</p></h1>\n    \n  </body>\n</html>\n"
)

log = logging.getLogger("sagemaker_sklearn_container.serving")


def _watch_parent() -> None:
    """Exit with the gateway, so no instance outlives the local SageMaker."""
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL("libc.so.6", use_errno=True)
            pr_set_pdeathsig = 1
            libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
        except OSError:
            pass

    def wait_for_eof() -> None:
        try:
            while sys.stdin.buffer.read(4096):
                pass
        except (OSError, ValueError):
            pass
        os._exit(0)

    if not sys.stdin.isatty():
        threading.Thread(target=wait_for_eof, name="parent-watch", daemon=True).start()


class ContainerApp:
    """WSGI app with the container's two routes and lazy model loading."""

    def __init__(self) -> None:
        self.model_dir = os.environ.get("SM_MODEL_DIR", "/opt/ml/model")
        self.submit_directory = os.environ.get("SAGEMAKER_SUBMIT_DIRECTORY") or "/opt/ml/model/code"
        #: This worker's own folder (code downloaded from S3), beside the unpacked model.
        self.scratch = Path(self.model_dir).parent / f"worker-{os.getpid()}"
        # FIDELITY container.program-required CONFIRMED: no default handler script
        #   local: with SAGEMAKER_PROGRAM unset the worker imports no script, not even a
        #     code/inference.py the archive holds: every request logs "Encountered an unexpected
        #     error." and the traceback of importlib.import_module(None) (AttributeError:
        #     'NoneType' object has no attribute 'startswith'), answers 500, and the endpoint
        #     fails its ping health check.
        #   source: aws/sagemaker-containers src/sagemaker_containers/_env.py (module_name =
        #     os.environ.get(USER_PROGRAM_ENV, None)) and aws/sagemaker-scikit-learn-container
        #     src/sagemaker_sklearn_container/serving.py (main calls import_module(module_name,
        #     ...), whose except Exception logs that line and re-raises); the image's Dockerfiles
        #     set no SAGEMAKER_PROGRAM. The SDK sets it when it packs your script.
        self.program = os.environ.get("SAGEMAKER_PROGRAM") or None
        self.default_accept = (
            os.environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or encoders.JSON
        )
        self.app_logger = logging.getLogger((self.program or "serving").removesuffix(".py"))
        self._transformer: Transformer | None = None
        self._lock = threading.Lock()

    def _ensure_loaded(self) -> Transformer:
        transformer = self._transformer
        if transformer is not None:
            return transformer
        with self._lock:
            if self._transformer is None:
                if self.program is None:
                    log.info("Encountered an unexpected error.")
                    import_module_named(None)  # raises, as the container's import does
                code_dir = user_code.code_directory(
                    self.submit_directory, self.model_dir, self.scratch
                )
                site_packages = user_code.install_requirements(code_dir)
                if site_packages is not None:
                    user_code.activate(site_packages)
                module = load_user_module(code_dir, self.program or "")
                candidate = Transformer(module)
                candidate.initialize(self.model_dir)
                self._transformer = candidate
            return self._transformer

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        try:
            transformer = self._ensure_loaded()
        except Exception:
            log.error(
                "Error handling request %s\n%s", request.path, traceback.format_exc().rstrip()
            )
            response = Response(GUNICORN_500, status=500, content_type="text/html")
            return response(environ, start_response)
        response = self._dispatch(request, transformer)
        return response(environ, start_response)

    def _dispatch(self, request: Request, transformer: Transformer) -> Response:
        if request.path == "/ping":
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                return MethodNotAllowed(valid_methods=["GET", "HEAD", "OPTIONS"]).get_response(
                    request.environ
                )
            return Response(b"", status=200, content_type=encoders.JSON)
        if request.path != "/invocations":
            return NotFound().get_response(request.environ)
        if request.method != "POST":
            return MethodNotAllowed(valid_methods=["POST"]).get_response(request.environ)
        headers = request.headers
        content_type = headers.get("ContentType") or headers.get("Content-Type") or encoders.JSON
        accept = headers.get("Accept")
        if not accept or accept == encoders.ANY:
            accept = self.default_accept
        content: str | bytes = (
            request.get_data(as_text=True)
            if content_type in encoders.UTF8_TYPES
            else request.get_data()
        )
        try:
            reply = transformer.transform(content, content_type, accept)
        except Exception:
            self.app_logger.error(
                "Exception on /invocations [POST]\n%s", traceback.format_exc().rstrip()
            )
            return InternalServerError().get_response(request.environ)
        response = Response(reply.body, status=reply.status, content_type=reply.content_type)
        for key, value in (reply.headers or {}).items():
            response.headers[key] = value
        return response


access_log = logging.getLogger("access")


class _Handler(KeepAliveHandler):
    """Logs every request, like the container's nginx access log does on AWS."""

    access_log = staticmethod(access_log.info)


# FIDELITY platform.containers DIFFERS: no containers
#   local: Your `code/inference.py` runs in a worker process with this project's Python and
#     libraries, emulating the serving stack of AWS's scikit-learn container. The image URI you
#     pass is recorded, not pulled, and other frameworks' containers are not emulated.
#   why: the tutorial must run without Docker or an AWS account; what the lessons teach is the
#     scikit-learn container's behaviour (handlers, defaults, errors, logs).
#   notice: On AWS the image's own Python and libraries run your code, so it must import and
#     load there too; setup() checks that scikit-learn and numpy match the image.
def main() -> None:
    """Start one instance and serve until the gateway stops it."""
    logging.basicConfig(
        format="%(asctime)s %(levelname)s - %(name)s - %(message)s",
        level=logging.INFO,
        stream=sys.stdout,
    )
    secret = worker_secret.take_from_environment()  # before any user code can read it
    memory_bound.apply_from_environment()  # before any library or model is loaded
    _watch_parent()
    # The image decides the libraries the user code sees (see libraries.py): a model trained
    # with another scikit-learn than the image's fails its health check, as on AWS.
    emulate_image_libraries()
    app = worker_secret.GatewayOnly(ContainerApp(), secret)
    port = int(os.environ.get(WORKER_PORT_ENV, "0"))
    server = LocalWSGIServer(port, app, _Handler)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    print(f"{PORT_MARKER}{server.server_port}", flush=True)
    log.info("Serving the SageMaker container contract (GET /ping, POST /invocations)")
    server.serve_forever()


if __name__ == "__main__":
    main()
