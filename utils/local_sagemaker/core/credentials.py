"""The local SageMaker's own access key: made at first start, kept in the state folder, owner-only.

Every request to the local SageMaker must be signed with AWS Signature Version 4, as on AWS, so
only someone who can read this key can drive it (see ``SECURITY.md``). The key is random per
state folder and never leaves the machine: ``python -m utils.local_sagemaker env``,
``utils.session.setup()``, the gateway's own clients and the endpoint workers all read it from
``<state folder>/credentials.json``.

The file is created once, atomically (a second process racing the first reads the same key), with
mode 0600. On POSIX systems a file that another user owns, or that others may read, is refused
rather than used: a key others can read proves nothing.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import string
import sys
from dataclasses import dataclass
from pathlib import Path

from .settings import REGION, state_dir

CREDENTIALS_FILE = "credentials.json"

#: Access keys start with this, so nobody mistakes one for an AWS key (those start with AKIA or
#: ASIA) and secret scanners leave it alone. 20 characters in all, like AWS's.
ACCESS_KEY_PREFIX = "LSMK"
_KEY_ALPHABET = string.ascii_uppercase + string.digits


@dataclass(frozen=True)
class LocalCredentials:
    """An access key id and its secret, as AWS issues them to an IAM user."""

    access_key_id: str
    secret_access_key: str

    def __repr__(self) -> str:  # never print the secret by accident
        return f"LocalCredentials(access_key_id={self.access_key_id!r}, secret_access_key=***)"


class CredentialsFileError(RuntimeError):
    """The credentials file exists but must not be used (unreadable, foreign or exposed)."""


def new_credentials() -> LocalCredentials:
    """A fresh random key: 16 random characters after the prefix, a 40-character secret."""
    key_id = ACCESS_KEY_PREFIX + "".join(secrets.choice(_KEY_ALPHABET) for _ in range(16))
    return LocalCredentials(key_id, secrets.token_urlsafe(30))


def load_or_create(state_dir: Path) -> LocalCredentials:
    """The credentials stored in ``state_dir``, creating them on first use."""
    path = state_dir / CREDENTIALS_FILE
    try:
        return _load(path)
    except FileNotFoundError:
        pass
    state_dir.mkdir(parents=True, exist_ok=True)
    _create(path, new_credentials())
    return _load(path)


def _create(path: Path, credentials: LocalCredentials) -> None:
    """Write ``credentials`` to ``path`` unless it exists: a temporary file, then a hard link.

    The link either creates the final name with the complete content or fails because another
    process won the race; a reader never sees a half-written file.
    """
    data = json.dumps(
        {
            "AccessKeyId": credentials.access_key_id,
            "SecretAccessKey": credentials.secret_access_key,
        }
    ).encode()
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass  # another process created it first: use theirs
        except OSError:
            # No hard links on this filesystem: an exclusive create is the next best thing.
            with contextlib.suppress(FileExistsError):
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
    finally:
        tmp.unlink(missing_ok=True)


def _load(path: Path) -> LocalCredentials:
    with open(path, "rb") as handle:
        if sys.platform != "win32":
            _check_private(path, os.fstat(handle.fileno()))
        raw = handle.read()
    try:
        data = json.loads(raw)
        return LocalCredentials(str(data["AccessKeyId"]), str(data["SecretAccessKey"]))
    except (ValueError, KeyError, TypeError):
        raise CredentialsFileError(
            f"{path} is not a credentials file of the local SageMaker; delete it and start "
            "again to get a new key."
        ) from None


def _check_private(path: Path, stat: os.stat_result) -> None:
    if stat.st_uid != os.getuid():
        raise CredentialsFileError(
            f"{path} belongs to another user; the local SageMaker only trusts a key its own "
            "user created. Use a state folder of your own (LOCAL_SAGEMAKER_STATE_DIR)."
        )
    if stat.st_mode & 0o077:
        raise CredentialsFileError(
            f"{path} can be read by other users (mode {stat.st_mode & 0o777:o}), so its key "
            "proves nothing. Delete the file; the local SageMaker makes a new one at its next "
            "start (stop it first: python -m utils.local_sagemaker stop)."
        )


def client_environment_for(url: str) -> dict[str, str]:
    """AWS settings that send every AWS client to ``url`` with the local access key.

    The gateway's own clients and every instance's container get them too: instances reach the
    local AWS services the way a container on AWS reaches AWS through its execution role.
    """
    credentials = load_or_create(state_dir())
    return {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": credentials.access_key_id,
        "AWS_SECRET_ACCESS_KEY": credentials.secret_access_key,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        # No instance-metadata probing (importing the SageMaker SDK would otherwise stall).
        "AWS_EC2_METADATA_DISABLED": "true",
    }
