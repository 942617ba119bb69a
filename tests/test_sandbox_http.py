"""The sandbox as an HTTP server: what it does with requests boto3 would never send.

Raw sockets and http.client against a running sandbox; a signed-looking Authorization header is enough
(any key is accepted, as the sandbox documents).
"""

from __future__ import annotations

import http.client
import json
import socket
import time

import pytest

from opptoolkit.sandbox import _http

SIGNED = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/partnercentral-selling/aws4_request, Signature=0"
TARGET = _http._TARGET_PREFIX + "GetOpportunity"


def _post(sb, body: bytes, headers: dict[str, str] | None = None) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=10)
    h = {"Authorization": SIGNED, "X-Amz-Target": TARGET, "Content-Type": _http._CONTENT_TYPE}
    conn.request("POST", "/", body=body, headers={**h, **(headers or {})})
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read() or b"{}")
    conn.close()
    return out


def _raw(sb, data: bytes, timeout: float = 10) -> bytes:
    """Send ``data`` as is; return everything the server answers until it closes the connection."""
    with socket.create_connection(("127.0.0.1", sb.port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def _head(target: str = TARGET, auth: str | None = SIGNED, length: str | None = None) -> bytes:
    lines = ["POST / HTTP/1.1", "Host: 127.0.0.1", f"X-Amz-Target: {target}"]
    if auth:
        lines.append(f"Authorization: {auth}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def test_a_valid_request_still_works(sb):
    ident = sb.records("Sandbox")[0]["Id"]
    status, body = _post(sb, json.dumps({"Catalog": "Sandbox", "Identifier": ident}).encode())
    assert status == 200 and body["Id"] == ident


@pytest.mark.parametrize("body", [b"[]", b'"text"', b"42", b"null", b"true", b'[{"Catalog": "Sandbox"}]'])
def test_json_that_is_not_an_object_is_a_serialization_error(sb, body):
    status, answer = _post(sb, body)
    assert (status, answer["__type"]) == (400, "SerializationException")


@pytest.mark.parametrize("levels", [_http.MAX_DEPTH + 1, 100_000])
def test_a_body_nested_too_deep_is_a_serialization_error(sb, levels):
    body = b'{"Catalog": "Sandbox", "x": ' + b"[" * levels + b"]" * levels + b"}"
    status, answer = _post(sb, body)
    assert (status, answer["__type"]) == (400, "SerializationException")


def test_the_depth_limit_is_above_every_shape_the_sandbox_serves():
    from opptoolkit.sandbox import OPERATIONS
    from opptoolkit.schema import service_model

    def depth(shape, seen=()):
        assert shape.name not in seen, f"{shape.name} is recursive"
        kids = {"structure": lambda: list(shape.members.values()), "list": lambda: [shape.member],
                "map": lambda: [shape.value]}.get(shape.type_name, list)()  # fmt: skip
        return 1 + max([depth(k, (*seen, shape.name)) for k in kids], default=0) if kids else 0

    deepest = max(depth(service_model().operation_model(op).input_shape) for op in OPERATIONS)
    assert deepest < _http.MAX_DEPTH


@pytest.mark.parametrize(
    ("length", "status"), [(None, 411), ("-1", 400), ("ten", 400), ("1e3", 400), (str(_http.MAX_BODY + 1), 413)]
)
def test_a_bad_content_length_is_refused_before_the_body_is_read(sb, length, status):
    # no body follows: a server that tried to read one would wait, and the recv below would time out
    answer = _raw(sb, _head(length=length), timeout=5)
    assert answer.startswith(f"HTTP/1.1 {status} ".encode()), answer[:80]
    assert b"SerializationException" in answer
    assert b"connection: close" in answer.lower()


def test_the_signature_is_checked_before_the_body_is_read(sb):
    # a large announced body that never comes: the refusal must not wait for it
    start = time.monotonic()
    answer = _raw(sb, _head(auth=None, length="1000000"), timeout=5)
    assert answer.startswith(b"HTTP/1.1 403 ") and b"AccessDeniedException" in answer
    assert time.monotonic() - start < 2
    assert not sb.service.calls


def test_idle_connections_time_out(sb):
    sb._server.idle_timeout = 0.5
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", sb.port), timeout=10) as s:
        assert s.recv(1) == b""  # the server closed it
    assert time.monotonic() - start < 5
    # a body that stalls half-way is closed too, without an answer
    with socket.create_connection(("127.0.0.1", sb.port), timeout=10) as s:
        s.sendall(_head(length="100") + b'{"Catal')
        assert s.recv(1) == b""


def test_a_client_that_disconnects_leaves_no_traceback(sb, capfd):
    body = json.dumps({"Catalog": "Sandbox", "Identifier": sb.records("Sandbox")[0]["Id"]}).encode()
    for _ in range(20):
        # mid-body
        with socket.create_connection(("127.0.0.1", sb.port)) as s:
            s.sendall(_head(length=str(len(body))) + body[:10])
        # before the answer: the request is complete, the socket is reset at once (RST, not FIN)
        s = socket.create_connection(("127.0.0.1", sb.port))
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        s.sendall(_head(length=str(len(body))) + body)
        s.close()
        # mid-headers
        with socket.create_connection(("127.0.0.1", sb.port)) as s:
            s.sendall(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Amz-")
    time.sleep(0.5)
    status, _ = _post(sb, body)  # the server still answers
    assert status == 200
    err = capfd.readouterr().err
    assert "Traceback" not in err and "Exception occurred" not in err, err
