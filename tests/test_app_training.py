"""The training monitor page, through Streamlit's AppTest: no runs, real run logs, a model's figures,
and a real training process started from the page."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.dataset import read_coala
from core.detached import process_alive
from core.modeldir import write_metrics
from core.runs import read_log, stop_run
from tests.conftest import make_model_dir
from tests.corpus_factory import tiny_corpus

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "training.py")
TIMEOUT = 60
RUN_DEADLINE_S = 300  # a tiny real training run; only a hung process takes this long


def epoch_record(epoch: int) -> dict:
    """An epoch record with the trainer's fields (core.train.Trainer._run_epoch)."""
    return {"event": "epoch", "epoch": epoch, "train_loss": 0.5 / epoch, "val_loss": 0.6 / epoch,
            "roc_auc_macro": 0.7 + 0.02 * epoch, "roc_auc_micro": 0.75 + 0.02 * epoch,
            "pr_auc_macro": 0.2 + 0.03 * epoch, "pr_auc_micro": 0.25 + 0.03 * epoch,
            "subset_accuracy": 0.01 * epoch, "val_tags": 40, "lr": 1e-3, "time_s": 12.5,
            "samples_per_s": 150.0, "best_epoch": epoch, "is_best": True}


def write_run_log(run: Path, epochs: int, done: bool) -> Path:
    """A run folder with log.jsonl as the trainer writes it: start, one line per epoch, end."""
    run.mkdir(parents=True, exist_ok=True)
    lines = [{"event": "start", "config": {"preset": "compact", "epochs": 30, "batch_size": 64,
                                           "lr": 0.001}, "n_train": 900, "n_val": 100,
              "parameters": 1234567, "device": "cpu", "world_size": 1, "resumed_at_epoch": 0}]
    lines += [epoch_record(e) for e in range(1, epochs + 1)]
    if done:
        lines.append({"event": "end", "epochs": epochs, "best_epoch": epochs,
                      "best_pr_auc_macro": 0.2 + 0.03 * epochs, "stopped": "max_epochs"})
    log = run / "log.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in lines))
    return log


@pytest.fixture
def env(tmp_path, monkeypatch):
    runs, models = tmp_path / "runs", tmp_path / "models"
    monkeypatch.setenv("TAGGER_RUNS", str(runs))
    monkeypatch.setenv("TAGGER_MODEL", str(models / "default"))
    monkeypatch.setenv("TAGGER_DB", str(tmp_path / "tags.duckdb"))
    yield runs, models
    for run in runs.glob("*"):  # never leave a training process behind, even after a failure
        if stop_run(run):
            wait_for_end(run)


def run_page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=TIMEOUT)
    at.run()
    assert not at.exception, at.exception
    return at


def texts(at: AppTest) -> str:
    """Every text on the page, markdown escapes undone (remote and typed text is shown escaped)."""
    raw = "\n".join(str(e.value) for kind in ("markdown", "info", "warning", "caption", "error",
                                              "success", "code") for e in getattr(at, kind))
    return re.sub(r"\\(.)", r"\1", raw)


def test_no_runs_and_no_model_say_what_to_do(env):
    at = run_page()
    shown = texts(at)
    assert "No training runs" in shown and "python -m core train" in shown
    assert "No model directory" in shown and "export-model" in shown
    assert not any(s.key == "training_run" for s in at.selectbox)


def test_finished_run_shows_its_curves_and_last_epoch(env):
    runs, _ = env
    write_run_log(runs / "first", epochs=4, done=True)
    at = run_page()
    assert at.selectbox(key="training_run").value == "first"
    shown = texts(at)
    assert "finished" in shown and "4 epochs logged" in shown and "best epoch 4" in shown
    assert "900 training / 100 validation clips" in shown
    labels = {m.label: m.value for m in at.metric}
    assert labels["validation loss"] == "0.15"
    assert labels["ROC-AUC macro"] == "0.7800"
    assert labels["samples/s"] == "150"
    changes = {m.label: m.delta for m in at.metric}
    assert changes["validation loss"] == "-25.0 %"  # 0.2 -> 0.15
    assert changes["ROC-AUC macro"] == "+0.0200"
    epochs = at.dataframe[0].value
    assert list(epochs.index) == [1, 2, 3, 4]
    assert epochs.loc[2, "train_loss"] == pytest.approx(0.25)


def test_unfinished_run_is_running_and_a_half_written_line_is_ignored(env):
    runs, _ = env
    log = write_run_log(runs / "live", epochs=2, done=False)
    with open(log, "a") as f:
        f.write('{"event": "epoch", "epoch": 3, "train_lo')  # the trainer is mid-write
    at = run_page()
    shown = texts(at)
    assert "running" in shown and "2 epochs logged" in shown
    assert [p.proto.text for p in at.get("progress")] == ["2 of at most 30 epochs"]


def test_a_running_epoch_shows_its_batch_progress_from_the_trainers_batch_records(env):
    runs, _ = env
    log = write_run_log(runs / "live", epochs=2, done=False)
    with open(log, "a") as f:  # as core.train.BatchRecords writes them
        for step in (1, 60, 120):
            f.write(json.dumps({"event": "batch", "epoch": 3, "step": step, "n_steps": 266,
                                "loss": 0.01 * step}) + "\n")
    at = run_page()
    assert [p.proto.text for p in at.get("progress")] == ["2 of at most 30 epochs",
                                                          "epoch 3: batch 120 of 266"]
    with open(log, "a") as f:  # the epoch ends: its batches are no longer under way
        f.write(json.dumps(epoch_record(3)) + "\n")
    at.run()
    assert [p.proto.text for p in at.get("progress")] == ["3 of at most 30 epochs"]


def test_a_distilled_run_shows_its_teachers_scoring_before_the_first_epoch(env):
    runs, _ = env
    log = write_run_log(runs / "live", epochs=0, done=False)
    with open(log, "a") as f:  # as core.train.BatchRecords writes them while the teachers score
        for done in (0, 3):
            f.write(json.dumps({"event": "batch", "phase": "teachers", "epoch": 0, "step": done,
                                "n_steps": 8}) + "\n")
    at = run_page()
    assert [p.proto.text for p in at.get("progress")] == [
        "0 of at most 30 epochs", "teachers scoring the training clips: pass 3 of 8"]
    with open(log, "a") as f:  # the first epoch's batches take over
        f.write(json.dumps({"event": "batch", "epoch": 1, "step": 1, "n_steps": 266, "loss": 0.1}) + "\n")
    at.run()
    assert [p.proto.text for p in at.get("progress")][1] == "epoch 1: batch 1 of 266"


def test_a_log_that_is_not_text_is_a_run_without_epochs(env):
    runs, _ = env
    (runs / "broken").mkdir(parents=True)
    (runs / "broken" / "log.jsonl").write_bytes(bytes(range(256)) * 4)
    at = run_page()
    assert "No epoch has finished yet" in texts(at)


def test_a_new_epoch_in_the_log_shows_on_the_next_read(env):
    runs, _ = env
    log = write_run_log(runs / "live", epochs=2, done=False)
    at = run_page()
    with open(log, "a") as f:
        f.write(json.dumps(epoch_record(3)) + "\n")
    at.run()
    assert "3 epochs logged" in texts(at)


def test_choosing_another_run_shows_its_log(env):
    runs, _ = env
    write_run_log(runs / "a", epochs=2, done=True)
    write_run_log(runs / "b", epochs=5, done=True)
    at = run_page()
    other = next(n for n in ("a", "b") if n != at.selectbox(key="training_run").value)
    at.selectbox(key="training_run").select(other).run()
    assert not at.exception
    assert f"{2 if other == 'a' else 5} epochs logged" in texts(at)


def test_model_figures_beside_the_course_and_per_tag_ap(env):
    _, models = env
    model = make_model_dir(models / "default")
    write_metrics(model, {"data": "/x/test.h5", "n_clips": 500, "n_tags": 3, "roc_auc_macro": 0.97,
                          "roc_auc_micro": 0.98, "pr_auc_macro": 0.71, "pr_auc_micro": 0.75,
                          "subset_accuracy": 0.3,
                          "per_tag_ap": {"piano": 0.95, "drum": 0.4, "speech": 0.8},
                          "per_tag_positives": {"piano": 50, "drum": 20, "speech": 30},
                          "evaluations": {"other.h5": {"roc_auc_macro": 0.9, "roc_auc_micro": 0.91,
                                                       "pr_auc_macro": 0.5, "pr_auc_micro": 0.6,
                                                       "subset_accuracy": 0.1}}})
    at = run_page()
    table = next(d.value for d in at.dataframe if "test.h5" in d.value.columns)
    assert list(table.columns) == ["test.h5", "other.h5", "course CNN (COALA test)"]
    assert table.loc["ROC-AUC macro", "test.h5"] == pytest.approx(0.97)
    assert table.loc["PR-AUC macro", "other.h5"] == pytest.approx(0.5)
    assert table.loc["PR-AUC macro", "course CNN (COALA test)"] == pytest.approx(0.415)
    assert table.loc["subset accuracy", "course CNN (COALA test)"] == pytest.approx(0.249)
    ap = next(d.value for d in at.dataframe if "AP" in d.value.columns)
    assert list(ap["tag"]) == ["piano", "speech", "drum"]
    assert list(ap["test clips"]) == [50, 30, 20]
    assert "3 tags in the test data" in texts(at)


def test_model_without_metrics_says_how_to_evaluate(env):
    _, models = env
    make_model_dir(models / "default")
    at = run_page()
    assert "no test figures yet" in texts(at) and "python -m core evaluate" in texts(at)


def test_start_form_refuses_a_bad_data_file_and_a_taken_name(env, tmp_path):
    runs, _ = env
    write_run_log(runs / "taken", epochs=1, done=True)
    not_h5 = tmp_path / "exports" / "notes.h5"  # next to the store: the page offers it
    not_h5.parent.mkdir()
    not_h5.write_text("not hdf5")
    at = run_page()
    at.selectbox(key="training_new_data").set_value(str(not_h5))
    at.text_input(key="training_new_name").input("fresh")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception
    assert "not a readable COALA HDF5 file" in texts(at)
    at.text_input(key="training_new_name").input("taken")
    next(b for b in at.button if b.label == "Start training").click().run()
    assert "already holds a run" in texts(at)
    assert not (runs / "fresh").exists()


def wait_for_end(run: Path) -> list[dict]:
    deadline = time.monotonic() + RUN_DEADLINE_S
    while time.monotonic() < deadline:
        if process_alive(run) is False:
            return read_log(run)
        time.sleep(0.5)
    pytest.fail(f"the training process did not finish; output:\n{(run / 'train.out').read_text()}")


def test_a_run_started_from_the_page_trains_in_its_own_process(env, tmp_path):
    runs, _ = env
    data = tiny_corpus(tmp_path / "exports" / "tiny.h5")  # next to the store: the page offers it
    at = run_page()
    at.selectbox(key="training_new_data").set_value(str(data))
    at.text_input(key="training_new_name").input("from-page")
    at.number_input(key="training_new_epochs").set_value(1)
    at.number_input(key="training_new_batch").set_value(16)
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception
    assert "Started from-page" in texts(at)
    assert at.selectbox(key="training_run").value == "from-page"
    records = wait_for_end(runs / "from-page")
    assert [r["event"] for r in records if r["event"] != "batch"] == ["start", "epoch", "end"]
    assert records[1]["event"] == "batch"  # progress, as the trainer's own records
    assert records[0]["config"]["batch_size"] == 16 and records[0]["n_train"] > 0
    at = run_page()  # a new browser session, as after a refresh
    shown = texts(at)
    assert "finished" in shown and "1 epoch logged" in shown
    assert "done: 1 epochs" in shown  # the process's own output, shown on the page
    assert "best.pt" in shown and "last.pt" in shown


def test_a_distilled_run_started_from_the_page_learns_from_its_teacher(env, tmp_path):
    runs, models = env
    teacher = make_model_dir(models / "teacher")
    data = tiny_corpus(tmp_path / "exports" / "tiny.h5")
    at = run_page()
    assert at.multiselect(key="training_new_teachers").value == []  # none unless chosen
    at.selectbox(key="training_new_data").set_value(str(data))
    at.text_input(key="training_new_name").input("distilled")
    at.number_input(key="training_new_epochs").set_value(1)
    at.number_input(key="training_new_batch").set_value(16)
    at.multiselect(key="training_new_teachers").select(str(teacher))
    at.number_input(key="training_new_distill").set_value(0.3)
    at = click_start(at)
    assert "Started distilled" in texts(at)
    records = wait_for_end(runs / "distilled")
    [taught] = [r for r in records if r["event"] == "teachers"]
    assert taught["teachers"] == [str(teacher)] and taught["distill"] == pytest.approx(0.3)
    assert records[-1]["event"] == "end" and records[-1]["epochs"] == 1


def test_an_ensemble_fine_tuned_from_the_page_trains_its_heads_only(env, tmp_path):
    from dataclasses import replace

    from tests.conftest import TINY_DIMS

    runs, models = env
    ensemble = make_model_dir(models / "four", replace(TINY_DIMS, members=4))
    data = tiny_corpus(tmp_path / "exports" / "tiny.h5")
    at = run_page()
    assert at.radio(key="training_new_layers").value == "all"  # all unless chosen
    at.selectbox(key="training_new_data").set_value(str(data))
    at.selectbox(key="training_new_init").set_value(str(ensemble))
    at.text_input(key="training_new_name").input("heads")
    at.number_input(key="training_new_epochs").set_value(1)
    at.number_input(key="training_new_batch").set_value(16)
    at.radio(key="training_new_layers").set_value("head")
    at = click_start(at)
    assert "Started heads" in texts(at)
    records = wait_for_end(runs / "heads")
    assert records[0]["config"]["train_layers"] == "head" and records[0]["dims"]["members"] == 4
    assert records[-1]["event"] == "end" and records[-1]["epochs"] == 1


def test_teachers_must_be_model_directories_the_page_offers(tmp_path):
    from app.training_launch import LaunchPlaces, check_places
    from core.runs import RunError, RunSpec, train_command

    places = LaunchPlaces(runs=tmp_path / "runs", data=(tmp_path,), models=tmp_path / "models")
    inside = make_model_dir(tmp_path / "models" / "t")
    outside = make_model_dir(tmp_path / "elsewhere" / "t")
    check_places(RunSpec("a", str(tmp_path / "d.h5"), teachers=(str(inside),)), places)
    with pytest.raises(RunError, match="A teacher must be a model directory"):
        check_places(RunSpec("a", str(tmp_path / "d.h5"), teachers=(str(outside),)), places)
    cmd = train_command(RunSpec("a", "d.h5", teachers=("m/x", "m/y"), distill=0.25), tmp_path / "a")
    assert [cmd[i + 1] for i, word in enumerate(cmd) if word == "--teacher"] == ["m/x", "m/y"]
    assert cmd[cmd.index("--distill") + 1] == "0.25"
    assert "--distill" not in train_command(RunSpec("b", "d.h5"), tmp_path / "b")


def test_stop_ends_the_training_process_at_a_batch_with_an_end_record(env, tmp_path):
    """The run cannot end by itself before Stop: early stopping would need 500 epochs without a
    better validation PR-AUC (the tiny corpus reaches 1.0 within 2 epochs, so with the default
    patience of 6 a busy machine finished it before the click), and 500 epochs take minutes."""
    runs, _ = env
    data = tiny_corpus(tmp_path / "exports" / "tiny.h5")
    at = run_page()
    at.selectbox(key="training_new_data").set_value(str(data))
    at.text_input(key="training_new_name").input("to-stop")
    at.number_input(key="training_new_epochs").set_value(500)
    at.number_input(key="training_new_patience").set_value(500)
    next(b for b in at.button if b.label == "Start training").click().run()
    run = runs / "to-stop"
    assert "--patience 500" in (run / "train.out").read_text()
    deadline = time.monotonic() + RUN_DEADLINE_S
    while (not any(r["event"] == "epoch" for r in read_log(run)) and process_alive(run)
           and time.monotonic() < deadline):
        time.sleep(0.5)  # until a whole epoch ran: every lazy import is done, Stop lands in the loop
    at = run_page()
    assert "running" in texts(at)
    next(b for b in at.button if b.label == "Stop training").click().run()
    assert not at.exception
    wait_for_end(run)
    at = run_page()
    assert "stopped" in texts(at) and "ended by requested" in texts(at)
    end = read_log(run)[-1]
    assert end["event"] == "end" and end["stopped"] == "requested"
    assert any(b.label == "Resume this run" for b in at.button)


def test_reviewed_corrections_become_the_training_data(env, tmp_path):
    import hashlib

    from core.store import SoundInfo, TagStore
    from core.vocabulary import load_vocabulary
    from tests.audio_factory import make_tone_file

    _, models = env
    make_model_dir(models / "default")  # the model in use: fine-tuning it is proposed
    at = run_page()
    assert at.selectbox(key="training_new_init").value == "random weights (from scratch)"
    next(b for b in at.button if b.key == "training_export_corrections").click().run()
    assert "No reviewed sound" in texts(at)
    store = TagStore(tmp_path / "tags.duckdb")
    ids = []
    for i in range(2):
        path = make_tone_file(tmp_path / "audio" / f"t{i}.wav", seconds=1.0, freq=300.0 * (i + 1))
        info = SoundInfo(source="upload", name=f"t{i}", audio_path=str(path), duration_s=1.0,
                         content_hash=hashlib.sha256(path.read_bytes()).hexdigest())
        ids.append(store.add_sound(info, [("piano", 0.9), ("bell", 0.2)], "tiny-test@0")[0])
    store.label(ids[0], add=["guitar"], remove=["piano"], user="ana")
    at = run_page()
    next(b for b in at.button if b.key == "training_export_corrections").click().run()
    assert not at.exception, at.exception
    assert "Wrote 1 reviewed sounds (1 labels)" in texts(at)
    assert "Session State" not in texts(at)  # no widget-default warning from picking the file
    chosen = Path(at.selectbox(key="training_new_data").value)
    assert chosen.parent == tmp_path / "exports" and chosen.suffix == ".h5"
    arrays = read_coala(chosen)
    vocab = load_vocabulary()
    assert [vocab[j] for j in arrays.labels[0].nonzero()[0]] == ["guitar"]
    assert "to fine-tune the model in use" in texts(at)
    assert at.selectbox(key="training_new_init").value == str(models / "default")
    assert at.number_input(key="training_new_lr").value == pytest.approx(1e-4)


def test_a_fine_tuning_run_is_started_from_the_chosen_model(tmp_path):
    from core.runs import RunSpec, train_command

    scratch = train_command(RunSpec("a", "d.h5", preset="course"), tmp_path / "a")
    tuned = train_command(RunSpec("b", "d.h5", preset="course", init_from="models/x"),
                          tmp_path / "b")
    assert scratch[scratch.index("--preset") + 1] == "course" and "--init-from" not in scratch
    assert tuned[tuned.index("--init-from") + 1] == "models/x"
    assert scratch[scratch.index("--patience") + 1] == "6"
    assert "--preset" not in tuned  # the model's own size is kept
    heads = train_command(RunSpec("c", "d.h5", init_from="models/x", train_layers="head"), tmp_path / "c")
    assert heads[heads.index("--train-layers") + 1] == "head" and "--train-layers" not in tuned


# --- training from corrections checks first (issue #13, item 4) ------------------------------------
def reviewed_sounds(db: Path, audio: Path, n: int) -> None:
    """n stored sounds from real tone files, each corrected by a person."""
    import hashlib

    from core.store import SoundInfo, TagStore
    from tests.audio_factory import make_tone_file

    store = TagStore(db)
    for i in range(n):
        path = make_tone_file(audio / f"r{i}.wav", seconds=1.0, freq=200.0 + 90 * i, seed=i)
        info = SoundInfo(source="upload", name=f"r{i}", audio_path=str(path), duration_s=1.0,
                         content_hash=hashlib.sha256(path.read_bytes()).hexdigest())
        sid = store.add_sound(info, [("piano", 0.9), ("bell", 0.2)], "tiny-test@0")[0]
        store.label(sid, add=["guitar" if i % 2 else "drum"], user="ana")


def click_start(at: AppTest) -> AppTest:
    next(b for b in at.button if b.label == "Start training").click().run()
    assert not at.exception, at.exception
    return at


def test_five_reviewed_corrections_are_refused_before_a_run_starts(env, tmp_path):
    runs, _ = env
    reviewed_sounds(tmp_path / "tags.duckdb", tmp_path / "audio", 5)
    at = run_page()
    next(b for b in at.button if b.key == "training_export_corrections").click().run()
    assert not at.exception, at.exception
    warned = " ".join(w.value for w in at.warning)
    assert "Wrote 5 reviewed sounds" in texts(at) and "too small to train on yet" in texts(at)
    assert "15 or more clips" in re.sub(r"\\(.)", r"\1", warned)
    at.text_input(key="training_new_name").input("five")
    at = click_start(at)
    refused = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))
    assert "Not started" in refused and "cannot make a training run" in refused
    assert "15 or more clips" in refused
    assert not (runs / "five").exists()


def test_a_run_that_dies_shows_failed_with_the_traceback_behind_an_expander(env, tmp_path):
    from core.modeldir import WEIGHTS

    runs, models = env
    broken = make_model_dir(models / "broken")
    (broken / WEIGHTS).write_bytes((broken / WEIGHTS).read_bytes()[:100])  # cut short
    data = tiny_corpus(tmp_path / "exports" / "tiny.h5")
    at = run_page()
    at.selectbox(key="training_new_data").set_value(str(data))
    at.selectbox(key="training_new_init").set_value(str(broken))
    at.text_input(key="training_new_name").input("dies")
    at = click_start(at)
    assert "Started dies" in texts(at)
    wait_for_end(runs / "dies")
    at = run_page()
    failed = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))
    assert failed.startswith("failed: SafetensorError")
    assert "stopped" not in texts(at).split("failed:")[0]
    [expander] = [e for e in at.expander if e.label == "Traceback (for a bug report)"]
    assert "Traceback (most recent call last)" in expander.code[0].value
    assert "Traceback" not in output_tail_of(runs / "dies")  # the terminal output stays one line


def output_tail_of(run: Path) -> str:
    from core.detached import output_tail

    return output_tail(run, lines=400)


def test_a_raw_traceback_in_the_output_is_shown_as_failed_not_stopped(env):
    """A process that died with a traceback on its terminal (e.g. a run from an older version)."""
    import sys

    from core.detached import launch

    runs, _ = env
    run = runs / "old-crash"
    run.mkdir(parents=True)
    write_run_log(run, epochs=0, done=False)
    launch([sys.executable, "-c", "raise ValueError('no tag has both positive and negative "
                                  "clips: nothing to evaluate')"], run)
    deadline = time.monotonic() + 60
    while process_alive(run) and time.monotonic() < deadline:
        time.sleep(0.2)
    at = run_page()
    failed = re.sub(r"\\(.)", r"\1", " ".join(e.value for e in at.error))
    assert failed == ("failed: ValueError: no tag has both positive and negative clips: "
                      "nothing to evaluate")
    assert [e for e in at.expander if e.label == "Traceback (for a bug report)"]


def test_the_start_form_takes_no_path_from_outside_its_folders(tmp_path):
    from app.training_launch import LaunchPlaces, check_launch
    from core.runs import RunError, RunSpec

    inside = tiny_corpus(tmp_path / "data" / "tiny.h5")
    outside = tiny_corpus(tmp_path / "elsewhere" / "tiny.h5")
    model = make_model_dir(tmp_path / "other-models" / "m")
    places = LaunchPlaces(runs=tmp_path / "runs", data=(tmp_path / "data",), models=tmp_path / "models")
    assert check_launch(RunSpec("ok", str(inside)), places) == tmp_path / "runs" / "ok"
    for cfg in (RunSpec("a", str(outside)), RunSpec("b", str(inside), val=str(outside)),
                RunSpec("c", str(tmp_path / "data" / ".." / "elsewhere" / "tiny.h5")),
                RunSpec("d", str(inside), init_from=str(model))):
        with pytest.raises(RunError, match="must be"):
            check_launch(cfg, places)
    link = tmp_path / "data" / "link.h5"  # a link the owner made: the picker offers it
    link.symlink_to(outside)
    assert check_launch(RunSpec("e", str(link)), places) == tmp_path / "runs" / "e"
