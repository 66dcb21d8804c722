"""The CNN presets and the model directory format."""

import json

import numpy as np
import pytest
import torch

from core.model import PRESETS, ModelDims, build_model, count_parameters
from core.modeldir import ModelNotFoundError, load_model_dir
from tests.conftest import make_model_dir


def test_course_preset_is_the_course_cnn():
    model = build_model("course")
    assert count_parameters(model) == 21_839_466
    assert model.dims.flat_features == 4096
    out = model.eval()(torch.zeros(2, 96, 96))
    assert out.shape == (2, 1000)


def test_compact_preset_has_the_same_structure_and_is_smaller():
    compact = build_model("compact")
    assert len(compact.blocks) == len(build_model("course").blocks) == 4
    assert count_parameters(compact) < count_parameters(build_model("course")) / 5
    assert compact(torch.rand(3, 96, 96)).shape == (3, 1000)


def test_outputs_are_logits_not_probabilities():
    torch.manual_seed(0)
    out = build_model("compact").eval()(torch.rand(8, 96, 96) * 5)
    assert out.min() < 0 or out.max() > 1


def test_dims_round_trip_through_dict():
    for dims in PRESETS.values():
        assert ModelDims.from_dict(json.loads(json.dumps(dims.to_dict()))) == dims


def test_model_directory_round_trip(tmp_path):
    out = make_model_dir(tmp_path / "m", seed=3)
    loaded = load_model_dir(out)
    torch.manual_seed(3)
    x = torch.rand(4, 96, 96)
    again = make_model_dir(tmp_path / "m2", seed=3)
    ref = load_model_dir(again)
    np.testing.assert_allclose(loaded.model(x).detach(), ref.model(x).detach())
    assert loaded.info.label == "tiny-test@0" and len(loaded.vocabulary) == 1000
    assert loaded.vocabulary[0] == "close" and loaded.scaler.scale.shape == (96,)
    for name in ("weights.safetensors", "config.json", "vocabulary.json", "scaler.json",
                 "MODEL_CARD.md"):
        assert (out / name).is_file()


def test_missing_model_says_so_plainly(tmp_path):
    with pytest.raises(ModelNotFoundError, match="No trained model"):
        load_model_dir(tmp_path / "nothing-here")


def test_model_with_other_feature_settings_is_refused(tmp_path):
    out = make_model_dir(tmp_path / "m")
    cfg = json.loads((out / "config.json").read_text())
    cfg["features"]["sample_rate"] = 22050
    (out / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="sample_rate"):
        load_model_dir(out)
