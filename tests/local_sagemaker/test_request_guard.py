"""The first checks of every request (Host, browser origins) and the local key's file, in-process.

The end-to-end refusals are in ``test_security``; here the cases a running server cannot show
without restarting: an origin allowed by ``LOCAL_SAGEMAKER_ALLOWED_ORIGINS``, and the rules of
the credentials file.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from utils.local_sagemaker.core import credentials
from utils.local_sagemaker.wire.request_guard import RequestGuard

PORT = 8765
ALLOWED = "http://localhost:3000"


def _service(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    """A service that answers 200 and, like moto's, allows any origin itself."""
    start_response("200 OK", [("Access-Control-Allow-Origin", "*"), ("Content-Type", "text/plain")])
    return [b"served"]


def _call(**environ: str) -> tuple[str, dict[str, str], bytes]:
    guard = RequestGuard(_service, PORT, [ALLOWED + "/"], lambda path: False)
    answer: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
        answer["status"], answer["headers"] = status, headers

    base = {"REQUEST_METHOD": "GET", "PATH_INFO": "/bucket/key", "HTTP_HOST": f"127.0.0.1:{PORT}"}
    body = b"".join(guard({**base, **environ}, start_response))
    headers = {}
    for name, value in answer["headers"]:
        assert name.lower() not in headers, f"{name} sent twice"
        headers[name.lower()] = value
    return answer["status"], headers, body


def test_only_the_loopback_names_on_our_port_are_served() -> None:
    for host in (f"127.0.0.1:{PORT}", f"localhost:{PORT}", f"[::1]:{PORT}", f"LOCALHOST:{PORT}"):
        assert _call(HTTP_HOST=host)[0] == "200 OK"
    for host in ("attacker.example", f"attacker.example:{PORT}", "127.0.0.1:1", "localhost", ""):
        status, _, body = _call(HTTP_HOST=host)
        assert status == "403 Forbidden"
        assert b"<Code>AccessDenied</Code>" in body


def test_an_allowed_origin_gets_its_preflight_and_cors_headers_but_nothing_more() -> None:
    status, headers, body = _call(
        REQUEST_METHOD="OPTIONS",
        HTTP_ORIGIN=ALLOWED,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization,x-amz-date",
    )
    assert status == "200 OK"
    assert headers["access-control-allow-origin"] == ALLOWED
    assert headers["access-control-allow-methods"] == "PUT"
    assert headers["access-control-allow-headers"] == "authorization,x-amz-date"
    assert body == b""
    status, headers, body = _call(HTTP_ORIGIN=ALLOWED, HTTP_SEC_FETCH_SITE="cross-site")
    assert (status, body) == ("200 OK", b"served")
    assert headers["access-control-allow-origin"] == ALLOWED  # ours, not the service's "*"
    assert "x-amzn-requestid" in headers["access-control-expose-headers"].lower()


def test_other_origins_and_cross_site_requests_are_refused() -> None:
    for environ in (
        {"HTTP_ORIGIN": "http://localhost:3001"},
        {"HTTP_ORIGIN": "null"},
        {"HTTP_SEC_FETCH_SITE": "cross-site"},
        {
            "REQUEST_METHOD": "OPTIONS",
            "HTTP_ORIGIN": "https://evil.example",
            "HTTP_ACCESS_CONTROL_REQUEST_METHOD": "POST",
        },
    ):
        status, headers, _ = _call(**environ)
        assert status == "403 Forbidden", environ
        assert not any(name.startswith("access-control-") for name in headers)
    for site in ("same-origin", "same-site", "none"):
        assert _call(HTTP_SEC_FETCH_SITE=site)[0] == "200 OK"


# -- the key's file ------------------------------------------------------------------------------


def test_the_key_is_made_once_owner_only_and_reused(tmp_path: Path) -> None:
    first = credentials.load_or_create(tmp_path)
    assert first == credentials.load_or_create(tmp_path)
    assert first.access_key_id.startswith("LSMK") and len(first.access_key_id) == 20
    assert len(first.secret_access_key) == 40
    assert first.secret_access_key not in repr(first)
    stored = json.loads((tmp_path / "credentials.json").read_text())
    assert stored["AccessKeyId"] == first.access_key_id
    if sys.platform != "win32":
        assert (tmp_path / "credentials.json").stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["credentials.json"]  # no temporary left


def test_processes_starting_at_once_get_the_same_key(tmp_path: Path) -> None:
    found: list[credentials.LocalCredentials] = []
    threads = [
        threading.Thread(target=lambda: found.append(credentials.load_or_create(tmp_path)))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(found)) == 1


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_a_key_others_can_read_is_refused(tmp_path: Path) -> None:
    credentials.load_or_create(tmp_path)
    os.chmod(tmp_path / "credentials.json", 0o644)
    with pytest.raises(credentials.CredentialsFileError, match="can be read by other users"):
        credentials.load_or_create(tmp_path)


def test_a_damaged_key_file_says_what_to_do(tmp_path: Path) -> None:
    path = tmp_path / "credentials.json"
    path.write_text("not json")
    path.chmod(0o600)
    with pytest.raises(credentials.CredentialsFileError, match="delete it"):
        credentials.load_or_create(tmp_path)
