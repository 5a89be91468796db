"""Throughput measurements behind `zoo bench`, side by side with the plain-Keras way.

- `data`: the data pipeline against `keras.utils.image_dataset_from_directory`.
- `train`: training images/s against `image_dataset_from_directory` and a float32 `fit`.
"""
