"""How a model is trained: from scratch, or fine-tuned in two phases.

- `train`: any registered architecture from scratch (`zoo train`).
- `finetune`: a new head on a pretrained base, then the top of the base (`zoo finetune`).
- `fit`: what both share: the run's data, compile, a phase of `fit`, finishing the run.
- `callbacks`: keeping the run directory up to date, resume, warm-up, progress lines.
- `optim`: optimizers and learning-rate schedules.
- `naming`: default names of run directories (the architecture, or the fine-tuning data).
- `devices`: precision, XLA and tf.distribute strategies.
"""
