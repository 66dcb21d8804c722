"""Short-lived access to a DuckDB file shared by threads and processes.

DuckDB lets one process at a time open a database file, and a process holding it open locks every
other process out. So nothing here keeps a file open between operations:

- One in-memory DuckDB instance per process (the "host") is created once; opening a new DuckDB
  instance costs about 20 ms (it builds the function catalog), ATTACH of a file about 1 ms.
- Each operation ATTACHes the file (the first of overlapping operations in this process does),
  runs in its own cursor inside one transaction, and the last one to finish DETACHes it, which
  checkpoints the write-ahead log and releases the file lock for other processes.
- Writers in this process take a per-file lock, so they never conflict with each other.
- When another process holds the file (or a transaction conflicts), the whole operation is rolled
  back and retried with exponential backoff and jitter until a deadline, then StoreBusyError.
"""

from __future__ import annotations

import errno
import logging
import os
import random
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import duckdb

T = TypeVar("T")
log = logging.getLogger(__name__)


class StoreError(Exception):
    """Base class of the tag store's errors: one line that names the file and says what to do."""


class StoreBusyError(StoreError):
    """The database stayed locked by another process (or kept conflicting) past the deadline."""


class StoreCorruptError(StoreError):
    """The file is damaged, or is not a DuckDB database at all."""


class StoreReadOnlyError(StoreError):
    """The file (or its folder) cannot be written: read-only, immutable, or another user's."""


class StoreFullError(StoreError):
    """The disk that holds the file is full."""


_DENIED = ("permission denied", "operation not permitted", "read-only file system")
_DENIED_ERRNOS = {errno.EACCES, errno.EPERM, errno.EROFS}


def file_fault(path: str | Path, error: BaseException) -> StoreError | None:
    """The StoreError for a fault of the file itself (damaged, not DuckDB, not writable, disk
    full); None for anything else (a busy lock, a bad query), which the caller handles."""
    detail = next((line.strip() for line in str(error).splitlines() if line.strip()), "")
    low, code = detail.lower(), getattr(error, "errno", None)
    if "no space left" in low or code == errno.ENOSPC:
        return StoreFullError(f"the disk holding the tag store {path} is full ({detail}); nothing "
                              "was written: free some space and try again")
    if any(text in low for text in _DENIED) or code in _DENIED_ERRNOS:
        return StoreReadOnlyError(
            f"the tag store {path} cannot be written ({detail}): check the permissions of the "
            "file and its folder (ls -l; lsattr shows an immutable flag), or choose another file "
            "with --db or TAGGER_DB")
    if "not a valid duckdb database" in low:
        return StoreCorruptError(
            f"{path} is not a tag store (not a DuckDB database file): check that --db or "
            "TAGGER_DB names the right file, or restore the store from a backup")
    if "corrupt" in low or isinstance(error, duckdb.SerializationException):
        return StoreCorruptError(
            f"the tag store {path} is damaged ({detail}): restore it from a backup (made with "
            "`python -m core store backup`), or move it aside to start a new, empty store")
    return None


@dataclass(frozen=True)
class RetryPolicy:
    deadline_s: float = 30.0  # give up (StoreBusyError) after this long
    first_delay_s: float = 0.005  # first backoff sleep
    max_delay_s: float = 0.05  # backoff never sleeps longer (keep < _Attachment.HANDOFF_S)
    factor: float = 2.0  # growth of the backoff per attempt

    def delay(self, attempt: int) -> float:
        """Full jitter: uniform in [0, min(max, first * factor**attempt)]."""
        cap = min(self.max_delay_s, self.first_delay_s * self.factor ** attempt)
        return random.uniform(self.first_delay_s / 2, max(cap, self.first_delay_s))


_host_lock = threading.Lock()
_host: duckdb.DuckDBPyConnection | None = None


def new_cursor() -> duckdb.DuckDBPyConnection:
    """A new connection to this process's in-memory host instance (one per operation)."""
    global _host
    with _host_lock:
        if _host is None:
            _host = duckdb.connect(":memory:")
        return _host.cursor()


_inherited: list = []  # a parent's DuckDB objects, kept alive: destroying them in a child crashes


def _forget_after_fork() -> None:
    """A forked child must not use its parent's DuckDB instance: start afresh."""
    global _host
    _inherited.append(_host)
    _host = None
    _Attachment._registry = {}


def fetch_one(result: duckdb.DuckDBPyConnection) -> tuple | None:
    """The first row of a result, reading it to the end (DuckDB refuses some work on a
    connection whose last result was left unfinished, as fetchone() leaves it)."""
    rows = result.fetchall()
    return rows[0] if rows else None


def is_retryable(error: BaseException) -> bool:
    """Lock held by another process, or a write-write conflict between transactions."""
    text = str(error).lower()
    if isinstance(error, duckdb.TransactionException):
        return "conflict" in text
    return isinstance(error, duckdb.IOException) and "lock" in text


class _Attachment:
    """One database file attached to the host while at least one operation uses it.

    Fairness: overlapping operations keep the file attached, which would lock other processes
    out for as long as this one stays busy. So after MAX_HOLD_S of continuous attachment, new
    operations wait for the current ones to finish; the file is detached and left alone for
    HANDOFF_S (longer than another process's longest backoff sleep) so a waiting process gets
    its turn.
    """

    MAX_HOLD_S = 0.5  # continuous attachment after which this process hands the file over
    HANDOFF_S = 0.1  # how long the file is left free at a hand-over

    _registry: dict[str, _Attachment] = {}
    _registry_lock = threading.Lock()

    def __init__(self, path: str, number: int, read_only: bool = False):
        self.path = path
        self.alias = f"tagstore_{number}"  # generated here, never from input: safe in SQL text
        self.options = " (READ_ONLY)" if read_only else ""
        self.users = 0
        self.attached = False
        self.attached_since = 0.0
        self.draining = False  # True while waiting for current users before a hand-over
        self.reopen_after = 0.0  # monotonic time before which the file is left free
        self.cond = threading.Condition()  # guards all of the above, and ATTACH / DETACH
        self.write_lock = threading.Lock()  # one writer at a time in this process

    @classmethod
    def for_path(cls, path: str, read_only: bool = False) -> _Attachment:
        with cls._registry_lock:
            key = f"{path}{' (read-only)' if read_only else ''}"
            if key not in cls._registry:
                cls._registry[key] = cls(path, len(cls._registry) + 1, read_only)
            return cls._registry[key]

    def acquire(self, deadline: float) -> bool:
        """Join (or start) the attachment; False when `deadline` passed while waiting."""
        with self.cond:
            while True:
                now = time.monotonic()
                if self.attached and not self.draining:
                    if self.users and now - self.attached_since > self.MAX_HOLD_S:
                        self.draining = True
                        continue
                    self.users += 1
                    return True
                if not self.attached and now >= self.reopen_after:
                    self._execute(f"ATTACH ? AS {self.alias}{self.options}", [self.path])  # may raise
                    self.attached, self.attached_since, self.users = True, now, 1
                    return True
                if now >= deadline:
                    return False
                wake = self.reopen_after if not self.attached else deadline
                self.cond.wait(max(0.001, min(wake, deadline) - now))

    def release(self) -> None:
        """The last user detaches: DuckDB checkpoints and the file lock goes to other processes."""
        with self.cond:
            self.users -= 1
            if self.users == 0:
                try:
                    self._execute(f"DETACH {self.alias}")
                except duckdb.Error as e:  # stays attached; the next operation reuses it
                    log.warning("could not detach %s (the file stays open): %s", self.path, e)
                    return
                self.attached = False
                if self.draining:
                    self.draining = False
                    self.reopen_after = time.monotonic() + self.HANDOFF_S
                self.cond.notify_all()

    @staticmethod
    def _execute(sql: str, params: list | None = None) -> None:
        cursor = new_cursor()
        try:
            cursor.execute(sql, params)
        finally:
            cursor.close()


class Database:
    """Runs functions of a cursor inside one transaction on a DuckDB file, with retries."""

    def __init__(self, path: str | Path, policy: RetryPolicy | None = None, read_only: bool = False):
        self.path = str(Path(path).resolve())
        self.policy = policy or RetryPolicy()
        self._attachment = _Attachment.for_path(self.path, read_only)

    def read(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return self._run(fn, write=False)

    def write(self, fn: Callable[[duckdb.DuckDBPyConnection], T]) -> T:
        return self._run(fn, write=True)

    def _run(self, fn: Callable[[duckdb.DuckDBPyConnection], T], write: bool) -> T:
        deadline = time.monotonic() + self.policy.deadline_s
        attempt = 0
        while True:
            try:
                with self._writer(deadline) if write else _nothing():
                    return self._once(fn, deadline)
            except duckdb.Error as e:
                if fault := file_fault(self.path, e):
                    raise fault from e
                if not is_retryable(e):
                    raise
                if time.monotonic() >= deadline:
                    raise self._busy(e) from e
            time.sleep(min(self.policy.delay(attempt), max(0.0, deadline - time.monotonic())))
            attempt += 1

    def _busy(self, why: object) -> StoreBusyError:
        why = str(why).splitlines()[0] if str(why) else "locked"
        return StoreBusyError(
            f"the tag store {self.path} stayed busy for {self.policy.deadline_s:g} s: another "
            f"program has it open (the app, a feed job, a DuckDB shell?); close it or wait for it "
            f"to finish, then try again ({why})")

    @contextmanager
    def _writer(self, deadline: float):
        if not self._attachment.write_lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
            raise self._busy("other writers in this process kept it")
        try:
            yield
        finally:
            self._attachment.write_lock.release()

    def _once(self, fn: Callable[[duckdb.DuckDBPyConnection], T], deadline: float) -> T:
        if not self._attachment.acquire(deadline):
            raise self._busy("this process kept it")
        try:
            cursor = new_cursor()
            try:
                cursor.execute(f"USE {self._attachment.alias}")
                cursor.execute("BEGIN TRANSACTION")
                try:
                    result = fn(cursor)
                    cursor.execute("COMMIT")
                except BaseException:
                    _rollback(cursor)
                    raise
                return result
            finally:
                cursor.close()
        finally:
            self._attachment.release()


def _rollback(cursor: duckdb.DuckDBPyConnection) -> None:
    try:
        cursor.execute("ROLLBACK")
    except duckdb.Error:
        pass  # the transaction is already gone (a failed COMMIT rolls back by itself)


@contextmanager
def _nothing():
    yield


os.register_at_fork(after_in_child=_forget_after_fork)
