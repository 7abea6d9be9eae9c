"""What the gateway answers to a request it cannot even parse as HTTP: AWS-style JSON, not HTML.

Python's HTTP server refuses some requests before any application code sees them: a header line
over 64 KiB or more than 100 headers (431), a request line that is too long (414) or malformed
(400), an HTTP version it does not speak (505). Its stock answer is an HTML page, which no AWS
SDK can parse. :class:`GatewayRequestHandler` answers the same refusals as an AWS error body
(``__type`` and ``message``, plus ``x-amzn-ErrorType``), which botocore's JSON and rest-json
parsers read as a ``ClientError``, and always with a 4xx status: the request is at fault.
"""

from __future__ import annotations

import json

from ..core.httpserver import KeepAliveHandler

#: The error code for each status the HTTP layer may refuse a request with.
CODES = {
    400: "BadRequest",
    408: "RequestTimeout",
    413: "RequestEntityTooLarge",
    414: "RequestURITooLong",
    431: "RequestHeaderFieldsTooLarge",
}


# FIDELITY services.unparseable-request UNCONFIRMED: a request too large or malformed to parse as HTTP
#   local: HTTP 431 (headers over 64 KiB in one line, or more than 100 of them), 414 or 400, with
#     a JSON AWS error body such as {"__type": "RequestHeaderFieldsTooLarge", "message": "Line
#     too long"}; an unsupported HTTP version gets 400 rather than 505.
#   why: AWS's front ends refuse such requests before the service sees them, and their limits
#     and texts are not published for SageMaker; the status follows HTTP, the body is one every
#     AWS SDK can parse.
#   notice: the status, limits and text can differ on AWS.
class GatewayRequestHandler(KeepAliveHandler):
    """The gateway's request handler: HTTP-level refusals in AWS's error form."""

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        status = code if 400 <= code < 500 else 400
        error_code = CODES.get(status, "BadRequest")
        text = message or self.responses.get(code, ("Bad Request",))[0]
        body = json.dumps({"__type": error_code, "message": text}).encode()
        self.log_error("code %d, message %s", code, text)
        self.send_response(status, text)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-ErrorType", error_code)
        self.send_header("Connection", "close")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
