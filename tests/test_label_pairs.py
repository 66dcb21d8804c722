"""Label pairs (core.label_pairs): what a sound's other given tags say of each tag."""

import numpy as np
import pytest

from core.label_pairs import cooccurrence_scores


def test_a_tag_that_always_comes_with_another_is_expected_and_an_unseen_pair_doubted():
    # tags: footstep, step, gravel, bird; eight sounds of footsteps, two of birds
    given = np.array([[1, 1, 1, 0]] * 4 + [[1, 1, 0, 0]] * 4 + [[0, 0, 0, 1]] * 2
                     + [[1, 0, 0, 1]], float)  # the last: step removed, bird added
    scores = cooccurrence_scores(given)
    last = scores[-1]
    assert last[1] > 0.9  # every other footstep has a step: missing
    assert last[3] < 0.2  # no other footstep has a bird: doubtful
    assert scores[0, 1] > 0.9 and scores[0, 2] > 0.4


def test_a_sound_never_vouches_for_its_own_labels():
    given = np.array([[1, 1], [1, 0], [1, 0], [0, 1]], float)
    scores = cooccurrence_scores(given)
    # sound 0 is the only one with both tags: left out, no other sound pairs them
    assert scores[0, 1] < 0.2 and scores[0, 0] < 0.3
    # a tag with no other given tag to judge it by gets its share of the other sounds
    assert scores[3, 1] == pytest.approx(1 / 3)


def test_fewer_than_two_sounds_give_no_evidence():
    assert cooccurrence_scores(np.ones((1, 3))).tolist() == [[0.0, 0.0, 0.0]]
