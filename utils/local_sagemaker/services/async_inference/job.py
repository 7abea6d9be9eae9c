"""One InvokeEndpointAsync request, from the moment it is accepted until its result is written."""

from __future__ import annotations

import time
from dataclasses import dataclass, field


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
        """What the container receives with the payload: the request members it passes on, set
        ones only, and the inference ID (Content-Length is the client's)."""
        members = {
            "Content-Type": self.content_type,
            "Accept": self.accept,
            "X-Amzn-SageMaker-Custom-Attributes": self.custom_attributes,
        }
        headers = {header: value for header, value in members.items() if value}
        headers["X-Amzn-SageMaker-Inference-Id"] = self.inference_id
        return headers
