"""Threads of one process and other processes share one DuckDB file: nothing lost, no lock error.

DuckDB lets one process at a time open a file; the store opens it only for the length of each
operation and retries (with backoff) while another process holds it. These tests use real
processes: one that writes corrections while this one's threads do, one that holds the file
open for a while, and one killed with SIGKILL in the middle of its writes.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from core.store import LabelRequest, RetryPolicy, SoundInfo, StoreBusyError, TagStore

ROOT = Path(__file__).resolve().parent.parent

WRITER = """
import sys
from core.store import TagStore
store = TagStore(sys.argv[1])
ids = [int(x) for x in sys.argv[2].split(",")]
print("ready", flush=True)
for i in range(int(sys.argv[3])):
    store.label(ids[i % len(ids)], add=[f"proc-{i}"], user="process")
print("done", flush=True)
"""

HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])          # holds the file lock, like a long write elsewhere
con.execute("SELECT count(*) FROM sounds").fetchall()
print("holding", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""

KILLED = """
import sys
from core.store import LabelRequest, TagStore
store = TagStore(sys.argv[1])
sid, first = int(sys.argv[2]), int(sys.argv[3])
batch = first
while True:
    store.label_many([LabelRequest(sid, add=(f"b{batch}-e{j}",), user="killed")
                      for j in range(50)])
    print(batch, flush=True)           # printed only after the batch committed
    batch += 1
"""


def spawn(script: str, *args) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(proc: subprocess.Popen, expected: str) -> None:
    line = proc.stdout.readline().strip()
    assert line == expected, f"child said {line!r}; stderr: {proc.stderr.read()}"


def fill(store: TagStore, n: int) -> list[int]:
    items = [(SoundInfo(source="folder", name=f"s{i}", audio_path=None, content_hash=f"h{i}",
                        duration_s=1.0), [("piano", 0.7), ("drum", 0.3)], "tiny@1")
             for i in range(n)]
    return [sid for sid, _ in store.add_sounds(items)]


def test_threads_and_another_process_write_at_once_and_lose_nothing(tmp_path):
    db = tmp_path / "shared.duckdb"
    store = TagStore(db)
    ids = fill(store, 10)
    holder = spawn(HOLDER, db, 1.5)
    wait_for_line(holder, "holding")  # every first attempt below finds the file locked
    writer = spawn(WRITER, db, ",".join(map(str, ids)), 60)
    errors: list[BaseException] = []
    n_threads, per_thread = 6, 15

    def write(k: int) -> None:
        try:
            for i in range(per_thread):
                store.label(ids[(k + i) % len(ids)], add=[f"t{k}-{i}"], user=f"thread{k}")
        except BaseException as e:  # noqa: BLE001 - any error at all fails the test
            errors.append(e)

    def read() -> None:
        try:
            for _ in range(10):
                store.list_sounds()
                store.labels(ids[0])
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(n_threads)]
    threads += [threading.Thread(target=read) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    out, err = writer.communicate(timeout=120)
    holder.wait(timeout=30)
    assert errors == []
    assert writer.returncode == 0 and out.split() == ["ready", "done"], err
    events = [(c.user, c.tag) for sid in ids for c in store.history(sid)]
    expected = {(f"thread{k}", f"t{k}-{i}") for k in range(n_threads) for i in range(per_thread)}
    expected |= {("process", f"proc-{i}") for i in range(60)}
    assert set(events) == expected and len(events) == len(expected)
    assert store.stats()["corrections"] == n_threads * per_thread + 60


def test_a_file_held_past_the_deadline_gives_a_clear_busy_error(tmp_path):
    db = tmp_path / "held.duckdb"
    store = TagStore(db, RetryPolicy(deadline_s=0.5))
    (sid,) = fill(store, 1)
    holder = spawn(HOLDER, db, 5)
    wait_for_line(holder, "holding")
    try:
        start = time.monotonic()
        with pytest.raises(StoreBusyError, match="busy"):
            store.label(sid, add=["cat"])
        assert time.monotonic() - start < 4  # gave up at its deadline, not the holder's end
    finally:
        holder.kill()
        holder.wait()
    store.label(sid, add=["cat"])  # the lock is gone with the process: writes work again
    assert store.labels(sid).added == ["cat"]


@pytest.mark.parametrize("rounds", [3])
def test_sigkill_in_the_middle_of_writes_keeps_every_committed_correction(tmp_path, rounds):
    db = tmp_path / "killed.duckdb"
    (sid,) = fill(TagStore(db), 1)
    committed: list[int] = []
    first = 0
    for r in range(rounds):
        child = spawn(KILLED, db, sid, first)
        for _ in range(2 + 2 * r):
            line = child.stdout.readline().strip()
            assert line, child.stderr.read()
            committed.append(int(line))
        time.sleep(0.01 * r)  # land in a different part of the next batch each round
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        committed += [int(x) for x in child.stdout.read().split()]
        store = TagStore(db)  # opens (recovering its write-ahead log) after the kill
        events = [c.tag for c in store.history(sid)]
        per_batch: dict[int, int] = {}
        for tag in events:
            batch = int(tag.split("-")[0][1:])
            per_batch[batch] = per_batch.get(batch, 0) + 1
        assert all(per_batch.get(b) == 50 for b in committed)  # every committed batch, whole
        assert set(per_batch.values()) == {50}  # and none half-written
        first = max(per_batch) + 1
    store.label(sid, add=["cat"], user="me")
    assert "cat" in store.labels(sid).added


def test_the_store_never_holds_the_file_between_operations(tmp_path):
    db = tmp_path / "free.duckdb"
    store = TagStore(db)
    (sid,) = fill(store, 1)
    store.label(sid, add=["cat"])
    con = duckdb.connect(str(db))  # another instance can open it right away
    try:
        assert con.execute("SELECT count(*) FROM corrections").fetchone()[0] == 1
    finally:
        con.close()
    assert store.labels(sid).added == ["cat"]


def test_label_many_is_one_transaction(tmp_path):
    store = TagStore(tmp_path / "batch.duckdb")
    (sid,) = fill(store, 1)
    with pytest.raises(LookupError):
        store.label_many([LabelRequest(sid, add=("cat",)), LabelRequest(sid + 99, add=("dog",))])
    assert store.history(sid) == []  # the valid half was not written either


def test_real_errors_surface_at_once_and_leave_the_store_usable(tmp_path):
    store = TagStore(tmp_path / "errors.duckdb", RetryPolicy(deadline_s=60))
    (sid,) = fill(store, 1)
    start = time.monotonic()
    with pytest.raises(duckdb.CatalogException):
        store.read_sql("SELECT * FROM no_such_table", {})
    assert time.monotonic() - start < 30  # not retried until the deadline
    store.label(sid, add=["cat"])
    assert store.labels(sid).added == ["cat"]


def test_a_forked_child_process_can_use_the_store(tmp_path):
    store = TagStore(tmp_path / "fork.duckdb")
    (sid,) = fill(store, 1)
    store.labels(sid)  # this process's DuckDB instance exists before the fork
    pid = os.fork()
    if pid == 0:  # the child: a fresh instance, the parent's is left alone
        code = 1
        try:
            TagStore(tmp_path / "fork.duckdb").label(sid, add=["cat"], user="child")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert store.labels(sid).added == ["cat"]
