"""HTTP front of the sandbox: the AWS JSON 1.0 protocol as boto3 speaks it."""

from __future__ import annotations

import json
import logging
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ..model import service_model
from ..wire import from_wire, input_shape, output_shape, to_wire
from ._service import SellingService, ServiceError

_log = logging.getLogger(__name__)
_CONTENT_TYPE = f"application/x-amz-json-{service_model().metadata['jsonVersion']}"
_TARGET_PREFIX = service_model().metadata["targetPrefix"] + "."


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in separate writes: no 40 ms delayed-ACK stalls

    def log_message(self, format: str, *args: Any) -> None:
        _log.debug("%s " + format, self.address_string(), *args)

    def _send(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", _CONTENT_TYPE)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, err: ServiceError) -> None:
        body = {"__type": err.code, "message": err.message}
        if err.code in {e.name for e in service_model().error_shapes}:
            shape = service_model().shape_for(err.code)
            body.update(to_wire({k: v for k, v in err.members.items() if k in shape.members}, shape))  # type: ignore[attr-defined]
        self._send(err.status, body)

    def do_GET(self) -> None:
        self._send(200, {"service": "opptoolkit sandbox", "catalogs": self.server.service.store.count()})

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        target = self.headers.get("X-Amz-Target", "")
        # Requests must be SigV4-signed, as AWS requires; any key is accepted.
        if not self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            self._error(ServiceError("AccessDeniedException", "Missing or non-SigV4 Authorization header"))
            return
        if not target.startswith(_TARGET_PREFIX):
            self._error(ServiceError("UnknownOperationException", f"unknown target {target!r}"))
            return
        operation = target[len(_TARGET_PREFIX) :]
        try:
            if operation not in service_model().operation_names:
                raise ServiceError("UnknownOperationException", f"unknown operation {operation!r}")
            try:
                params = from_wire(json.loads(raw or b"{}"), input_shape(operation))
            except (ValueError, TypeError) as e:
                raise ServiceError("SerializationException", f"cannot parse the request body: {e}") from None
            result = self.server.service.handle(operation, params)
            self._send(200, to_wire(result, output_shape(operation)))
        except ServiceError as e:
            self._error(e)
        except Exception:  # a bug in the sandbox: answer like AWS would, log the traceback here
            _log.exception("sandbox failure in %s", operation)
            self._error(ServiceError("InternalServerException", "internal error in the sandbox"))


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, service: SellingService) -> None:
        self.service = service
        super().__init__(("127.0.0.1", port), _Handler)  # loopback only
