# Maintained by the template: a template update replaces this file. Your code goes in job.py.
"""The documented exit codes, how severe each is, and what each failure maps to.

The mapping is called from ``cli`` only: business logic raises, and the
command (``cli.main``) or the Lambda handler (``cli.execute``) decides what
the process reports. botocore is looked at only when it is already imported,
so a configuration error never pays for importing it.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterable
from enum import IntEnum

from .errors import (
    SIGPIPE,
    ConfigError,
    CredentialError,
    FindingsRemain,
    Interrupted,
    OutOfTime,
    OutputFailed,
    PartialFailure,
    SafetyRefusal,
)

__all__ = [
    "CREDENTIAL_ERROR_CODES",
    "PERMISSION_ERROR_CODES",
    "SEVERITY",
    "ExitCode",
    "exit_code_for",
    "most_severe",
]


class ExitCode(IntEnum):
    OK = 0
    CONFIG = 1  # configuration or usage error
    CREDENTIALS = 2  # credentials missing or invalid; an unusable AWS config or credentials file
    NETWORK = 3  # endpoint unreachable, connect or read timeout, the run's time bound passed
    PERMISSION = 4  # access denied
    AWS_ERROR = 5  # any other AWS API error, an answer that cannot be parsed, or items that failed
    REFUSED = 6  # refused for safety (account not allowed)
    FINDINGS = 7  # a report job found findings that remain (see errors.FindingsRemain)
    OUTPUT_FAILED = 8  # the run's own output (its log, a report) could not be written
    UNEXPECTED = 99  # a bug: the traceback is logged
    INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2
    OUTPUT_CLOSED = 141  # stdout closed (a pipe's reader left): 128 + SIGPIPE (13)
    TERMINATED = 143  # SIGTERM: 128 + 15


# Least to most severe: a run over many targets exits with the worst one. A
# stop by signal outranks everything (the run did not finish), then a bug,
# then output that could not be written (what the run did may be unrecorded),
# then a safety refusal, then problems that need a person before a re-run.
SEVERITY = (
    ExitCode.OK,
    ExitCode.FINDINGS,
    ExitCode.AWS_ERROR,
    ExitCode.NETWORK,
    ExitCode.PERMISSION,
    ExitCode.CREDENTIALS,
    ExitCode.CONFIG,
    ExitCode.REFUSED,
    ExitCode.OUTPUT_FAILED,
    ExitCode.UNEXPECTED,
    ExitCode.OUTPUT_CLOSED,
    ExitCode.TERMINATED,
    ExitCode.INTERRUPTED,
)

# Error codes AWS uses for bad or expired credentials; several come with HTTP 403.
CREDENTIAL_ERROR_CODES = frozenset(
    {
        "InvalidClientTokenId",
        "UnrecognizedClientException",
        "InvalidAccessKeyId",
        "SignatureDoesNotMatch",
        "IncompleteSignature",
        "ExpiredToken",
        "ExpiredTokenException",
        "InvalidToken",
        "AuthFailure",
        "MissingAuthenticationToken",
        "RequestExpired",
    }
)
PERMISSION_ERROR_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "UnauthorizedAccess",
        "AuthorizationError",
        "AuthorizationErrorException",
        "Forbidden",
        "AllAccessDisabled",
    }
)


def most_severe(codes: Iterable[ExitCode]) -> ExitCode:
    return max(codes, key=SEVERITY.index, default=ExitCode.OK)


# The script's own failures, each with its code; looked up in this order.
_OWN_ERRORS: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (OutputFailed, ExitCode.OUTPUT_FAILED),
    (ConfigError, ExitCode.CONFIG),
    (CredentialError, ExitCode.CREDENTIALS),
    (SafetyRefusal, ExitCode.REFUSED),
    (PartialFailure, ExitCode.AWS_ERROR),
    (FindingsRemain, ExitCode.FINDINGS),
    (OutOfTime, ExitCode.NETWORK),
    (KeyboardInterrupt, ExitCode.INTERRUPTED),
)


def exit_code_for(error: BaseException | None) -> ExitCode:
    """Map a failure to the documented exit code; most specific first."""
    if error is None:
        return ExitCode.OK
    if isinstance(error, Interrupted):
        if error.signum == SIGPIPE:
            return ExitCode.OUTPUT_CLOSED
        return ExitCode.TERMINATED if error.signum == signal.SIGTERM else ExitCode.INTERRUPTED
    for kind, code in _OWN_ERRORS:
        if isinstance(error, kind):
            return code
    if "botocore" in sys.modules:  # otherwise it cannot be a botocore error
        aws_code = _aws_exit_code(error)
        if aws_code is not None:
            return aws_code
    return ExitCode.UNEXPECTED


def _aws_exit_code(error: BaseException) -> ExitCode | None:
    from botocore import exceptions as aws
    from botocore.parsers import ResponseParserError

    # Where the credentials come from counts too: an AWS config or credentials
    # file that cannot be parsed, a source_profile loop (InfiniteLoopConfigError)
    # or another profile botocore cannot use (InvalidConfigError). botocore's
    # message names the file or the profiles.
    if isinstance(
        error,
        aws.NoCredentialsError
        | aws.PartialCredentialsError
        | aws.CredentialRetrievalError
        | aws.ProfileNotFound
        | aws.TokenRetrievalError
        | aws.SSOError
        | aws.ConfigParseError
        | aws.InvalidConfigError,
    ):
        return ExitCode.CREDENTIALS
    if isinstance(error, aws.ConnectionError | aws.HTTPClientError):
        return ExitCode.NETWORK
    if isinstance(error, aws.ClientError):
        code = error.response.get("Error", {}).get("Code", "")
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in CREDENTIAL_ERROR_CODES:
            return ExitCode.CREDENTIALS
        if code in PERMISSION_ERROR_CODES or status == 403:
            return ExitCode.PERMISSION
        return ExitCode.AWS_ERROR
    # An answer botocore cannot parse is not AWS's (another server on the
    # endpoint's port, a proxy's error page): an answer the script cannot
    # use, like any other AWS error, not a bug in the script.
    if isinstance(error, aws.BotoCoreError | ResponseParserError):
        return ExitCode.AWS_ERROR
    return None
