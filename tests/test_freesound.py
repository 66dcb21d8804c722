"""The Freesound client against a real HTTP server on 127.0.0.1 that speaks the API and misbehaves."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from core.freesound import (
    ApiKeyRejectedError,
    ApiResponseError,
    ClientConfig,
    DownloadError,
    FreesoundClient,
    MissingApiKeyError,
    NetworkError,
    NotFoundError,
    RateLimiter,
    RateLimitError,
    resolve_api_key,
    retry_after_seconds,
)
from tests.freesound_server import API_HOST, API_KEY, CDN_HOST, FakeFreesound, Fault


@pytest.fixture
def fs():
    with FakeFreesound(n_sounds=7) as server:
        yield server


def make_client(fs: FakeFreesound, key: str = API_KEY, **config) -> tuple[FreesoundClient, list]:
    """A client whose waits are recorded instead of slept (what it asked to wait is the behaviour)."""
    waits: list[float] = []
    config = {"api_url": fs.api_url, "timeout_s": 5.0, **config}
    return FreesoundClient(key, ClientConfig(**config), sleep=waits.append), waits


def all_sounds(client: FreesoundClient, **kw) -> list:
    return [s for page in client.search(**kw) for s in page.sounds]


# -- search ----------------------------------------------------------------------------------------
def test_search_follows_next_and_returns_the_newest_first(fs):
    client, _ = make_client(fs)
    sounds = all_sounds(client, page_size=3)
    assert [s.id for s in sounds] == [s["id"] for s in fs.sounds]  # created_desc, all 7
    created = [s.created for s in sounds]
    assert created == sorted(created, reverse=True)
    searches = fs.requests_to("/search/")
    assert len(searches) == 3  # 3 + 3 + 1
    first = searches[0].query
    assert first["sort"] == "created_desc"
    assert set(first["fields"].split(",")) >= {"id", "name", "tags", "username", "license", "created",
                                                "duration", "previews", "url"}
    assert all(s.authorization == f"Token {API_KEY}" for s in searches)


def test_search_parses_the_fields_the_feed_needs(fs):
    client, _ = make_client(fs)
    sound = all_sounds(client)[0]
    expected = fs.sounds[0]
    assert (sound.name, sound.username, sound.license, sound.url, sound.description) == (
        expected["name"], expected["username"], expected["license"], expected["url"],
        expected["description"])
    assert sound.tags == tuple(expected["tags"]) and sound.duration == pytest.approx(1.5)
    assert sound.preview_url() == fs.preview_url(sound.id, "hq")


def test_page_size_is_capped_at_the_apis_maximum(fs):
    client, _ = make_client(fs)
    assert len(all_sounds(client, page_size=1000)) == 7  # the server answers 400 above 150
    assert fs.requests_to("/search/")[0].query["page_size"] == "150"


def test_query_and_solr_filter_reach_the_server(fs):
    client, _ = make_client(fs)
    sounds = all_sounds(client, query="tone", filter="created:[NOW-1DAYS TO NOW]")
    assert [s.id for s in sounds] == [s["id"] for s in fs.sounds[:3]]  # 0, 10 and 20 hours old
    assert fs.requests_to("/search/")[0].query["filter"] == "created:[NOW-1DAYS TO NOW]"


def test_sound_details_and_a_missing_sound(fs):
    client, _ = make_client(fs)
    assert client.sound(fs.sounds[2]["id"]).name == fs.sounds[2]["name"]
    with pytest.raises(NotFoundError, match=r"404 .*Not found\."):
        client.sound(123)


# -- keys ------------------------------------------------------------------------------------------
def test_a_missing_key_says_where_to_put_one(monkeypatch):
    monkeypatch.delenv("FREESOUND_API_KEY", raising=False)
    with pytest.raises(MissingApiKeyError, match="FREESOUND_API_KEY.*freesound.org/apiv2/apply"):
        resolve_api_key(None)
    with pytest.raises(MissingApiKeyError):
        FreesoundClient("  ")
    monkeypatch.setenv("FREESOUND_API_KEY", "from-env")
    assert resolve_api_key(None) == "from-env"
    assert resolve_api_key("from-secret") == "from-secret"  # an app secret wins over the env


def test_a_rejected_key_gives_the_apis_detail_and_never_the_key(fs):
    client, _ = make_client(fs, key="wrong-key-Zq81")
    with pytest.raises(ApiKeyRejectedError) as err:
        all_sounds(client)
    message = str(err.value)
    assert "401" in message and "Invalid token." in message and "FREESOUND_API_KEY" in message
    assert "wrong-key-Zq81" not in message
    assert len(fs.requests_to("/search/")) == 1  # a 401 is not retried


def test_the_key_is_in_no_repr():
    client = FreesoundClient(API_KEY)
    assert API_KEY not in repr(client) and API_KEY not in repr(client.session.auth)
    assert API_KEY not in str(vars(client.config))


# -- previews and hosts ----------------------------------------------------------------------------
def test_preview_on_another_host_is_fetched_without_the_key(tmp_path):
    with FakeFreesound(n_sounds=2, previews_on_cdn=True) as fs:
        client, _ = make_client(fs)
        sound = all_sounds(client)[0]
        got = client.download(sound.preview_url(), tmp_path / f"{sound.id}.ogg")
        data = fs.previews[sound.id]
        assert got.path.read_bytes() == data
        assert got.sha256 == hashlib.sha256(data).hexdigest() and got.size == len(data)
        cdn = [s for s in fs.seen if s.host == CDN_HOST]
        assert len(cdn) == 1 and cdn[0].authorization is None
        assert all(s.authorization == f"Token {API_KEY}" for s in fs.seen if s.host == API_HOST)


def test_a_redirect_to_another_host_drops_the_key(fs, tmp_path):
    client, _ = make_client(fs)
    sid = fs.sounds[0]["id"]
    fs.fail("/previews/", Fault("redirect"))  # API host -> the same path on 127.0.0.2
    got = client.download(fs.preview_url(sid), tmp_path / "a.ogg")
    assert got.path.read_bytes() == fs.previews[sid]
    first, second = fs.seen[-2], fs.seen[-1]
    assert (first.host, second.host) == (API_HOST, CDN_HOST)
    assert first.authorization == f"Token {API_KEY}" and second.authorization is None


def test_same_address_under_another_name_is_another_host(tmp_path):
    """The API at http://localhost:PORT, a preview at http://127.0.0.1:PORT: no key there."""
    with FakeFreesound(n_sounds=1, api_hostname="localhost") as fs:
        client, _ = make_client(fs)
        sound = all_sounds(client)[0]
        client.download(sound.preview_url(), tmp_path / "p.ogg")
        search, preview = fs.requests_to("/search/")[0], fs.requests_to("/previews/")[0]
        assert search.host_header.startswith("localhost:") and search.authorization
        assert preview.host_header.startswith("127.0.0.1:") and preview.authorization is None


def test_truncated_preview_leaves_no_file(fs, tmp_path):
    client, _ = make_client(fs)
    sid = fs.sounds[0]["id"]
    fs.fail("/previews/", Fault("truncate"))
    with pytest.raises(DownloadError, match="cut off|truncated"):
        client.download(fs.preview_url(sid), tmp_path / "p.ogg")
    assert list(tmp_path.iterdir()) == []  # no preview, no temp file


def test_oversized_preview_is_refused(fs, tmp_path):
    client, _ = make_client(fs, max_preview_bytes=1000)
    with pytest.raises(DownloadError, match="over the cap of 1000"):
        client.download(fs.preview_url(fs.sounds[0]["id"]), tmp_path / "p.ogg")
    assert list(tmp_path.iterdir()) == []


# -- retries, timeouts, rate limits ----------------------------------------------------------------
def test_500_then_success_is_retried_with_backoff(fs):
    client, waits = make_client(fs, backoff_s=0.5)
    fs.fail("/search/", Fault("status", status=500, detail="Temporarily broken", times=2))
    assert len(all_sounds(client)) == 7
    assert len(fs.requests_to("/search/")) == 3
    assert waits == [0.5, 1.0]  # doubling


def test_500s_beyond_the_retries_fail_with_the_apis_detail(fs):
    client, _ = make_client(fs, retries=2, backoff_s=0.01)
    fs.fail("/search/", Fault("status", status=503, detail="Down for maintenance", times=10))
    with pytest.raises(NetworkError, match="503 .*Down for maintenance"):
        all_sounds(client)
    assert len(fs.requests_to("/search/")) == 3


def test_429_honours_retry_after(fs):
    client, waits = make_client(fs)
    fs.fail("/search/", Fault("status", status=429, detail="Request was throttled.",
                              headers={"Retry-After": "7"}))
    assert len(all_sounds(client)) == 7
    assert waits == [7.0]
    assert len(fs.requests_to("/search/")) == 2


def test_429_asking_for_more_than_the_cap_stops(fs):
    client, waits = make_client(fs, max_retry_wait_s=2)
    fs.fail("/search/", Fault("status", status=429, detail="Request was throttled. Expected in 3600s",
                              headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitError, match="throttled.*3600 s"):
        all_sounds(client)
    assert waits == [] and len(fs.requests_to("/search/")) == 1


def test_a_slow_answer_times_out_and_is_retried(fs):
    client, _ = make_client(fs, timeout_s=0.3, backoff_s=0.0)
    fs.fail("/search/", Fault("slow", delay_s=1.5))
    assert len(all_sounds(client)) == 7


def test_an_answer_that_never_comes_in_time_fails_clearly(fs):
    client, _ = make_client(fs, timeout_s=0.3, retries=1, backoff_s=0.0)
    fs.fail("/sounds/", Fault("slow", delay_s=1.5, times=2))
    with pytest.raises(NetworkError, match="(?i)timed out"):
        client.sound(fs.sounds[0]["id"])


def test_malformed_json_is_a_clear_error(fs):
    client, _ = make_client(fs)
    fs.fail("/search/", Fault("malformed"))
    with pytest.raises(ApiResponseError, match="malformed JSON.*results"):
        all_sounds(client)


def test_an_error_body_that_is_not_json_is_quoted(fs):
    client, _ = make_client(fs, retries=0)
    fs.fail("/search/", Fault("status", status=502, detail=None))
    with pytest.raises(NetworkError, match="502 .*Server Error"):
        all_sounds(client)


def test_the_daily_budget_stops_the_client_before_the_server_sees_more(fs):
    client, _ = make_client(fs, per_day=2)
    with pytest.raises(RateLimitError, match="2 requests a day"):
        all_sounds(client, page_size=2)  # would take 4 pages
    assert len(fs.requests_to("/search/")) == 2


# -- the limiter, on a clock of its own --------------------------------------------------------------
class FakeClock:
    def __init__(self):
        self.t = 1_000_000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.t

    def sleep(self, s: float) -> None:
        self.slept.append(s)
        self.t += s


def test_limiter_waits_out_the_sliding_minute():
    clock = FakeClock()
    limiter = RateLimiter(per_minute=3, per_day=100, clock=clock, sleep=clock.sleep)
    for _ in range(3):
        limiter.acquire()
        clock.t += 10
    limiter.acquire()  # requests at 0, 10, 20; now 30: the first leaves the window at 60
    assert clock.slept == [pytest.approx(30.0)]
    limiter.acquire()  # window now holds 10, 20, 60: wait until 70
    assert clock.slept[-1] == pytest.approx(10.0)


def test_limiter_day_budget_is_remembered_across_runs(tmp_path):
    state = tmp_path / "requests.json"
    clock = FakeClock()
    first = RateLimiter(per_minute=60, per_day=3, state_path=state, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        first.acquire()
    assert len(json.loads(state.read_text())) == 2
    second = RateLimiter(per_minute=60, per_day=3, state_path=state, clock=clock, sleep=clock.sleep)
    second.acquire()
    with pytest.raises(RateLimitError, match="3 requests a day.*24.0 h"):
        second.acquire()
    clock.t += 24 * 3600
    second.acquire()  # a day later the window has moved on


def test_processes_sharing_the_state_file_count_each_others_requests(tmp_path):
    state = tmp_path / "requests.json"
    code = ("import sys; from pathlib import Path; from core.freesound import RateLimiter; "
            "limiter = RateLimiter(per_minute=10_000, per_day=10_000, state_path=Path(sys.argv[1])); "
            "[limiter.acquire() for _ in range(150)]")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(state)]) for _ in range(3)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert len(json.loads(state.read_text())) == 450  # none lost to another process's write
    late = RateLimiter(per_minute=10_000, per_day=451, state_path=state)
    late.acquire()
    with pytest.raises(RateLimitError, match="451 requests a day"):
        late.acquire()


def test_retry_after_forms():
    assert retry_after_seconds("12") == 12.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    now = datetime(2025, 1, 1, tzinfo=UTC)
    date = format_datetime(now + timedelta(seconds=90), usegmt=True)
    assert retry_after_seconds(date, now=now.timestamp()) == pytest.approx(90)


def test_an_http_next_link_to_the_https_api_host_stays_on_https():
    client = FreesoundClient(API_KEY)  # https://freesound.org/apiv2: nothing is requested here
    nxt = "http://freesound.org/apiv2/search/?query=&page=2"
    assert client._as_api_scheme(nxt) == "https://freesound.org/apiv2/search/?query=&page=2"
    other = "http://elsewhere.example/apiv2/search/?page=2"
    assert client._as_api_scheme(other) == other  # and the key is not sent there
