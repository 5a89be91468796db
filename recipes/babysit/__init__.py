"""Babysitting the learning process: the checks the lectures do by hand before a long run.

- `lr_range`: the learning-rate range test and its suggestion; `lr_plot`: `lr_find.png`;
- `find_lr`: the test on a run's model and data (`zoo lr-find`, `--lr auto`);
- `initial_loss`: the untrained model's loss against ln(C), and the sampled labels;
- `overfit`: `zoo train --overfit N`, learning a few images by heart.
"""
