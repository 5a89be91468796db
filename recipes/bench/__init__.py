"""Throughput measurements behind `zoo bench`, side by side with the plain-Keras way.

- `data`: the data pipeline against `keras.utils.image_dataset_from_directory`.
- `train`: training images/s against `image_dataset_from_directory` and a float32 `fit`.
- `model`: one architecture's cost, speed, latency, memory and FLOP utilisation on
  synthetic batches, against the keras.applications (or Keras-layer) model; `peak`
  measures the matmul peak that utilisation is relative to, `memory` the peak memory.
"""
