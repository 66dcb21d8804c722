"""The COALA HDF5 layout: read a file written exactly as COALA's, write the same, split honestly."""

import h5py
import numpy as np
import pytest

from core.dataset import (
    CoalaArrays,
    CoalaWriter,
    DatasetFormatError,
    dataset_size,
    iter_chunks,
    read_coala,
    split_indices,
    write_coala,
)


def write_like_coala(path, n=37, seed=0):
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, 500_000, size=(n, 1)).astype(np.int32)
    data = rng.random((n, 96, 96), dtype=np.float32)
    label = (rng.random((n, 1000)) < 0.01).astype(np.int16)
    with h5py.File(path, "w") as f:
        g = f.create_group("dataset")
        g.create_dataset("id", data=ids)
        g.create_dataset("data", data=data)
        g.create_dataset("label", data=label)
    return ids, data, label


def test_reads_the_exact_coala_layout(tmp_path):
    ids, data, label = write_like_coala(tmp_path / "spec_tags_top_1000_val")
    arr = read_coala(tmp_path / "spec_tags_top_1000_val")
    assert len(arr) == 37
    np.testing.assert_array_equal(arr.ids, ids[:, 0])
    np.testing.assert_array_equal(arr.data, data)
    np.testing.assert_array_equal(arr.labels, label)
    chunks = list(iter_chunks(tmp_path / "spec_tags_top_1000_val", chunk_rows=10))
    assert [len(c) for c in chunks] == [10, 10, 10, 7]
    np.testing.assert_array_equal(np.concatenate([c.data for c in chunks]), data)


def test_writer_produces_the_coala_layout(tmp_path):
    rng = np.random.default_rng(1)
    out = tmp_path / "corpus.h5"
    with CoalaWriter(out) as w:
        for _ in range(3):
            w.append(rng.integers(0, 9, 5), rng.random((5, 96, 96)), rng.integers(0, 2, (5, 1000)))
    with h5py.File(out, "r") as f:
        g = f["dataset"]
        assert (g["id"].shape, g["id"].dtype) == ((15, 1), np.int32)
        assert (g["data"].shape, g["data"].dtype) == ((15, 96, 96), np.float32)
        assert (g["label"].shape, g["label"].dtype) == ((15, 1000), np.int16)
    arr = read_coala(out)
    write_coala(tmp_path / "copy.h5", arr)
    np.testing.assert_array_equal(read_coala(tmp_path / "copy.h5").data, arr.data)


def test_not_a_coala_file(tmp_path):
    with h5py.File(tmp_path / "other.h5", "w") as f:
        f.create_dataset("x", data=np.zeros(3))
    with pytest.raises(DatasetFormatError, match="no 'dataset' group"):
        read_coala(tmp_path / "other.h5")
    (tmp_path / "notes.h5").write_text("plain text")
    with pytest.raises(DatasetFormatError, match="notes.h5: not a readable HDF5 file"):
        read_coala(tmp_path / "notes.h5")
    with pytest.raises(DatasetFormatError, match="missing.h5: no such file"):
        dataset_size(tmp_path / "missing.h5")


def test_split_is_seeded_without_replacement():
    train, val = split_indices(1000, 0.3, seed=7)
    assert len(val) == 300 and len(train) == 700
    assert len(np.union1d(train, val)) == 1000 and len(np.intersect1d(train, val)) == 0
    again = split_indices(1000, 0.3, seed=7)
    np.testing.assert_array_equal(val, again[1])
    assert not np.array_equal(val, split_indices(1000, 0.3, seed=8)[1])


def test_subset_keeps_rows_aligned():
    arr = CoalaArrays(np.arange(4), np.arange(4)[:, None, None] * np.ones((4, 96, 96), np.float32),
                      np.eye(4, 1000, dtype=np.int16))
    sub = arr.subset(np.array([3, 1]))
    assert list(sub.ids) == [3, 1] and sub.data[0, 0, 0] == 3 and sub.labels[1, 1] == 1
