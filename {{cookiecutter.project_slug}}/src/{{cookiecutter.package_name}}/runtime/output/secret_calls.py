# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""Calls whose requests or answers carry secrets never reach a log.

At ``LOG_LEVEL=DEBUG`` botocore logs every request it sends and every
answer it parses (``botocore.endpoint`` "Making request" and "Sending http
request", ``botocore.parsers`` "Response body", ``botocore.auth``'s
canonical request, ``urllib3.connectionpool``), and the answer is logged
before the caller sees it, so scrubbing the value once it is known comes
too late. Instead, while a thread is inside a client call to one of
``SECRET_OPERATIONS``, every record below WARNING from a logger outside
this package is dropped: whatever shape the secret has, no fragment of it
is written.

The call in flight is found on the logging thread's own stack (botocore
runs a call, its retries and its logging in the thread that made it), so
this holds for every client, however and wherever it was made, in any
number of threads, and for calls made inside other calls (an AssumeRole
to refresh credentials during an S3 request). If botocore's call method
ever cannot be found, every record below WARNING from botocore and urllib3
is dropped instead: this fails closed.

A job that calls another API carrying secrets declares it with
``declare_secret_operations("service", "OperationName", ...)``.
"""

from __future__ import annotations

import logging
import sys
import threading
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.client import BaseClient

__all__ = ["SECRET_OPERATIONS", "SecretCallFilter", "declare_secret_operations", "in_secret_call"]

# (botocore service name, operation name): reads of secret values, calls that
# hand out credentials or keys, and writes that send a secret in the request.
_BUILT_IN = {
    "secretsmanager": (
        "GetSecretValue",
        "BatchGetSecretValue",
        "CreateSecret",
        "PutSecretValue",
        "UpdateSecret",
        "GetRandomPassword",
    ),
    "sts": (
        "AssumeRole",
        "AssumeRoleWithSAML",
        "AssumeRoleWithWebIdentity",
        "AssumeRoot",
        "GetSessionToken",
        "GetFederationToken",
    ),
    "ssm": (
        "GetParameter",
        "GetParameters",
        "GetParametersByPath",
        "GetParameterHistory",
        "PutParameter",
    ),
    "kms": (
        "Decrypt",
        "Encrypt",
        "ReEncrypt",
        "GenerateDataKey",
        "GenerateDataKeyWithoutPlaintext",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateRandom",
        "DeriveSharedSecret",
    ),
    "sso": ("GetRoleCredentials",),
    "sso-oidc": ("CreateToken", "CreateTokenWithIAM", "RegisterClient"),
    "cognito-identity": ("GetCredentialsForIdentity",),
    "iam": (
        "CreateAccessKey",
        "CreateLoginProfile",
        "UpdateLoginProfile",
        "CreateServiceSpecificCredential",
        "ResetServiceSpecificCredential",
    ),
    "ecr": ("GetAuthorizationToken",),
    "codeartifact": ("GetAuthorizationToken",),
    "redshift": ("GetClusterCredentials", "GetClusterCredentialsWithIAM"),
}
SECRET_OPERATIONS: set[tuple[str, str]] = {
    (service, operation) for service, operations in _BUILT_IN.items() for operation in operations
}
_API_CALL = "_make_api_call"
_WIRE_LOGGERS = ("botocore", "urllib3", "boto3", "s3transfer")
_lock = threading.Lock()


def declare_secret_operations(service: str, *operations: str) -> None:
    """Treat these operations of ``service`` (botocore's name: "ssm") as secret-carrying."""
    with _lock:
        SECRET_OPERATIONS.update((service, operation) for operation in operations)


def in_secret_call(frame: FrameType | None = None) -> bool:
    """Whether this thread is inside a client call to a secret-carrying operation.

    A frame of ``BaseClient._make_api_call`` (found by name, so a wrapper
    around it changes nothing) names the client and the operation.
    """
    base_client = _base_client()
    if base_client is None:
        return True  # botocore changed: treat every call as carrying secrets
    frame = frame or sys._getframe(1)
    while frame is not None:
        if frame.f_code.co_name == _API_CALL:
            client = frame.f_locals.get("self")
            if isinstance(client, base_client):
                service = client.meta.service_model.service_name
                if (service, frame.f_locals.get("operation_name")) in SECRET_OPERATIONS:
                    return True
        frame = frame.f_back
    return False


class SecretCallFilter(logging.Filter):
    """Drops other libraries' records below WARNING logged inside a secret-carrying call."""

    def __init__(self, own_package: str) -> None:
        super().__init__()
        self._own = own_package

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.WARNING or "botocore" not in sys.modules:
            return True
        name = record.name
        if name == self._own or name.startswith(self._own + "."):
            return True
        if _base_client() is None:
            return not name.startswith(_WIRE_LOGGERS)
        return not in_secret_call(sys._getframe(1))


def _base_client() -> type[BaseClient] | None:
    """botocore's client class, if it still makes calls the way this module knows."""
    client = sys.modules.get("botocore.client")
    base = getattr(client, "BaseClient", None)
    if isinstance(base, type) and callable(getattr(base, _API_CALL, None)):
        return base
    return None
