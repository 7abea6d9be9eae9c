"""moto's server app, as the gateway runs it in-process for every AWS service it does not own.

moto's :class:`~moto.moto_server.werkzeug_app.DomainDispatcherApplication` picks the backend for
each request from a host name (``logs.us-east-1.amazonaws.com``, inferred from the signature's
credential scope). To do so it lists moto's package folder, a directory read and about 180
``stat`` calls, on every request, under one lock; that was about a quarter of the CPU of each
call the gateway's own telemetry makes every second (``put_log_events``, ``put_metric_data``).
Which backend serves a host depends on nothing but the host name and moto's installed files, so
:class:`MotoApp` remembers each answer it finds. A host no backend serves is asked again each
time, as before (moto then prints its notice each time).
"""

from __future__ import annotations

from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

#: More distinct hosts than this (none are expected: one per service and region) start over.
MAX_REMEMBERED_HOSTS = 1024


class MotoApp(DomainDispatcherApplication):
    """moto's WSGI app for all its services, remembering the backend found for each host."""

    def __init__(self) -> None:
        super().__init__(create_backend_app)
        self._backends: dict[str, Any] = {}

    def get_backend_for_host(self, host: str | None) -> Any:
        # No lock of its own, and none needed: moto calls this under its lock (get_application),
        # and even without it a host's backend is the same whoever finds it first (a name that
        # depends only on the host), and a dict's get, set and clear are each atomic, so two
        # first requests racing can only both look it up (tests/local_sagemaker/test_moto_app).
        if host is None:
            return None
        backend = self._backends.get(host)
        if backend is None:
            backend = super().get_backend_for_host(host)
            if backend:
                if len(self._backends) >= MAX_REMEMBERED_HOSTS:
                    self._backends.clear()
                self._backends[host] = backend
        return backend
