"""A small fault-injecting HTTP proxy for end-to-end tests, on 127.0.0.1 only.

It sits between the baked CLI (``AWS_ENDPOINT_URL`` points at it) and moto's
server, and according to a seeded ``FaultPlan`` answers 503 SlowDown or 500
before forwarding, resets the connection before or after the request reached
the server, adds latency, answers 403 to one kind of operation or to
AssumeRole into one account, or makes DeleteObjects fail some keys (the keys
are taken out of the forwarded request, so they really stay), or answers some
keys ``PreconditionFailed`` as if changed since listed (also kept), names a key
never sent in the answer, holds a big DeleteObjects past the client's read
timeout, or drops a listing item's ``LastModified``. It records each
DeleteObjects' size and the ETag sent with every key. ``BlackHole`` accepts
connections and never answers.
"""

from __future__ import annotations

import http.client
import random
import re
import socket
import struct
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/"
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade"}
CHECKSUM_HEADERS = ("content-md5", "x-amz-checksum-", "x-amz-sdk-checksum-algorithm")


@dataclass
class FaultPlan:
    seed: int = 0
    slow_down: float = 0.0  # share of requests answered 503 SlowDown, not forwarded
    internal_error: float = 0.0  # share answered 500 InternalError, not forwarded
    reset_before: float = 0.0  # share whose connection is reset before forwarding
    reset_after: float = 0.0  # share forwarded, then reset without an answer
    fail_keys: float = 0.0  # share of DeleteObjects keys reported failed (and kept)
    sticky_key_failures: bool = False  # the same keys fail on every attempt
    latency: float = 0.0  # seconds added before each request is handled
    deny: str | None = None  # operation kind answered 403 AccessDenied
    only: str | None = None  # apply the random faults to this operation kind only
    deny_assume_role: str | None = None  # account whose roles STS refuses to hand out
    precondition_failed: float = 0.0  # share of DeleteObjects keys answered PreconditionFailed
    phantom_key_error: bool = False  # delete answers also name a key that was never sent
    time_out_over: int = 0  # DeleteObjects of more keys: held timeout_hold s, then reset
    timeout_hold: float = 0.0
    strip_last_modified: bool = False  # listings lose their first item's LastModified


def operation_kind(method: str, path: str, query: str) -> str:
    if method == "POST" and "delete" in query.split("&"):
        return "delete_objects"
    if method == "GET" and "list-type=2" in query:
        return "list_objects"
    if method == "GET" and "versions" in query.split("&"):
        return "list_versions"
    if method == "POST" and path in ("/", ""):
        return "query_api"  # STS, SNS
    return f"{method.lower()}"


@dataclass
class FaultProxy:
    upstream: str
    plan: FaultPlan = field(default_factory=FaultPlan)
    seen: Counter[str] = field(default_factory=Counter)
    injected: Counter[str] = field(default_factory=Counter)
    first_delete: threading.Event = field(default_factory=threading.Event)
    delete_sizes: list[int] = field(default_factory=list)  # keys per DeleteObjects received
    sent_etags: dict[str, str | None] = field(default_factory=dict)  # key -> ETag it carried

    def __post_init__(self) -> None:
        self._random = random.Random(self.plan.seed)
        self._lock = threading.Lock()
        self._sticky: set[str] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def roll(self, share: float) -> bool:
        with self._lock:
            return self._random.random() < share

    def choose_failed_keys(self, keys: list[str]) -> set[str]:
        plan = self.plan
        with self._lock:
            if plan.sticky_key_failures:
                for key in keys:
                    if key not in self._sticky and self._random.random() < plan.fail_keys:
                        self._sticky.add(key)
                return self._sticky.intersection(keys)
            return {key for key in keys if self._random.random() < plan.fail_keys}

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: object) -> None:
                pass

            def do_GET(self) -> None:
                proxy.handle(self)

            do_PUT = do_POST = do_DELETE = do_HEAD = do_GET

        return Handler

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        path, _, query = request.path.partition("?")
        kind = operation_kind(request.command, path, query)
        length = int(request.headers.get("Content-Length") or 0)
        body = request.rfile.read(length) if length else b""
        self.seen[kind] += 1
        if kind == "delete_objects":
            self.first_delete.set()
            self.record_delete(body)
        plan = self.plan
        if plan.latency:
            time.sleep(plan.latency)
        if plan.deny == kind:
            self.injected["deny"] += 1
            return reply(request, 403, error_xml("AccessDenied", "injected"))
        if plan.deny_assume_role and assumes_role_in(body, plan.deny_assume_role):
            self.injected["deny_assume_role"] += 1
            return reply(request, 403, sts_error_xml("AccessDenied", "not authorized"))
        if plan.only is None or plan.only == kind:
            if self.roll(plan.slow_down):
                self.injected["slow_down"] += 1
                return reply(request, 503, error_xml("SlowDown", "injected"))
            if self.roll(plan.internal_error):
                self.injected["internal_error"] += 1
                return reply(request, 500, error_xml("InternalError", "injected"))
            if self.roll(plan.reset_before):
                self.injected["reset_before"] += 1
                return reset(request)
        big = kind == "delete_objects" and self.delete_sizes[-1] > plan.time_out_over
        if plan.time_out_over and big:
            self.injected["timed_out"] += 1
            time.sleep(plan.timeout_hold)  # longer than the client's READ_TIMEOUT
            return reset(request)
        failed: set[str] = set()
        changed: set[str] = set()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}
        if kind == "delete_objects" and (plan.fail_keys or plan.precondition_failed):
            body, failed, changed = self.drop_keys(body)
            if not body:  # every key failed: S3 answers 200 with only errors
                self.injected["failed_keys"] += len(failed)
                self.injected["precondition_failed"] += len(changed)
                payload = add_key_errors(b"<DeleteResult/>", failed)
                return reply(request, 200, add_key_errors(payload, changed, "PreconditionFailed"))
            if failed or changed:
                headers = {
                    k: v for k, v in headers.items() if not k.lower().startswith(CHECKSUM_HEADERS)
                }
                headers["Content-Length"] = str(len(body))
        status, response_headers, payload = forward(
            self.upstream, request.command, request.path, headers, body
        )
        if (plan.only is None or plan.only == kind) and self.roll(plan.reset_after):
            self.injected["reset_after"] += 1
            return reset(request)
        phantom = {"phantom/never-sent"} if plan.phantom_key_error else set()
        if kind == "delete_objects" and (failed or changed or phantom) and status == 200:
            self.injected["failed_keys"] += len(failed)
            self.injected["precondition_failed"] += len(changed)
            self.injected["phantom_key_error"] += len(phantom)
            payload = add_key_errors(payload, failed | phantom)
            payload = add_key_errors(payload, changed, "PreconditionFailed")
            response_headers = [
                (k, v) for k, v in response_headers if k.lower() != "content-length"
            ]
        if kind == "list_objects" and plan.strip_last_modified and status == 200:
            self.injected["strip_last_modified"] += 1
            payload = re.sub(rb"<LastModified>[^<]*</LastModified>", b"", payload, count=1)
            response_headers = [
                (k, v) for k, v in response_headers if k.lower() != "content-length"
            ]
        reply(request, status, payload, response_headers, head=request.command == "HEAD")
        return None

    def record_delete(self, body: bytes) -> None:
        """Keep how many keys a DeleteObjects carried, and the ETag sent with each."""
        root = ET.fromstring(body)
        objects = [node for node in root if node.tag.endswith("Object")]
        with self._lock:
            self.delete_sizes.append(len(objects))
            for node in objects:
                key = node.findtext(f"{ns(node)}Key") or ""
                self.sent_etags[key] = node.findtext(f"{ns(node)}ETag")

    def drop_keys(self, body: bytes) -> tuple[bytes, set[str], set[str]]:
        """Take the keys chosen to fail, or to have changed, out of the request."""
        root = ET.fromstring(body)
        objects = [node for node in root if node.tag.endswith("Object")]
        keys = [node.findtext(f"{ns(node)}Key") or "" for node in objects]
        failed = self.choose_failed_keys(keys) if self.plan.fail_keys else set()
        changed = {
            key for key in keys if key not in failed and self.roll(self.plan.precondition_failed)
        }
        if not failed and not changed:
            return body, set(), set()
        if len(failed) + len(changed) == len(keys):
            return b"", failed, changed
        for node, key in zip(objects, keys, strict=True):
            if key in failed or key in changed:
                root.remove(node)
        ET.register_namespace("", S3_NAMESPACE)  # keep <Delete xmlns=...>, not ns0:Delete
        return ET.tostring(root, xml_declaration=True, encoding="UTF-8"), failed, changed


def ns(node: ET.Element) -> str:
    return node.tag[: node.tag.index("}") + 1] if node.tag.startswith("{") else ""


def forward(
    upstream: str, method: str, path: str, headers: dict[str, str], body: bytes
) -> tuple[int, list[tuple[str, str]], bytes]:
    target = urlsplit(upstream)
    connection = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        kept = [(k, v) for k, v in response.getheaders() if k.lower() not in HOP_BY_HOP]
        return response.status, kept, payload
    finally:
        connection.close()


def assumes_role_in(body: bytes, account: str) -> bool:
    """Whether a form-encoded STS request assumes a role in ``account``."""
    form = parse_qs(body.decode("utf-8", "replace"))
    role_arn = form.get("RoleArn", [""])[0]
    return form.get("Action") == ["AssumeRole"] and role_arn.split(":")[4:5] == [account]


def sts_error_xml(code: str, message: str) -> bytes:
    return (
        "<ErrorResponse><Error><Type>Sender</Type>"
        f"<Code>{code}</Code><Message>{message}</Message></Error>"
        "<RequestId>fault-proxy</RequestId></ErrorResponse>"
    ).encode()


def error_xml(code: str, message: str) -> bytes:
    return (
        f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{code}</Code>"
        f"<Message>{message}</Message><RequestId>fault-proxy</RequestId></Error>"
    ).encode()


def add_key_errors(payload: bytes, keys: set[str], code: str = "InternalError") -> bytes:
    if not keys:
        return payload
    errors = "".join(
        f"<Error><Key>{escape(key)}</Key><Code>{code}</Code><Message>injected</Message></Error>"
        for key in sorted(keys)
    ).encode()
    text = payload.rstrip()
    if text.endswith(b"/>") and b"DeleteResult" in text[-120:]:
        start = text.rindex(b"<DeleteResult")
        opening = text[start:-2] + b">"
        return text[:start] + opening + errors + b"</DeleteResult>"
    return text.replace(b"</DeleteResult>", errors + b"</DeleteResult>")


def reply(
    request: BaseHTTPRequestHandler,
    status: int,
    payload: bytes,
    headers: list[tuple[str, str]] | None = None,
    *,
    head: bool = False,
) -> None:
    request.send_response(status)
    for key, value in headers or [("Content-Type", "application/xml")]:
        request.send_header(key, value)
    if not any(k.lower() == "content-length" for k, _ in headers or []):
        request.send_header("Content-Length", str(len(payload)))
    request.end_headers()
    if not head:
        request.wfile.write(payload)


def reset(request: BaseHTTPRequestHandler) -> None:
    """Close with a TCP reset, as a dropped connection looks to the client."""
    request.close_connection = True
    sock = request.connection
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


class LoopbackServer:
    """A bare TCP server on 127.0.0.1: each connection goes to ``connected``."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._closed = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    def connected(self, connection: socket.socket) -> None:
        raise NotImplementedError

    def _accept(self) -> None:
        self._listener.settimeout(0.2)
        while not self._closed.is_set():
            try:
                connection, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.connected(connection)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._closed.set()
        self._thread.join()
        self._listener.close()


class BlackHole(LoopbackServer):
    """Accepts connections and never answers."""

    def __init__(self) -> None:
        super().__init__()
        self._held: list[socket.socket] = []

    def connected(self, connection: socket.socket) -> None:
        self._held.append(connection)

    def __exit__(self, *_: object) -> None:
        super().__exit__()
        for connection in self._held:
            connection.close()


class Trickle(LoopbackServer):
    """An endpoint that answers every request with a valid STS
    GetCallerIdentity response, sent one byte every ``interval`` seconds.

    Each byte comes well within any read timeout, so botocore never gives up
    on its own: only a bound on the whole call can end it. ``requested`` is
    set once a request has been read (the client is then inside the call).
    """

    BODY = (
        b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        b"<GetCallerIdentityResult><Arn>arn:aws:iam::123456789012:user/trickle</Arn>"
        b"<UserId>AIDATRICKLE</UserId><Account>123456789012</Account>"
        b"</GetCallerIdentityResult><ResponseMetadata><RequestId>trickle</RequestId>"
        b"</ResponseMetadata></GetCallerIdentityResponse>"
    )

    def __init__(self, interval: float) -> None:
        super().__init__()
        self.interval = interval
        self.requested = threading.Event()

    def connected(self, connection: socket.socket) -> None:
        threading.Thread(target=self._answer, args=(connection,), daemon=True).start()

    def _answer(self, connection: socket.socket) -> None:
        with connection:
            received = b""
            while b"\r\n\r\n" not in received:
                chunk = connection.recv(65536)
                if not chunk:
                    return
                received += chunk
            self.requested.set()
            head = (
                "HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\n"
                f"Content-Length: {len(self.BODY)}\r\n\r\n"
            ).encode()
            for byte in head + self.BODY:
                if self._closed.wait(self.interval):
                    return
                try:
                    connection.sendall(bytes([byte]))
                except OSError:
                    return  # the client gave up
