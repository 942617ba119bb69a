"""SQLite store of the sandbox.

One row per opportunity, the record as wire JSON plus the columns ListOpportunities filters and sorts on. A
file keeps state across restarts.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from ..wire import dumps_record, loads_record

_SCHEMA = """
CREATE TABLE IF NOT EXISTS opportunity (
    catalog TEXT NOT NULL,
    id TEXT NOT NULL,
    last_modified TEXT NOT NULL,
    created TEXT NOT NULL,
    company TEXT,
    stage TEXT,
    review_status TEXT,
    target_close TEXT,
    record TEXT NOT NULL,
    PRIMARY KEY (catalog, id)
);
CREATE TABLE IF NOT EXISTS document (
    kind TEXT NOT NULL,
    catalog TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, catalog, id)
);
CREATE TABLE IF NOT EXISTS client_token (
    catalog TEXT NOT NULL,
    token TEXT NOT NULL,
    id TEXT NOT NULL,
    body TEXT,
    PRIMARY KEY (catalog, token)
);
"""


def ts_key(value: datetime) -> str:
    """Return a sortable text form of a timestamp (UTC, microseconds)."""
    return value.strftime("%Y-%m-%dT%H:%M:%S.%f")


class Store:
    """Opportunities by (catalog, id); thread-safe; ``path=":memory:"`` for a throwaway store."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        self.lock = threading.RLock()
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL") if self.path != ":memory:" else None
        self.conn.executescript(_SCHEMA)
        if "body" not in {r[1] for r in self.conn.execute("PRAGMA table_info(client_token)")}:
            self.conn.execute("ALTER TABLE client_token ADD COLUMN body TEXT")  # a store made before it kept bodies

    def close(self) -> None:
        with self.lock:
            self.conn.close()

    def copy_from(self, other: Store) -> None:
        """Replace everything this store holds with a copy of ``other`` (SQLite's online backup, page by page)."""
        with other.lock, self.lock:
            other.conn.backup(self.conn)

    def count(self, catalog: str | None = None) -> int:
        with self.lock:
            if catalog is None:
                return int(self.conn.execute("SELECT count(*) FROM opportunity").fetchone()[0])
            return int(self.conn.execute("SELECT count(*) FROM opportunity WHERE catalog=?", (catalog,)).fetchone()[0])

    def get(self, catalog: str, identifier: str) -> dict[str, Any] | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT record FROM opportunity WHERE catalog=? AND id=?", (catalog, identifier)
            ).fetchone()
        return loads_record(row[0]) if row else None

    def put(self, record: dict[str, Any]) -> None:
        lc = record.get("LifeCycle", {})
        account = record.get("Customer", {}).get("Account", {})
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO opportunity VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    record["Catalog"],
                    record["Id"],
                    ts_key(record["LastModifiedDate"]),
                    ts_key(record["CreatedDate"]),
                    account.get("CompanyName"),
                    lc.get("Stage"),
                    lc.get("ReviewStatus"),
                    lc.get("TargetCloseDate"),
                    dumps_record(record),
                ),
            )

    def put_many(self, records: list[dict[str, Any]]) -> None:
        with self.lock:
            self.conn.execute("BEGIN")
            try:
                for r in records:
                    self.put(r)
                self.conn.execute("COMMIT")
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise

    def query(self, sql_where: str, params: list[Any], order_by: str, limit: int) -> list[dict[str, Any]]:
        with self.lock:
            rows = self.conn.execute(
                f"SELECT record FROM opportunity WHERE {sql_where} ORDER BY {order_by} LIMIT ?", [*params, limit]
            ).fetchall()
        return [loads_record(r[0]) for r in rows]

    def iter_records(self, catalog: str | None = None) -> Iterator[dict[str, Any]]:
        with self.lock:
            if catalog is None:
                rows = self.conn.execute("SELECT record FROM opportunity ORDER BY catalog, id").fetchall()
            else:
                rows = self.conn.execute(
                    "SELECT record FROM opportunity WHERE catalog=? ORDER BY id", (catalog,)
                ).fetchall()
        for (text,) in rows:
            yield loads_record(text)

    def token(self, catalog: str, token: str) -> tuple[str, str | None] | None:
        """Return the Id a ClientToken created and the digest of the request body it came with (or None)."""
        with self.lock:
            row = self.conn.execute(
                "SELECT id, body FROM client_token WHERE catalog=? AND token=?", (catalog, token)
            ).fetchone()
        return (row[0], row[1]) if row else None

    def save_token(self, catalog: str, token: str, identifier: str, body: str | None = None) -> None:
        with self.lock:
            self.conn.execute(
                "INSERT OR REPLACE INTO client_token VALUES (?,?,?,?)", (catalog, token, identifier, body)
            )

    # -- other resources (engagement invitations, tasks, AWS's side of an opportunity) -------------
    def put_doc(self, kind: str, catalog: str, identifier: str, body: str) -> None:
        """Store a resource other than an opportunity, as JSON text the caller encoded."""
        with self.lock:
            self.conn.execute("INSERT OR REPLACE INTO document VALUES (?,?,?,?)", (kind, catalog, identifier, body))

    def get_doc(self, kind: str, catalog: str, identifier: str) -> str | None:
        with self.lock:
            row = self.conn.execute(
                "SELECT body FROM document WHERE kind=? AND catalog=? AND id=?", (kind, catalog, identifier)
            ).fetchone()
        return row[0] if row else None

    def docs(self, kind: str, catalog: str) -> list[str]:
        """Every stored resource of a kind in a catalog, by id."""
        with self.lock:
            rows = self.conn.execute(
                "SELECT body FROM document WHERE kind=? AND catalog=? ORDER BY id", (kind, catalog)
            ).fetchall()
        return [r[0] for r in rows]
