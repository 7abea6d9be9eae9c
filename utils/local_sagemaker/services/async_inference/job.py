"""One InvokeEndpointAsync request, from the moment it is accepted until its result is written."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

#: Request members passed on to the container as its own headers.
CONTAINER_HEADERS = {
    "content_type": "Content-Type",
    "accept": "Accept",
    "custom_attributes": "X-Amzn-SageMaker-Custom-Attributes",
}


@dataclass
class Job:
    """A queued request: where its input is, where its result goes, and its deadlines."""

    inference_id: str
    endpoint: str
    content_type: str | None
    accept: str | None
    custom_attributes: str | None
    input_location: str | None
    body: bytes | None
    output_location: str
    failure_location: str
    received: float  # epoch seconds
    deadline: float  # monotonic
    timeout: float
    enqueued: float = field(default_factory=time.monotonic)

    def container_headers(self) -> dict[str, str]:
        """What the container receives with the payload (Content-Length is the client's)."""
        send = {}
        for attr, header in CONTAINER_HEADERS.items():
            value = getattr(self, attr)
            if value:
                send[header] = value
        send["X-Amzn-SageMaker-Inference-Id"] = self.inference_id
        return send
