"""`python -m core bench`: speed and memory figures, each beside a baseline measured in the same run.

The baseline re-implements the course project's approach: librosa.load(sr=22000,
res_type='kaiser_fast') per file, librosa mel and log, the max-energy patch in numpy, one file at
a time; for training, a DataLoader that reads one HDF5 row per item. It needs the dev
requirements (librosa, resampy).
"""
