"""End to end in a real browser: `streamlit run` on 127.0.0.1, Debian's Chromium driven by Playwright.

A person uploads a generated sound, sees its tags, keeps it in the library, corrects its tags, and
the DuckDB file holds the correction. Every page is visited and photographed into
test-output/screenshots/. Without /usr/bin/chromium this FAILS (`make test` installs it).
"""

from __future__ import annotations

import json
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.local_app import CHROMIUM, AppStartError, launch_chromium, running_app
from core.modeldir import DEFAULT_MODEL_DIR, WEIGHTS
from core.store import SoundInfo, TagStore, file_hash
from tests.audio_factory import make_tone_file
from tests.conftest import make_model_dir

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parent.parent
SHOTS = ROOT / "test-output" / "screenshots"
SERVER_START_S = 240  # generous: two busy cores, and the first import of torch is slow
STEP_MS = 180_000  # any one step in the browser (a first render, tagging a file), on a busy machine
VIEWPORT = {"width": 1440, "height": 1000}
MAX_SHOT_H = 3200  # pixels: screenshots of long pages stop here
DEMO_KICK = ROOT / "data" / "demo" / "drum_heavy_kick.ogg"


def write_run(runs: Path) -> None:
    """A finished run's log.jsonl in the trainer's format, so the monitor has curves to draw."""
    run = runs / "e2e-run"
    run.mkdir(parents=True)
    lines = [{"event": "start", "config": {"preset": "compact", "epochs": 8, "batch_size": 64,
                                           "lr": 0.001}, "n_train": 4000, "n_val": 450,
              "parameters": 1_300_000, "device": "cpu"}]
    lines += [{"event": "epoch", "epoch": e, "train_loss": 0.09 / e ** 0.8,
               "val_loss": 0.08 / e ** 0.6 + 0.002 * e, "roc_auc_macro": 0.99 - 0.2 / e,
               "roc_auc_micro": 0.995 - 0.15 / e, "pr_auc_macro": 0.85 - 0.6 / e,
               "pr_auc_micro": 0.9 - 0.55 / e, "subset_accuracy": 0.6 - 0.5 / e,
               "time_s": 30.0, "samples_per_s": 150.0, "best_epoch": e, "is_best": True}
              for e in range(1, 9)]
    lines.append({"event": "end", "epochs": 8, "best_epoch": 8, "stopped": "max_epochs"})
    (run / "log.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))


def the_model(tmp: Path) -> Path:
    """The bundled model when it is there, else a tiny random one (the plumbing is the same)."""
    if (DEFAULT_MODEL_DIR / WEIGHTS).is_file():
        return DEFAULT_MODEL_DIR
    return make_model_dir(tmp / "models" / "tiny")


@pytest.fixture(scope="module")
def app_server(tmp_path_factory) -> Iterator[dict]:
    tmp = tmp_path_factory.mktemp("e2e")
    write_run(tmp / "runs")
    env = {"TAGGER_DB": str(tmp / "tags.duckdb"), "TAGGER_AUDIO": str(tmp / "audio"),
           "TAGGER_MODEL": str(the_model(tmp)), "TAGGER_RUNS": str(tmp / "runs"), "TAGGER_USER": "e2e"}
    log = tmp / "streamlit.log"
    try:
        with running_app(env, log, SERVER_START_S) as (url, _):
            yield {"url": url, "db": Path(env["TAGGER_DB"]), "tmp": tmp, "log": log}
    except AppStartError as e:
        pytest.fail(str(e))


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} is missing: the end-to-end test needs Debian's Chromium. "
                    "Install it with `scripts/apt-install.sh chromium` (`make test` does).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = launch_chromium(p)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_server, request):
    context = browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    context.set_default_timeout(STEP_MS)
    pg = context.new_page()
    failed_before = request.session.testsfailed
    yield pg
    shoot(pg, f"last-state-{request.node.name}")  # what the browser showed at the end (or failure)
    context.close()
    if request.session.testsfailed > failed_before:  # the server's side of the story
        print("streamlit log (tail):\n" + app_server["log"].read_text(errors="replace")[-4000:])


def settle(page) -> None:
    """Wait until the script run is over: Streamlit's running indicator is gone."""
    page.wait_for_timeout(300)
    page.locator('[data-testid="stStatusWidget"]').wait_for(state="detached", timeout=STEP_MS)
    page.wait_for_timeout(300)


def open_page(page, base: str, path: str, heading: str) -> None:
    page.goto(f"{base}/{path}")
    page.get_by_role("heading", name=heading).first.wait_for()
    settle(page)
    no_exception(page)


def no_exception(page) -> None:
    errors = page.locator('[data-testid="stException"]')
    assert errors.count() == 0, errors.first.inner_text()


def content_height(page) -> int:
    """Height of the page's content once it stops growing (fragments and images arrive late)."""
    js = "() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')?.scrollHeight ?? 0"
    last = -1
    for _ in range(40):
        page.wait_for_timeout(400)
        height = int(page.evaluate(js))
        if height == last:
            break
        last = height
    return last


def shoot(page, name: str) -> Path:
    """The whole page: Streamlit scrolls inside its own container, so the viewport grows to fit."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    out = SHOTS / f"{name}.png"
    height = max(VIEWPORT["height"], min(content_height(page) + 120, MAX_SHOT_H))
    page.set_viewport_size({"width": VIEWPORT["width"], "height": height})
    page.wait_for_timeout(500)  # let charts re-layout to the new size
    page.locator('[data-testid="stSkeleton"]').first.wait_for(state="detached")
    page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollTo(0, 0)")
    page.screenshot(path=str(out))
    page.set_viewport_size(VIEWPORT)
    return out


def test_upload_keep_and_correct_lands_in_the_store(app_server, page, tmp_path):
    base, db = app_server["url"], app_server["db"]
    sound = tmp_path / "e2e kick.ogg"  # a kick drum: any model worth bundling gives it final tags
    shutil.copyfile(DEMO_KICK, sound)
    open_page(page, base, "upload", "Upload and tag")
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(sound))
    page.get_by_text("Top tags").wait_for()
    page.get_by_text("e2e kick.ogg").first.wait_for()
    page.locator('[data-testid="stImage"] img').first.wait_for()  # the spectrogram
    settle(page)
    shoot(page, "upload")

    page.get_by_role("button", name="Keep in library").click()
    kept = page.get_by_text(re.compile(r"In the library as sound #\d+"))
    kept.wait_for()
    sound_id = int(re.search(r"#(\d+)", kept.inner_text()).group(1))
    settle(page)

    remove = page.locator(f'[class*="st-key-upload_{sound_id}_"][class*="_remove"]').first
    tag = re.search(rf"st-key-upload_{sound_id}_(\w+?)_remove", remove.get_attribute("class")).group(1)
    remove.locator("button:visible").first.click()
    page.get_by_text(re.compile(r"^Reviewed ·")).wait_for()
    settle(page)
    add = add_box(page, "upload", sound_id)  # a new box per tag
    add.click()
    add.fill("guit")  # the autocomplete over the 1000 tags offers the matches
    page.get_by_role("option", name="guitar", exact=True).click()
    page.get_by_text(re.compile(r"final tags: .*\bguitar\b")).wait_for()
    page.keyboard.press("Escape")  # close the autocomplete list
    settle(page)
    add = add_box(page, "upload", sound_id)  # (the box that replaced the one that took 'guitar')
    add.click()
    add.fill("bass")  # Enter takes the first match: the word itself, stored as COALA's `bas`
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"final tags: .*\bbas\b")).wait_for()
    page.keyboard.press("Escape")
    settle(page)
    no_exception(page)
    shoot(page, "upload-corrected")

    labels = TagStore(db).labels(sound_id)
    assert tag in labels.removed and tag not in labels.final
    assert "guitar" in labels.added and "guitar" in labels.final
    assert "bas" in labels.added and "bassdrum" not in labels.added

    open_page(page, base, "export", "Export")  # the download carries the correction too
    page.get_by_text("jsonl", exact=True).click()
    page.get_by_role("button", name=re.compile(r"Download tags-.*\.jsonl")).wait_for()
    with page.expect_download(timeout=STEP_MS) as download:
        page.get_by_role("button", name=re.compile(r"Download tags-.*\.jsonl")).click()
    lines = Path(download.value.path()).read_text().splitlines()
    exported = next(r for r in map(json.loads, lines) if r["sound_id"] == sound_id)
    assert tag in exported["removed"] and tag not in exported["final"]
    assert "guitar" in exported["final"]


def add_box(page, prefix: str, sound_id: int):
    """A card's Add tags box, its popover opened first when it is closed (as a click would)."""
    box = page.locator(f'[class*="st-key-{prefix}_{sound_id}_add"] input').first
    if not box.is_visible():
        page.locator(f".st-key-{prefix}_{sound_id}_addtags button").first.click()
    box.wait_for()
    return box


def stored_sound(db: Path, tmp_path: Path, name: str, seconds: float = 1.0) -> int:
    """A generated tone stored straight into the app's tag store (as the feed job would)."""
    freq = 300.0 + sum(name.encode()) % 900  # another name, other audio: a sound of its own
    wav = make_tone_file(tmp_path / f"{name}.wav", seconds=seconds, freq=freq)
    info = SoundInfo(source="folder", name=name, audio_path=str(wav), content_hash=file_hash(wav),
                     duration_s=seconds)
    return TagStore(db).add_sound(info, [("piano", 0.9), ("note", 0.6)], "e2e@0")[0]


def test_a_second_enter_in_add_tags_adds_nothing(app_server, page, tmp_path):
    base, db = app_server["url"], app_server["db"]
    sid = stored_sound(db, tmp_path, "enter twice")
    open_page(page, base, "feed", "Feed and review")
    add = add_box(page, "feed", sid)
    add.click()
    add.fill("crunchy")
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"final tags: .*\bcrunchy\b")).wait_for()
    settle(page)
    page.keyboard.press("Enter")  # the box is empty now: nothing may be added
    settle(page)
    page.keyboard.press("Enter")
    settle(page)
    add = add_box(page, "feed", sid)  # the next tag goes into the new, empty box
    add.click()
    add.fill("door")
    page.keyboard.press("Enter")
    page.get_by_text(re.compile(r"final tags: .*\bdoor\b")).wait_for()
    settle(page)
    no_exception(page)
    assert [(c.action, c.tag) for c in TagStore(db).history(sid)] == [("add", "crunchy"),
                                                                      ("add", "door")]


def until(check, what: str, timeout_s: float = 60.0) -> None:
    """Wait for `check()` (a read of the store) to hold; fail saying `what` did not happen."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout_s:g} s: {what}")
        time.sleep(0.3)


def test_review_from_the_keyboard_with_named_buttons(app_server, page, tmp_path):
    base, db = app_server["url"], app_server["db"]
    sid = stored_sound(db, tmp_path, "keyboard review")  # the newest: the first card
    open_page(page, base, "feed", "Feed and review")
    card = page.locator(f".st-key-feed_card_{sid}")
    card.get_by_role("button", name="Remove piano").wait_for()  # buttons say what they do to what
    card.get_by_role("button", name="Confirm note").wait_for()
    page.get_by_role("button", name="Keyboard").wait_for()
    page.wait_for_function("() => !!(window.__tagKeys && window.__tagKeys.handler)")  # loaded

    def labels():
        return TagStore(db).labels(sid)

    count = page.get_by_text(re.compile(r"\d+ of \d+ reviewed"))
    reviewed, total = map(int, re.search(r"(\d+) of (\d+) reviewed", count.inner_text()).groups())
    page.keyboard.press("1")  # row 1, piano: confirm
    until(lambda: labels().confirmed == ["piano"], "1 confirms piano")
    page.get_by_text(f"{reviewed + 1} of {total} reviewed").wait_for()  # the count is live
    settle(page)
    card.get_by_text(re.compile(r"confirmed")).first.wait_for()  # drawn: the next key acts on it
    settle(page)
    page.keyboard.press("1")  # confirmed: remove
    until(lambda: labels().removed == ["piano"], "1 again removes piano")
    card.get_by_role("button", name="Put back piano").wait_for()
    settle(page)
    page.keyboard.press("u")  # undo: confirmed again
    until(lambda: labels().confirmed == ["piano"] and not labels().removed, "u undoes")
    card.get_by_role("button", name="Remove piano").wait_for()
    settle(page)
    page.keyboard.press("a")  # opens the Add box, and the cursor goes into it
    page.wait_for_function("() => !!document.activeElement?.closest('[class*=\"_add\"]')")
    page.keyboard.type("door")
    page.keyboard.press("Enter")
    until(lambda: "door" in labels().added, "a, door, Enter adds door")
    card.get_by_role("button", name="Remove door").wait_for()
    settle(page)
    page.keyboard.press("c")  # confirm all
    until(lambda: set(labels().confirmed) >= {"piano", "note"}, "c confirms all")
    settle(page)
    assert card.evaluate("c => c.classList.contains('tagkeys-current')")
    no_exception(page)
    shoot(page, "feed-keyboard")
    events = [(c.action, c.tag) for c in TagStore(db).history(sid) if not c.undone]
    assert ("add", "door") in events and ("confirm", "note") in events
    assert {t for _, t in events} <= {"piano", "note", "door"}  # no stray tag from a keystroke


def test_a_cards_spectrogram_is_drawn_when_opened(app_server, page, tmp_path):
    base, db = app_server["url"], app_server["db"]
    sid = stored_sound(db, tmp_path, "spectrogram on demand")  # the newest: the first card
    open_page(page, base, "feed", "Feed and review")
    card = page.locator(f".st-key-feed_card_{sid}")
    card.get_by_role("button", name="Remove piano").wait_for()
    assert card.locator('[data-testid="stImage"]').count() == 0  # not drawn until asked for
    card.get_by_text("Spectrogram", exact=True).click()
    card.locator('[data-testid="stImage"] img').wait_for()
    settle(page)
    no_exception(page)
    assert TagStore(db).history(sid) == []  # opening it stored nothing


def test_every_page_renders_in_the_browser(app_server, page, tmp_path):
    base = app_server["url"]
    for i in range(7):  # more sounds than a page of cards holds: the pagers show
        stored_sound(app_server["db"], tmp_path, f"page filler {i}")
    open_page(page, base, "", "Freesound Tagger")
    shoot(page, "home")
    open_page(page, base, "feed", "Feed and review")
    shoot(page, "feed")
    page.locator('[data-testid="stPaginationNext"]').first.click()  # the other pager follows
    page.get_by_text(re.compile(r"showing 7–")).wait_for()
    settle(page)
    open_page(page, base, "training", "Training monitor")
    page.get_by_text("e2e-run").first.wait_for()
    page.get_by_text("8 epochs logged").wait_for()
    page.locator('[data-testid="stVegaLiteChart"] canvas, [data-testid="stVegaLiteChart"] svg'
                 ).first.wait_for()
    shoot(page, "training")
    open_page(page, base, "export", "Export")
    page.get_by_text("Sounds to write").wait_for()
    shoot(page, "export")
    # Last in this module: nothing the tests above did printed a traceback or a logged stack into
    # the terminal of the person running the app.
    log = app_server["log"].read_text(errors="replace")
    assert "Traceback" not in log and "Stack (most recent call last)" not in log, log[-4000:]
