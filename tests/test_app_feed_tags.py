"""What a card lists: predictions that count, the best few that do not, and a person's tags."""

from __future__ import annotations

from app.tag_editor import SHOWN_PREDICTIONS, people_first, summary, tag_lines
from core.store import SoundLabels


def labels(predicted, added=(), removed=(), confirmed=(), final=()) -> SoundLabels:
    return SoundLabels(sound_id=1, model="m@1", predicted=list(predicted), added=list(added),
                       removed=list(removed), confirmed=list(confirmed), final=list(final),
                       reviewed=bool(added or removed or confirmed), threshold=0.5)


def test_states_of_each_line():
    lab = labels([("piano", 0.9), ("note", 0.7), ("bell", 0.3)], added=["dogz"],
                 removed=["note"], confirmed=["bell"], final=["piano", "bell", "dogz"])
    got = {line.tag: (line.state, line.score, line.in_vocabulary) for line in tag_lines(lab)}
    assert got == {"piano": ("predicted", 0.9, True), "note": ("removed", 0.7, True),
                   "bell": ("confirmed", 0.3, True), "dogz": ("added", None, False)}


def test_low_predictions_beyond_the_first_few_are_left_out_unless_they_count():
    predicted = [(f"t{i}", 0.9 if i < 3 else 0.1) for i in range(20)]
    lab = labels(predicted, confirmed=["t15"], final=["t0", "t1", "t2", "t15"])
    tags = [line.tag for line in tag_lines(lab)]
    assert tags == [f"t{i}" for i in range(SHOWN_PREDICTIONS)] + ["t15"]
    assert [line.state for line in tag_lines(lab)][3] == "suggested"


def test_summary_names_the_first_tags_and_counts_the_rest():
    assert summary([]) == "none"
    assert summary(["a", "b"]) == "a, b"
    assert summary([f"t{i}" for i in range(15)]).endswith("t11 and 3 more")


def test_the_summary_names_a_persons_tags_first():
    final = [f"t{i}" for i in range(20)] + ["guitar"]
    lab = labels([(f"t{i}", 0.9) for i in range(20)], added=["guitar"], confirmed=["t19"],
                 final=final)
    assert people_first(lab)[:3] == ["guitar", "t19", "t0"]
    assert summary(people_first(lab)).startswith("guitar, t19, t0")


def test_a_persons_own_tags_come_first_so_they_stay_in_sight():
    lab = labels([(f"t{i}", 0.9) for i in range(30)], added=["guitar"],
                 final=[f"t{i}" for i in range(30)] + ["guitar"])
    assert [line.tag for line in tag_lines(lab)][:2] == ["guitar", "t0"]
