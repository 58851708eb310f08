"""The embedded store's transactions end, one way or the other, whatever happens in them: a
statement run again after a failure (the store retries some) starts a transaction of its own."""

from __future__ import annotations

import sqlite3

import pytest

from videorecog.engine.sqlite_store import _transaction


@pytest.fixture
def conn() -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
    conn.execute(
        "CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)"
    )
    return conn


class _Stopped(Exception):
    pass


def _add_child_then_stop(conn: sqlite3.Connection) -> None:
    with _transaction(conn):
        conn.execute("INSERT INTO child VALUES (1)")
        raise _Stopped


def _children(conn: sqlite3.Connection) -> list[int]:
    return [r[0] for r in conn.execute("SELECT p FROM child")]


def test_statements_stand_together_or_not_at_all(conn: sqlite3.Connection) -> None:
    with _transaction(conn):
        conn.execute("INSERT INTO parent VALUES (1)")
        conn.execute("INSERT INTO child VALUES (1)")
    with pytest.raises(_Stopped):
        _add_child_then_stop(conn)
    assert not conn.in_transaction
    assert _children(conn) == [1]


def test_a_commit_that_fails_leaves_no_transaction_open(conn: sqlite3.Connection) -> None:
    """A deferred constraint fails at COMMIT, and SQLite keeps the transaction open then."""
    with pytest.raises(sqlite3.IntegrityError), _transaction(conn):
        conn.execute("INSERT INTO child VALUES (7)")
    assert not conn.in_transaction
    with _transaction(conn):  # the next one starts afresh
        conn.execute("INSERT INTO parent VALUES (7)")
        conn.execute("INSERT INTO child VALUES (7)")
    assert _children(conn) == [7]
