"""Hyper-parameter search with keras-tuner over the training recipes (`zoo search`).

- `space`: what a study varies (defaults per mode, space files checked against the schema).
- `request`: what `zoo search` is asked, checked; `hypermodel`: one trial is one real run.
- `trials`: keras-tuner's tuners, run here or a few trials per child process.
- `study`: the study directory, its lock, resume and overwrite.
- `results`, `importance`, `pictures`: the table, best configuration, report and pictures.
- `tuning`: `search`, which puts them together, and `retrain_best`.
"""
