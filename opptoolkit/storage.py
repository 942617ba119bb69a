"""Where a mirror or a ledger lives: a local folder or an ``s3://bucket/prefix``, reached with boto3's session.

The same boto3 session the rest of the toolkit uses gives the credentials, the region and the S3 endpoint (an
``AWS_ENDPOINT_URL_S3`` or ``AWS_ENDPOINT_URL`` in the environment or the profile points every S3 call at another
server, as it does for the AWS CLI). Three standard readers and writers take them from here:

- boto3's S3 client, for small objects and S3's conditional writes (``If-None-Match: *`` creates an object only
  if it is absent, ``If-Match: <ETag>`` replaces it only if nobody changed it since it was read; S3 answers 412
  PreconditionFailed otherwise, and so does a local S3 server that implements them);
- :func:`arrow_filesystem`, pyarrow's ``S3FileSystem`` for Parquet;
- :func:`delta_options`, the ``storage_options`` of the ``deltalake`` package (which commits with those
  conditional writes too, so two writers never both win the same table version).

:class:`Lease` is the one lock of a folder that several machines share: an object created with
``If-None-Match``, renewed with ``If-Match`` while it is held, and taken over with ``If-Match`` by another
holder only once it has expired (its holder crashed or hung).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import tempfile
import threading
import time
import uuid
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from botocore.exceptions import ClientError

from .exceptions import OpptoolkitError, Precondition

if TYPE_CHECKING:
    import boto3
    import pyarrow.fs as pafs

__all__ = [
    "Lease",
    "Precondition",
    "S3Place",
    "arrow_filesystem",
    "delta_options",
    "download",
    "is_s3",
    "s3_client",
    "upload",
    "written",
]

_log = logging.getLogger(__name__)

#: The answer S3 gives to a conditional write whose condition does not hold.
_PRECONDITION = ("PreconditionFailed", "412", "ConditionalRequestConflict", "409")


def is_s3(path: object) -> bool:
    """Tell whether ``path`` names an S3 location (``s3://bucket/prefix``).

    Examples
    --------
    >>> is_s3("s3://team-bucket/mirror"), is_s3("/tmp/mirror")
    (True, False)
    """
    return isinstance(path, str) and path.startswith("s3://")


# A session and its S3 client cost a second or so (botocore's config chains, S3's service model): one client per
# session given, and one default session and client per set of the environment variables that decide them.
_CLIENTS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()
_DEFAULTS: dict[tuple[str | None, ...], tuple[Any, Any]] = {}
_ENV = (
    "AWS_ENDPOINT_URL_S3",
    "AWS_ENDPOINT_URL",
    "AWS_PROFILE",
    "AWS_ACCESS_KEY_ID",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
)
_CLIENTS_LOCK = threading.Lock()


def _resolved(boto3_session: boto3.Session | None) -> tuple[boto3.Session, Any]:
    """Return the session (the default chain's when None) and its S3 client, made once."""
    import boto3
    from botocore.config import Config

    def make(session: boto3.Session) -> Any:
        return session.client(
            "s3",
            region_name=session.region_name or "us-east-1",
            config=Config(retries={"mode": "standard", "max_attempts": 5}),
        )

    with _CLIENTS_LOCK:
        if boto3_session is not None:
            if boto3_session not in _CLIENTS:
                _CLIENTS[boto3_session] = make(boto3_session)
            return boto3_session, _CLIENTS[boto3_session]
        env = tuple(os.environ.get(k) for k in _ENV)
        if env not in _DEFAULTS:
            session = boto3.Session()
            _DEFAULTS[env] = (session, make(session))
        return _DEFAULTS[env]


def _session(boto3_session: boto3.Session | None) -> boto3.Session:
    return _resolved(boto3_session)[0]


def s3_client(boto3_session: boto3.Session | None = None) -> Any:
    """Return the S3 client of ``boto3_session`` (default: the default credential chain), standard retries."""
    return _resolved(boto3_session)[1]


def _endpoint(client: Any) -> str | None:
    """Return the S3 endpoint the session resolves to, when it is not AWS's own."""
    url = str(client.meta.endpoint_url)
    host = urlparse(url).hostname or ""
    return None if host.endswith(".amazonaws.com") or host.endswith(".amazonaws.com.cn") else url


def _credentials(session: boto3.Session) -> Any:
    creds = session.get_credentials()
    if creds is None:
        raise OpptoolkitError(
            "no AWS credentials for S3: configure a profile (aws configure) or set AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, then rerun"
        )
    return creds.get_frozen_credentials()


def delta_options(boto3_session: boto3.Session | None = None) -> dict[str, str]:
    """Return ``deltalake``'s ``storage_options`` for S3 from the boto3 session.

    The ``deltalake`` writer does not read boto3's profiles, so the session's resolved credentials, region and
    endpoint are handed to it.
    """
    session, client = _resolved(boto3_session)
    creds = _credentials(session)
    options = {
        "AWS_ACCESS_KEY_ID": creds.access_key,
        "AWS_SECRET_ACCESS_KEY": creds.secret_key,
        "AWS_REGION": session.region_name or "us-east-1",
    }
    if creds.token:
        options["AWS_SESSION_TOKEN"] = creds.token
    if (endpoint := _endpoint(client)) is not None:
        options["AWS_ENDPOINT_URL"] = endpoint
        if endpoint.startswith("http://"):
            options["AWS_ALLOW_HTTP"] = "true"
    return options


def arrow_filesystem(boto3_session: boto3.Session | None = None) -> pafs.S3FileSystem:
    """Return pyarrow's ``S3FileSystem`` with the boto3 session's credentials, region and endpoint."""
    import pyarrow.fs as pafs

    session, client = _resolved(boto3_session)
    creds = _credentials(session)
    endpoint = _endpoint(client)
    kw: dict[str, Any] = {}
    if endpoint is not None:
        parsed = urlparse(endpoint)
        kw = {"endpoint_override": parsed.netloc, "scheme": parsed.scheme}
    return pafs.S3FileSystem(
        access_key=creds.access_key,
        secret_key=creds.secret_key,
        session_token=creds.token,
        region=session.region_name or "us-east-1",
        **kw,
    )


@dataclass
class S3Place:
    """A prefix in a bucket, with the few object operations a ledger needs.

    Parameters
    ----------
    uri : str
        ``s3://bucket/prefix``.
    boto3_session : boto3.Session, optional
        Credentials, region and endpoint; default the default credential chain.
    """

    uri: str
    boto3_session: boto3.Session | None = None

    def __post_init__(self) -> None:
        parsed = urlparse(self.uri)
        if parsed.scheme != "s3" or not parsed.netloc:
            raise OpptoolkitError(f"{self.uri} is not an S3 location: write s3://bucket/prefix")
        self.bucket = parsed.netloc
        self.prefix = parsed.path.strip("/")
        self.client = s3_client(self.boto3_session)

    def __str__(self) -> str:
        return self.uri.rstrip("/")

    def key(self, name: str) -> str:
        """Return the object key of ``name`` in this place."""
        return f"{self.prefix}/{name}" if self.prefix else name

    def get(self, name: str) -> tuple[bytes, str] | None:
        """Return the object's bytes and ETag, or None when there is none."""
        try:
            answer = self.client.get_object(Bucket=self.bucket, Key=self.key(name))
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise
        return answer["Body"].read(), str(answer["ETag"])

    def put(self, name: str, data: bytes, *, if_none_match: bool = False, if_match: str | None = None) -> str:
        """Write the object and return its ETag; :class:`Precondition` when a condition does not hold."""
        kw: dict[str, str] = {}
        if if_none_match:
            kw["IfNoneMatch"] = "*"
        if if_match is not None:
            kw["IfMatch"] = if_match
        try:
            answer = self.client.put_object(Bucket=self.bucket, Key=self.key(name), Body=data, **kw)
        except ClientError as e:
            error = e.response.get("Error", {})
            if error.get("Code") in _PRECONDITION or str(
                e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            ) in (
                "412",
                "409",
            ):
                raise Precondition(f"{self}/{name} changed under us") from None
            raise
        return str(answer["ETag"])

    def delete(self, name: str) -> None:
        """Remove the object (no error when it is gone)."""
        self.client.delete_object(Bucket=self.bucket, Key=self.key(name))

    def list(self, start: str = "") -> list[str]:
        """Return the names of the objects whose name starts with ``start``, sorted."""
        names: list[str] = []
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=self.key(start))
        cut = len(self.key(""))
        for page in pages:
            names += [obj["Key"][cut:] for obj in page.get("Contents", [])]
        return sorted(names)


class Lease:
    """Exclusive use of a shared place for a while, by a conditional write of one small object.

    Acquired by creating ``name`` with ``If-None-Match: *``; renewed every third of ``ttl`` with ``If-Match`` of
    the ETag it last wrote (by a daemon thread); released by deleting it. A lease whose holder stopped renewing
    it (a crash, kill -9, a frozen laptop) expires ``ttl`` after its last renewal, and the next holder replaces
    it with ``If-Match`` of the expired object's ETag, so two takers of one expired lease never both win.
    :meth:`check` tells the holder whether it still may act: a holder that missed its renewals (longer than the
    ``ttl`` less a margin) stops before it sends anything.

    Parameters
    ----------
    place : S3Place
        Where the lease object lives.
    name : str
        The object's name in ``place``.
    ttl : timedelta
        How long a lease lasts without renewal.
    wait : timedelta
        How long :meth:`acquire` waits for another holder to finish before it gives up.
    """

    def __init__(
        self,
        place: S3Place,
        name: str,
        *,
        ttl: timedelta = timedelta(seconds=60),
        wait: timedelta = timedelta(0),
        what: str = "this place",
    ) -> None:
        self.place, self.name, self.ttl, self.wait, self.what = place, name, ttl, wait, what
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._etag: str | None = None
        self._renewed = 0.0  # time.monotonic() of the last write that held
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lost = False

    def _body(self) -> bytes:
        expires = datetime.now(UTC) + self.ttl
        return json.dumps({"holder": self.holder, "expires": expires.isoformat()}).encode()

    def acquire(self) -> None:
        """Take the lease, waiting up to ``wait`` for a live holder; raise :class:`OpptoolkitError` if it stays held."""
        deadline = time.monotonic() + self.wait.total_seconds()
        waited = False
        while True:
            start = time.monotonic()
            try:
                self._etag = self.place.put(self.name, self._body(), if_none_match=True)
            except Precondition:
                current = self.place.get(self.name)
                if current is None:
                    continue  # released between the two calls
                body, etag = current
                info = json.loads(body or b"{}")
                expires = datetime.fromisoformat(info.get("expires", "1970-01-01T00:00:00+00:00"))
                if expires <= datetime.now(UTC):  # its holder stopped renewing it: take it over
                    try:
                        self._etag = self.place.put(self.name, self._body(), if_match=etag)
                    except Precondition:
                        continue  # another taker won; look again
                    _log.warning(
                        "%s: took over the lease of %s, which expired at %s", self.what, info.get("holder"), expires
                    )
                else:
                    if time.monotonic() < deadline:
                        if not waited:
                            _log.warning("%s is in use by %s: waiting for it to finish", self.what, info.get("holder"))
                            waited = True
                        time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))
                        continue
                    raise OpptoolkitError(
                        f"{self.what} is in use by {info.get('holder', '?')} (its lease runs to "
                        f"{expires:%H:%M:%S} UTC unless renewed): wait for it to finish, then rerun"
                    ) from None
            self._renewed = start
            break
        self._stop.clear()
        self._lost = False
        self._thread = threading.Thread(target=self._renew, name=f"lease {self.name}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        every = self.ttl.total_seconds() / 3
        while not self._stop.wait(every):
            start = time.monotonic()
            try:
                self._etag = self.place.put(self.name, self._body(), if_match=self._etag)
                self._renewed = start
            except Precondition:
                _log.error("%s: the lease was taken over by another process; this one stops", self.what)
                self._lost = True
                return
            except Exception as e:  # a network error: try again at the next beat, check() decides
                _log.warning("%s: the lease could not be renewed (%s); trying again", self.what, e)

    def check(self) -> None:
        """Raise :class:`OpptoolkitError` when this holder may no longer act (lost, or not renewed in time)."""
        margin = min(self.ttl.total_seconds() / 4, 10.0)
        if self._lost or time.monotonic() - self._renewed > self.ttl.total_seconds() - margin:
            raise OpptoolkitError(
                f"{self.what}: this process lost its lease (it could not renew it in time); nothing more is sent. "
                "Rerun: the next run reads back what this one left in flight"
            )

    def release(self) -> None:
        """Stop renewing and delete the lease object if it is still ours."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._lost or self._etag is None:
            return
        current = self.place.get(self.name)
        if current is not None and current[1] == self._etag:
            self.place.delete(self.name)
        self._etag = None


def _object(uri: str, boto3_session: boto3.Session | None) -> tuple[S3Place, str]:
    """Return the place of an object's folder and the object's name."""
    folder, _, name = uri.rstrip("/").rpartition("/")
    if not name or folder in ("s3:", "s3:/"):
        raise OpptoolkitError(f"{uri} names no file: write s3://bucket/folder/file.xlsx")
    return S3Place(folder, boto3_session), name


def download(uri: str, folder: Path, *, boto3_session: boto3.Session | None = None) -> Path:
    """Copy the object ``uri`` into ``folder`` under its own name; return the local file."""
    place, name = _object(uri, boto3_session)
    got = place.get(name)
    if got is None:
        raise OpptoolkitError(f"no file at {uri}: check the bucket and the key")
    local = folder / name
    local.write_bytes(got[0])
    return local


def upload(file: Path, uri: str, *, boto3_session: boto3.Session | None = None) -> None:
    """Write the local ``file`` as the object ``uri`` (whole: S3 shows the old object or the new one)."""
    place, name = _object(uri, boto3_session)
    place.put(name, file.read_bytes())


@contextmanager
def written(path: str | Path, *, boto3_session: boto3.Session | None = None) -> Iterator[Path]:
    """Yield the local file to write ``path`` at: itself, or for an ``s3://`` URI a temporary file.

    The temporary file is uploaded whole when the block ends without an error: an S3 URI never becomes a local
    ``s3:/`` folder, as ``Path("s3://bucket/a.xlsx")`` would make it.

    Examples
    --------
    >>> import tempfile
    >>> with written(Path(tempfile.mkdtemp()) / "report.html") as local:
    ...     _ = local.write_text("<p>pipeline</p>")
    >>> local.read_text()
    '<p>pipeline</p>'
    """
    if not is_s3(path):
        yield Path(path)
        return
    _object(str(path), boto3_session)  # an URI that names no file is refused before anything is written
    with tempfile.TemporaryDirectory() as d:
        local = Path(d) / str(path).rstrip("/").rpartition("/")[2]
        yield local
        upload(local, str(path), boto3_session=boto3_session)
