"""The top layer: HTTP in and out, the process that serves it, and the command line.

The gateway builds every service and routes requests to them (:mod:`.gateway`); the control
plane's JSON 1.1 (:mod:`.control_api`), the runtime's rest-json (:mod:`.runtime_routes`) and the
private ``/_local`` routes (:mod:`.local_routes`) turn HTTP into service calls and back;
:mod:`.daemon` starts, finds and stops the server process; :mod:`.cli` is the command line.
"""
