"""`python -m core improve`: from the tag store back to a better model, measured.

    split.py    which store sounds are held out, used for validation, or trained on (by sound, seeded)
    data.py     the store's training, validation and held-out files; the base model's corpora
    compare.py  old and new model on the same data: tables, per-tag AP, corrections predicted
    pipeline.py ImproveConfig and the job: data, fine-tune, export, compare, lineage
"""
