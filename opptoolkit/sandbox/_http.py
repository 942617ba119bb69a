"""HTTP front of the sandbox: the AWS JSON 1.0 protocol as boto3 speaks it."""

from __future__ import annotations

import contextlib
import json
import logging
import socket
import sys
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..schema import service_model
from ..wire import from_wire, input_shape, to_wire
from ._errors import ServiceError
from ._service import SellingService

_log = logging.getLogger(__name__)
_CONTENT_TYPE = f"application/x-amz-json-{service_model().metadata['jsonVersion']}"
_TARGET_PREFIX = service_model().metadata["targetPrefix"] + "."

#: Largest request body read. Partner Central publishes no request-size limit; this is API Gateway's
#: documented payload quota (10 MB, https://docs.aws.amazon.com/apigateway/latest/developerguide/limits.html),
#: far above the largest valid request (every string member of the model has a maximum length).
MAX_BODY = 10 * 1024 * 1024
#: Deepest JSON nesting accepted. The input shapes of the operations served nest at most 9 levels
#: (only the search filters of operations the sandbox does not serve are recursive); a deeper body cannot be
#: a valid request, and a very deep one would exhaust the parser's recursion.
MAX_DEPTH = 32
#: Seconds a connection may sit idle (or a request may take to arrive) before the server closes it. Load
#: balancers in front of AWS APIs close idle connections after 60 s by default
#: (https://docs.aws.amazon.com/elasticloadbalancing/latest/application/application-load-balancers.html#connection-idle-timeout);
#: botocore's connection pool reconnects when a pooled connection was closed.
IDLE_TIMEOUT = 60.0
#: Connections served at once, each by a thread. Past it the connection that has waited longest for its next
#: request is closed (HTTP/1.1 lets a server close an idle persistent connection at any time, RFC 9112 9.3;
#: botocore's pool opens a new one), or, with every connection busy, the next one waits to be accepted. Without
#: a bound, clients that leave connections open (a boto3 client per call) cost the server a thread and its
#: memory each until the idle timeout. botocore's pool holds 10 connections per client by default.
MAX_CONNECTIONS = 64


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: the value may be deep)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        v, d = stack.pop()
        if isinstance(v, (dict, list)):
            deepest = max(deepest, d)
            stack.extend((x, d + 1) for x in (v.values() if isinstance(v, dict) else v))
    return deepest


def _not_json(literal: str) -> Any:
    """Refuse NaN and Infinity, which Python's json module reads but JSON (RFC 8259) does not have."""
    raise ValueError(f"{literal} is not a JSON value")


class _Handler(BaseHTTPRequestHandler):
    server: SandboxServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no delayed-ACK stalls

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.idle_timeout)  # an idle or stalled client is let go

    def handle_one_request(self) -> None:
        # Waiting for the next request, the connection is idle: the server may close it to make room.
        self.server.idle(self.connection)
        try:
            arrived = bool(self.rfile.peek(1))  # type: ignore[attr-defined]  # a BufferedReader: waits for a byte
        except (ConnectionError, TimeoutError):  # idle past the timeout, or closed
            arrived = False
        if not self.server.busy(self.connection) or not arrived:  # closed to make room, by the client, or timed out
            self.close_connection = True
            return
        super().handle_one_request()

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: dict[str, Any], close: bool = False) -> None:
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", _CONTENT_TYPE)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
            if close:  # the request body was not read: the rest of the stream cannot be trusted
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(data)
        except (ConnectionError, TimeoutError):  # the client went away before the answer: nothing to tell it
            self.close_connection = True

    def _error(self, err: ServiceError, close: bool = False) -> None:
        body = {"__type": err.code, "message": err.message}
        if err.code in {e.name for e in service_model().error_shapes}:
            shape = service_model().shape_for(err.code)
            body.update(to_wire({k: v for k, v in err.members.items() if k in shape.members}, shape))  # type: ignore[attr-defined]
        self._send(err.status, body, close=close)

    def do_GET(self) -> None:
        self._send(200, {"service": "opptoolkit sandbox", "catalogs": self.server.service.store.count()})

    def _refuse(self, status: int, code: str, message: str) -> None:
        """Answer before reading the body (so the connection closes after the answer)."""
        err = ServiceError(code, message)
        err.status = status
        self._error(err, close=True)

    def _body(self) -> bytes | None:
        """Return the request body, or None once the request has been answered (refused) or the client left."""
        # Requests must be SigV4-signed, as AWS requires (any key is accepted); checked before any body is read.
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            self._error(ServiceError("AccessDeniedException", "Missing or non-SigV4 Authorization header"), close=True)
            return None
        # RFC 9110: 411 Length Required without a length (boto3 always sends one; chunked bodies are not
        # accepted), 400 for a malformed one, 413 Content Too Large past MAX_BODY.
        text = self.headers.get("Content-Length")
        if text is None:
            self._refuse(411, "SerializationException", "a Content-Length header is required")
            return None
        if not text.isascii() or not text.strip().isdigit():
            self._refuse(400, "SerializationException", "the Content-Length header is not a non-negative integer")
            return None
        length = int(text)
        if length > MAX_BODY:
            self._refuse(413, "SerializationException", f"the request body is larger than {MAX_BODY} bytes")
            return None
        try:
            raw = self.rfile.read(length)
        except (ConnectionError, TimeoutError):
            raw = b""
        if len(raw) < length:  # the client disconnected (or stalled past the idle timeout) mid-body
            self.close_connection = True
            return None
        return raw

    def do_POST(self) -> None:
        raw = self._body()
        if raw is None:
            return
        target = self.headers.get("X-Amz-Target", "")
        if not target.startswith(_TARGET_PREFIX):
            self._error(ServiceError("UnknownOperationException", f"unknown target {target!r}"))
            return
        operation = target[len(_TARGET_PREFIX) :]
        try:
            if operation not in service_model().operation_names:
                raise ServiceError("UnknownOperationException", f"unknown operation {operation!r}")
            try:
                body = json.loads(raw or b"{}", parse_constant=_not_json)
            except (ValueError, RecursionError) as e:
                raise ServiceError("SerializationException", f"the request body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise ServiceError("SerializationException", "the request body must be a JSON object")
            if _depth(body) > MAX_DEPTH:
                raise ServiceError("SerializationException", f"the request body nests deeper than {MAX_DEPTH} levels")
            try:
                params = from_wire(body, input_shape(operation))
            except (ValueError, TypeError, AttributeError, ArithmeticError, RuntimeError) as e:
                # botocore's parser raises RuntimeError for a timestamp far out of range (1e308) and ValueError
                # or OverflowError for others: the body cannot be read, a 400 in the protocol, not the service's 500
                raise ServiceError("SerializationException", f"cannot parse the request body: {e}") from None
            result = self.server.service.handle(operation, params)
            # an operation without an output shape (AssociateOpportunity, RejectEngagementInvitation, ...)
            # answers an empty object
            has_output = service_model().operation_model(operation).output_shape is not None
            self._send(200, self.server.service.answer(operation, result) if has_output else {})
        except ServiceError as e:
            self._error(e)
        except Exception:  # a bug in the sandbox: answer like AWS would, log the traceback here
            _log.exception("sandbox failure in %s", operation)
            self._error(ServiceError("InternalServerException", "internal error in the sandbox"))


class SandboxServer(ThreadingHTTPServer):
    """The sandbox on 127.0.0.1: one thread per connection, over one :class:`SellingService`."""

    daemon_threads = True
    allow_reuse_address = True
    # the listen backlog: connections the kernel completes before the accept loop takes them. socketserver's
    # 5 is full as soon as a few clients connect at once, and the kernel then drops the SYN, which the client
    # sends again only after a second (RFC 6298 2.1: an initial retransmission timeout of 1 s)
    request_queue_size = MAX_CONNECTIONS

    def __init__(self, port: int, service: SellingService) -> None:
        self.service = service
        self.idle_timeout = IDLE_TIMEOUT
        self.max_connections = MAX_CONNECTIONS
        self._open = 0  # connections being served
        self._idle: dict[socket.socket, None] = {}  # connections waiting for a request, longest-waiting first
        self._room = threading.Condition()
        self._stopping = False
        super().__init__(("127.0.0.1", port), _Handler)  # loopback only

    def idle(self, conn: socket.socket) -> None:
        """Note that ``conn`` waits for its next request (it may be closed to make room)."""
        with self._room:
            self._idle[conn] = None

    def busy(self, conn: socket.socket) -> bool:
        """Note that ``conn`` has a request; False when the server already closed it to make room."""
        with self._room:
            return self._idle.pop(conn, False) is None

    def process_request(self, request: Any, client_address: Any) -> None:
        """Serve a new connection in a thread, once there is room for it (see :data:`MAX_CONNECTIONS`)."""
        with self._room:
            while self._open >= self.max_connections and not self._stopping:
                if self._idle:  # close the connection idle longest: its thread ends, and the wait below with it
                    oldest = next(iter(self._idle))
                    del self._idle[oldest]
                    with contextlib.suppress(OSError):  # already gone
                        oldest.shutdown(socket.SHUT_RDWR)
                self._room.wait(timeout=0.5)
            self._open += 1
        super().process_request(request, client_address)

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._room:
                self._open -= 1
                self._idle.pop(request, None)
                self._room.notify_all()

    def shutdown(self) -> None:
        """Stop serving, also when the accept loop waits for room."""
        with self._room:
            self._stopping = True
            self._room.notify_all()
        super().shutdown()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Log a client that disconnects or stalls as a debug line, not a traceback on stderr.

        A client going away is routine for a server.
        """
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            _log.debug("client %s went away: %s", client_address, sys.exc_info()[1])
        else:
            _log.error("sandbox connection error from %s", client_address, exc_info=True)
