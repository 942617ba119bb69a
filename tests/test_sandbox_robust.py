"""The sandbox under requests no client of the toolkit sends: never an InternalServerException (500).

AWS's JSON protocol answers a body it cannot read with ``SerializationException`` and a value the model
refuses with ``ValidationException``, both 400; a 500 means the service failed, which a client retries.
Requests go out over http.client with a signed-looking Authorization header (any key is accepted).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import threading
import time

import pytest
from botocore.model import ListShape, Shape, StructureShape

from opptoolkit.sandbox import OPERATIONS, Sandbox, SandboxConfig, _http
from opptoolkit.schema import service_model

SIGNED = "AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/partnercentral-selling/aws4_request, Signature=0"


def _post(sb: Sandbox, operation: str, body: bytes | dict) -> tuple[int, dict]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=60)
    headers = {"Authorization": SIGNED, "X-Amz-Target": _http._TARGET_PREFIX + operation}
    conn.request("POST", "/", body=data, headers={**headers, "Content-Type": _http._CONTENT_TYPE})
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read() or b"{}")
    conn.close()
    return out


def _members(shape: Shape, kind: str, path: tuple = (), seen: frozenset[str] = frozenset()):
    """Every path (keys, with 0 for a list entry) to a member of type ``kind`` in an input shape."""
    if shape.name in seen:
        return
    seen = seen | {shape.name}
    if isinstance(shape, StructureShape):
        for name, member in shape.members.items():
            yield from _members(member, kind, (*path, name), seen)
    elif isinstance(shape, ListShape):
        if shape.member.type_name == kind:
            yield (*path, "[]")
        else:
            yield from _members(shape.member, kind, (*path, 0), seen)
    elif shape.type_name == kind:
        yield path


def _body(path: tuple, value: object) -> dict:
    """A request holding ``value`` at ``path`` (a ``"[]"`` step: a list of it)."""
    out: object = [value] if path[-1] == "[]" else value
    for key in reversed(path[:-1] if path[-1] == "[]" else path):
        out = [out] if key == 0 else {key: out}
    assert isinstance(out, dict)
    return {"Catalog": "Sandbox", **out}


def _cases(kind: str) -> list[tuple[str, tuple]]:
    return [
        (op, path)
        for op in sorted(OPERATIONS)
        for path in _members(service_model().operation_model(op).input_shape, kind)
    ]


@pytest.fixture(scope="module")
def shared():
    """One sandbox for the module: every request here is refused, so none changes what the next one sees."""
    with Sandbox(config=SandboxConfig.fast()) as s:
        yield s


def _token(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode()


# the opaque NextToken the sandbox hands out is base64 JSON: tokens it never issued, shaped to get past a
# first look (valid base64, valid JSON, wrong content)
TOKENS = [
    "null",
    _token(None),
    _token([[1], "x"]),
    _token([None, None]),
    _token({"offset": None}),
    _token("x"),
    "²",
    "9" * 40,
]


@pytest.mark.parametrize("token", TOKENS)
@pytest.mark.parametrize("operation", sorted(op for op, path in _cases("string") if path == ("NextToken",)))
def test_a_next_token_the_sandbox_never_issued_is_not_a_server_failure(shared, operation, token):
    status, answer = _post(shared, operation, {"Catalog": "Sandbox", "NextToken": token})
    assert status < 500, answer


@pytest.mark.parametrize("token", TOKENS)
def test_list_opportunities_refuses_a_next_token_it_never_issued(shared, token):
    status, answer = _post(shared, "ListOpportunities", {"Catalog": "Sandbox", "NextToken": token})
    assert (status, answer["__type"], answer["ErrorList"][0]["FieldName"]) == (400, "ValidationException", "NextToken")


@pytest.mark.parametrize("value", [1e308, -1e308, 1e20, 253402300800, "1e308", "+275760-09-13T00:00:00Z"])
def test_a_timestamp_out_of_range_is_a_serialization_error(shared, value):
    ident = shared.records("Sandbox")[0]["Id"]
    body = {"Catalog": "Sandbox", "Identifier": ident, "LastModifiedDate": value}
    status, answer = _post(shared, "UpdateOpportunity", body)
    assert (status, answer["__type"]) == (400, "SerializationException"), answer


@pytest.mark.parametrize(("operation", "path"), _cases("timestamp"))
def test_no_timestamp_member_of_any_operation_fails_the_server(shared, operation, path):
    for value in (1e308, float("-1e308"), "not a date"):
        status, answer = _post(shared, operation, _body(path, value))
        assert (status, answer["__type"]) == (400, "SerializationException"), (value, answer)


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_json_number_literals_are_a_serialization_error(shared, literal):
    # RFC 8259 has no NaN or Infinity; Python's json module reads them unless told not to
    body = b'{"Catalog": "Sandbox", "MaxResults": ' + literal + b"}"
    status, answer = _post(shared, "ListOpportunities", body)
    assert (status, answer["__type"]) == (400, "SerializationException"), answer


@pytest.mark.parametrize(("operation", "path"), _cases("string"))
def test_a_200_kb_string_in_any_member_is_refused(shared, operation, path):
    # every string member of the model has a maximum length or an enum far below 200 KB, except the
    # ListOpportunities filters on company names (matched, not stored)
    big = "Co-Sell " * 25_000
    status, answer = _post(shared, operation, _body(path, big))
    assert status < 500, answer
    assert shared.store.count() == 340  # nothing was created


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) / 1024 for line in f if line.startswith("VmRSS:"))


def _threads(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/task"))


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="reads the process's memory from /proc")
def test_connections_left_open_do_not_pile_up_threads(sb):
    """Clients that open a connection per request and never close it (a script making a boto3 client per call)
    must not grow the server by a thread and its memory each: the connections it keeps are bounded."""
    body = json.dumps({"Catalog": "Sandbox", "MaxResults": 1}).encode()
    headers = {"Authorization": SIGNED, "X-Amz-Target": _http._TARGET_PREFIX + "ListOpportunities"}
    left_open = []
    start = _threads(os.getpid())
    for _ in range(4 * _http.MAX_CONNECTIONS):
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=30)
        conn.request("POST", "/", body=body, headers=headers)
        resp = conn.getresponse()
        assert resp.status == 200
        resp.read()
        left_open.append(conn)  # kept open, idle
    time.sleep(0.2)
    assert _threads(os.getpid()) - start <= _http.MAX_CONNECTIONS + 2
    for conn in left_open:
        conn.close()


def test_a_client_over_the_connection_bound_is_served_once_a_connection_is_free(sb):
    """Every connection busy (none idle to close): the next one waits for a free one instead of failing."""
    body = json.dumps({"Catalog": "Sandbox", "MaxResults": 1}).encode()
    headers = {"Authorization": SIGNED, "X-Amz-Target": _http._TARGET_PREFIX + "ListOpportunities"}
    half_sent = []
    for _ in range(_http.MAX_CONNECTIONS):  # each holds a connection busy: its request is still arriving
        s = socket.create_connection(("127.0.0.1", sb.port), timeout=30)
        s.sendall(b"POST / HTTP/1.1\r\nHost: x\r\n")
        half_sent.append(s)
    time.sleep(0.2)
    answers: list[int] = []

    def late() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", sb.port, timeout=30)
        conn.request("POST", "/", body=body, headers=headers)
        answers.append(conn.getresponse().status)
        conn.close()

    t = threading.Thread(target=late)
    t.start()
    time.sleep(0.5)
    assert answers == []  # waiting for a free connection
    half_sent.pop().close()
    t.join(timeout=20)
    assert answers == [200]
    for s in half_sent:
        s.close()


def test_a_burst_of_connections_up_to_the_bound_is_accepted_without_a_syn_retry(sb):
    """Clients opening connections at once (threads, processes, each a pool) are each let in at once: a full
    listen backlog drops the SYN, and the client's kernel sends it again only after a second."""
    waited = []
    opened = []
    for _ in range(_http.MAX_CONNECTIONS):
        start = time.monotonic()
        opened.append(socket.create_connection(("127.0.0.1", sb.port), timeout=30))
        waited.append(time.monotonic() - start)
    for s in opened:
        s.close()
    # a connect answered by the listening socket's kernel takes microseconds, whatever the machine's load
    assert max(waited) < 0.5, f"{sum(w >= 0.5 for w in waited)} of {len(waited)} connects waited for a SYN retry"
