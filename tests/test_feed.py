"""The feed job end to end: a real HTTP server, a real DuckDB file, real ogg previews, a real model.

Each test asserts what ends up in the store (and in the audio folder) after the server misbehaves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from core.feed import FeedConfig, fetch_freesound, since_filter
from core.freesound import ClientConfig, FreesoundClient
from core.store import SoundQuery, TagStore
from core.tagger import Tagger
from tests.freesound_server import API_HOST, API_KEY, CDN_HOST, FakeFreesound, Fault


@pytest.fixture(scope="module")
def tagger(tiny_model_dir) -> Tagger:
    return Tagger(tiny_model_dir, device="cpu")


@pytest.fixture
def fs():
    with FakeFreesound(n_sounds=6) as server:
        yield server


@pytest.fixture
def store(tmp_path) -> TagStore:
    return TagStore(tmp_path / "tags.duckdb")


class Feed:
    """One configured feed: run it as often as a test likes, against the same store and folder."""

    def __init__(self, fs: FakeFreesound, store: TagStore, tagger: Tagger, audio_dir: Path):
        self.fs, self.store, self.tagger, self.audio_dir = fs, store, tagger, audio_dir
        self.progress: list[tuple[int, int, str]] = []

    def run(self, key: str = API_KEY, client_options: dict | None = None, **config):
        options = {"api_url": self.fs.api_url, "timeout_s": 5.0, "backoff_s": 0.0,
                   **(client_options or {})}
        client = FreesoundClient(key, ClientConfig(**options), sleep=lambda s: None)
        config = FeedConfig(**{"audio_dir": self.audio_dir, "batch": 4, **config})
        with client:
            return fetch_freesound(client, self.store, self.tagger, config,
                                   on_progress=lambda *a: self.progress.append(a))

    def stored(self) -> dict[int, object]:
        """Freesound id -> stored row, for every sound in the store."""
        rows = self.store.list_sounds(SoundQuery(limit=None))
        return {r.freesound_id: r for r in rows}


@pytest.fixture
def feed(fs, store, tagger, tmp_path) -> Feed:
    return Feed(fs, store, tagger, tmp_path / "audio")


def assert_complete(feed: Feed) -> None:
    """Every stored sound has its 20 predictions and a whole preview whose hash matches."""
    for fid, row in feed.stored().items():
        assert len(row.predicted) == 20, fid
        sound = feed.store.get_sound(row.id)
        data = Path(sound.audio_path).read_bytes()
        assert data == feed.fs.previews[fid]
        assert sound.content_hash == hashlib.sha256(data).hexdigest()
    leftovers = [p.name for p in feed.audio_dir.glob("*") if p.suffix == ".part"]
    assert leftovers == []


def test_newest_sounds_are_stored_with_metadata_audio_and_predictions(feed, fs, tagger):
    summary = feed.run()
    assert (summary.fetched, summary.new, summary.skipped, summary.failed) == (6, 6, 0, 0)
    assert summary.stopped_reason is None
    stored = feed.stored()
    assert set(stored) == {s["id"] for s in fs.sounds}
    first = fs.sounds[0]
    sound = feed.store.get_sound(stored[first["id"]].id)
    assert (sound.source, sound.name, sound.username, sound.license, sound.url) == (
        "freesound", first["name"], first["username"], first["license"], first["url"])
    assert sound.description == first["description"]  # quotes and SQL kept verbatim
    assert sound.created_at == first["created"] and sound.original_tags == tuple(first["tags"])
    assert Path(sound.audio_path) == feed.audio_dir / f"{first['id']}.ogg"
    assert sound.duration_s == pytest.approx(1.5, abs=0.01)
    labels = feed.store.labels(sound.id)
    assert labels.model == tagger.model_label and len(labels.predicted) == 20
    assert_complete(feed)
    assert fs.requests_to("/search/")[0].query["sort"] == "created_desc"


def test_progress_reaches_the_total(feed):
    feed.run()
    done, total, _ = feed.progress[-1]
    assert (done, total) == (6, 6)
    assert [p[0] for p in feed.progress] == list(range(1, 7))


def test_limit_takes_the_newest_only(feed, fs):
    summary = feed.run(limit=2)
    assert summary.new == 2
    assert set(feed.stored()) == {fs.sounds[0]["id"], fs.sounds[1]["id"]}
    assert fs.requests_to("/search/")[0].query["page_size"] == "2"


def test_since_becomes_a_solr_filter(feed, fs):
    assert since_filter("3d") == "created:[NOW-3DAYS TO NOW]"
    assert since_filter("12h") == "created:[NOW-12HOURS TO NOW]"
    assert since_filter("2w") == "created:[NOW-14DAYS TO NOW]"
    for bad in ("3", "0d", "d3", "3 years"):
        with pytest.raises(ValueError, match="--since"):
            since_filter(bad)
    summary = feed.run(since="1d")  # sounds are 0, 10, 20, 30, ... hours old
    assert summary.new == 3
    assert fs.requests_to("/search/")[0].query["filter"] == "created:[NOW-1DAYS TO NOW]"


def test_a_rerun_skips_what_is_stored_and_takes_only_the_newer_sounds(feed, fs):
    feed.run()
    fresh = fs.add_newer_sounds(2)
    before = len(fs.requests_to("/previews/"))
    summary = feed.run()
    assert (summary.new, summary.skipped) == (2, 6)
    assert len(fs.requests_to("/previews/")) - before == 2  # stored sounds are not downloaded again
    assert {s["id"] for s in fresh} <= set(feed.stored())
    assert_complete(feed)


def test_previews_on_another_host_get_no_key(store, tagger, tmp_path):
    with FakeFreesound(n_sounds=3, previews_on_cdn=True) as fs:
        feed = Feed(fs, store, tagger, tmp_path / "audio")
        assert feed.run().new == 3
        assert {s.authorization for s in fs.seen if s.host == CDN_HOST} == {None}
        assert {s.authorization for s in fs.seen if s.host == API_HOST} == {f"Token {API_KEY}"}
        assert_complete(feed)


def test_a_missing_preview_fails_that_sound_only_and_a_rerun_takes_it(feed, fs):
    missing = fs.sounds[2]["id"]
    fs.fail(f"/previews/{missing}-", Fault("status", status=404, detail="Not found."))
    summary = feed.run()
    assert (summary.new, summary.failed) == (5, 1)
    assert "Not found." in summary.errors[0] and str(missing) in summary.errors[0]
    assert missing not in feed.stored()
    assert not (feed.audio_dir / f"{missing}.ogg").exists()
    assert feed.run().new == 1  # picks up where it stopped
    assert_complete(feed)


def test_a_truncated_preview_is_never_stored(feed, fs):
    cut = fs.sounds[0]["id"]
    fs.fail(f"/previews/{cut}-", Fault("truncate"))
    summary = feed.run()
    assert (summary.new, summary.failed) == (5, 1)
    assert cut not in feed.stored() and not (feed.audio_dir / f"{cut}.ogg").exists()
    assert_complete(feed)


def test_a_preview_that_is_not_audio_is_failed_and_not_kept(feed, fs):
    bad = fs.sounds[1]["id"]
    fs.previews[bad] = b"<html>an error page, not an ogg file</html>"
    summary = feed.run()
    assert (summary.new, summary.failed) == (5, 1)
    assert bad not in feed.stored() and not (feed.audio_dir / f"{bad}.ogg").exists()


def test_a_slow_preview_times_out_and_fails_alone(feed, fs):
    slow = fs.sounds[3]["id"]
    fs.fail(f"/previews/{slow}-", Fault("slow", delay_s=1.5, times=2))
    summary = feed.run(client_options={"timeout_s": 0.3, "retries": 1})
    assert (summary.new, summary.failed) == (5, 1)
    assert "timed out" in summary.errors[0].lower()


def test_500_then_success_loses_nothing(feed, fs):
    fs.fail("/search/", Fault("status", status=500, detail="Internal error", times=2))
    fs.fail("/previews/", Fault("status", status=502, times=1))
    summary = feed.run()
    assert (summary.new, summary.failed) == (6, 0)
    assert_complete(feed)


def test_a_rejected_key_stops_the_job_with_nothing_stored(feed, fs):
    summary = feed.run(key="not-the-key")
    assert summary.new == 0 and "rejected" in summary.stopped_reason
    assert "Invalid token." in summary.stopped_reason
    assert feed.stored() == {} and not list(feed.audio_dir.glob("*.ogg"))


def test_malformed_json_stops_the_job_and_says_so(feed, fs):
    fs.fail("/search/", Fault("malformed"))
    summary = feed.run()
    assert summary.new == 0 and "malformed JSON" in summary.stopped_reason


def test_a_long_retry_after_on_page_two_keeps_page_one(feed, fs):
    fs.fail("page=2", Fault("status", status=429, headers={"Retry-After": "600"},
                            detail="Request was throttled. Expected available in 600 seconds."))
    summary = feed.run(page_size=3, client_options={"max_retry_wait_s": 1.0})
    assert (summary.new, summary.failed) == (3, 0)
    assert "throttled" in summary.stopped_reason and "600 s" in summary.stopped_reason
    assert set(feed.stored()) == {s["id"] for s in fs.sounds[:3]}
    assert_complete(feed)
    later = feed.run(page_size=3)
    assert (later.new, later.skipped) == (3, 3)


def test_the_daily_budget_stops_the_job_and_says_so(feed, fs):
    summary = feed.run(client_options={"per_day": 4})  # 1 search + 3 previews (same host here)
    assert summary.new == 3 and "4 requests a day" in summary.stopped_reason
    assert len(fs.seen) == 4
    assert_complete(feed)


def test_ctrl_c_keeps_what_is_stored_and_a_rerun_finishes(feed, fs):
    def interrupt_after_three(done, total, message):
        if done == 3:
            raise KeyboardInterrupt

    client = FreesoundClient(API_KEY, ClientConfig(api_url=fs.api_url))
    config = FeedConfig(audio_dir=feed.audio_dir, batch=1)
    summary = fetch_freesound(client, feed.store, feed.tagger, config, interrupt_after_three)
    assert summary.stopped_reason.startswith("interrupted") and summary.new == 3
    assert len(feed.stored()) == 3
    assert_complete(feed)
    assert feed.run().new == 3
    assert len(feed.stored()) == 6


def test_a_store_that_stays_busy_stops_the_job_with_a_message(feed, monkeypatch):
    from core.store import StoreBusyError

    def busy(items, embeddings=None):
        raise StoreBusyError("data/tags.duckdb is locked by another process (after 30 s)")

    monkeypatch.setattr(feed.store, "add_sounds", busy)
    summary = feed.run()
    assert summary.new == 0 and "tag store failed" in summary.stopped_reason
    assert "locked by another process" in summary.stopped_reason
