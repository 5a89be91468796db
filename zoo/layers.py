"""The zoo's own layers, and the preprocessing every model starts with.

Preprocessing is made of Keras' own layers wherever they can express it
(`Rescaling`, `Normalization`), so a model saved from most architectures loads
with plain `keras.saving.load_model`. Caffe's mode (RGB to BGR, minus the
ImageNet mean) cannot be, and neither can LRN or LeNet-5's C3: those layers are
defined and registered here, so `import zoo` (which imports this module) is what
loading such a model needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
import numpy as np

IMAGENET_MEAN_RGB = (0.485, 0.456, 0.406)
IMAGENET_STD_RGB = (0.229, 0.224, 0.225)
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def preprocessing_layers(mode: str) -> list[keras.layers.Layer]:
    """The layers that map raw 0-255 images to what a network expects.

    Keeping them in the model means a saved or exported model takes raw pixel
    values, and nothing normalises twice. The first (or only) layer is named
    `preprocessing`.

    Args:
        mode: `tf` ([-1, 1]), `scale` ([0, 1]), `torch` ([0, 1], then the
            ImageNet mean and std per channel) or `caffe` (BGR minus the
            ImageNet mean).

    Returns:
        The layers, in order.

    Raises:
        ValueError: Unknown mode.
    """
    if mode == "tf":
        return [keras.layers.Rescaling(1.0 / 127.5, offset=-1.0, name="preprocessing")]
    if mode == "scale":
        return [keras.layers.Rescaling(1.0 / 255.0, name="preprocessing")]
    if mode == "torch":  # (x / 255 - mean) / std, as one Normalization on 0-255 values
        mean = [255.0 * m for m in IMAGENET_MEAN_RGB]
        variance = [(255.0 * s) ** 2 for s in IMAGENET_STD_RGB]
        return [keras.layers.Normalization(mean=mean, variance=variance, name="preprocessing")]
    if mode == "caffe":
        return [ImagePreprocessing("caffe", name="preprocessing")]
    raise ValueError(f"Unknown preprocessing mode {mode!r}.")


@keras.saving.register_keras_serializable(package="keras_zoo")
class ImagePreprocessing(keras.layers.Layer):
    """Caffe's preprocessing inside the model: RGB to BGR, minus the ImageNet mean.

    Keras' own layers cannot reverse the channel order. The layer also reads
    the other modes (`tf`, `torch`, `scale`), which `preprocessing_layers`
    builds from Keras' layers, so every model file that holds it loads.

    Args:
        mode: `caffe`, `tf`, `torch` or `scale`.
        **kwargs: Standard layer arguments.
    """

    MODES = ("tf", "caffe", "torch", "scale")

    def __init__(self, mode: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"mode must be one of {self.MODES}. Received: mode={mode!r}")
        self.mode = mode

    def call(self, inputs: Any) -> Any:
        x = keras.ops.cast(inputs, self.compute_dtype)
        if self.mode == "tf":
            return x / 127.5 - 1.0
        if self.mode == "scale":
            return x / 255.0
        if self.mode == "caffe":
            return keras.ops.flip(x, axis=-1) - keras.ops.convert_to_tensor(
                CAFFE_MEAN_BGR, dtype=x.dtype
            )
        mean = keras.ops.convert_to_tensor(IMAGENET_MEAN_RGB, dtype=x.dtype)
        std = keras.ops.convert_to_tensor(IMAGENET_STD_RGB, dtype=x.dtype)
        return (x / 255.0 - mean) / std

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "mode": self.mode}


@keras.saving.register_keras_serializable(package="keras_zoo")
class LocalResponseNormalization(keras.layers.Layer):
    """Local response normalisation across channels (Krizhevsky et al., 2012, Sec. 3.3).

    `b = a / (k + alpha * sum(a^2 over n neighbouring channels)) ** beta`, with
    the paper's `k=2, n=5, alpha=1e-4, beta=0.75` as defaults. Caffe's LRN
    divides `alpha` by `n`; pass `alpha * n` to reproduce a Caffe model.

    Args:
        size: Number of neighbouring channels `n` (odd).
        bias: `k`.
        alpha: `alpha`, the scale of the sum of squares (not divided by `size`).
        beta: `beta`.
        **kwargs: Standard layer arguments.
    """

    def __init__(
        self,
        size: int = 5,
        bias: float = 2.0,
        alpha: float = 1e-4,
        beta: float = 0.75,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.size, self.bias, self.alpha, self.beta = size, bias, alpha, beta

    def call(self, inputs: Any) -> Any:
        # keras.ops, not tf.nn.local_response_normalization: the layer runs on every backend.
        x = keras.ops.cast(inputs, "float32")
        radius = self.size // 2
        channels = x.shape[-1]
        padding = [(0, 0)] * (len(x.shape) - 1) + [(radius, radius)]
        squares = keras.ops.pad(keras.ops.square(x), padding)
        window_sums = sum(squares[..., i : i + channels] for i in range(2 * radius + 1))
        y = x / keras.ops.power(self.bias + self.alpha * window_sums, self.beta)
        return keras.ops.cast(y, inputs.dtype)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        return input_shape

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "size": self.size,
            "bias": self.bias,
            "alpha": self.alpha,
            "beta": self.beta,
        }


@keras.saving.register_keras_serializable(package="keras_zoo")
class ZeroPaddingShortcut(keras.layers.Layer):
    """The parameter-free shortcut of a ResNet stage that halves the map (option A).

    He et al. (2016, Sec. 3.3 and 4.2): "the shortcut still performs identity
    mapping, with extra zero entries padded for increasing dimensions", and
    performed with a stride of 2. Every other pixel is kept and the new channels,
    split evenly on both sides, are zeros.

    The zoo's ResNets now build this shortcut from Keras' own layers
    (`zoo.archs.resnet.zero_padding_shortcut`), so their files load without the
    zoo; the layer stays registered so that files saved with it still load.

    Args:
        filters: Channels of the output (at least the input's).
        strides: Subsampling factor.
        **kwargs: Standard layer arguments.
    """

    def __init__(self, filters: int, strides: int = 2, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.filters, self.strides = filters, strides

    def call(self, inputs: Any) -> Any:
        kept = inputs[:, :: self.strides, :: self.strides, :]
        extra = self.filters - inputs.shape[-1]
        return keras.ops.pad(kept, [[0, 0], [0, 0], [0, 0], [extra // 2, extra - extra // 2]])

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        batch, height, width, _ = input_shape
        side = [None if n is None else -(-n // self.strides) for n in (height, width)]
        return (batch, *side, self.filters)

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "filters": self.filters, "strides": self.strides}


@keras.saving.register_keras_serializable(package="keras_zoo")
class PartiallyConnectedConv2D(keras.layers.Layer):
    """A 'valid' convolution whose output maps see only some input maps.

    Only the weights of the connections in `table` exist (LeNet-5's C3 has
    1,500 of them plus 16 biases, against 2,400 plus 16 fully connected).
    They are scattered into a full kernel for one ordinary convolution.

    Args:
        table: For each output map, the indices of the input maps it sees.
        kernel_size: Side of the square kernel.
        activation: Activation applied to the output.
        **kwargs: Standard layer arguments.
    """

    def __init__(
        self,
        table: Sequence[Sequence[int]],
        kernel_size: int,
        activation: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.table = [list(inputs) for inputs in table]
        self.kernel_size = kernel_size
        self.activation = keras.activations.get(activation)

    def build(self, input_shape: tuple) -> None:
        channels = input_shape[-1]
        pairs = [(i, out) for out, inputs in enumerate(self.table) for i in inputs]
        if max(i for i, _ in pairs) >= channels:
            raise ValueError(
                f"The connection table needs {max(i for i, _ in pairs) + 1} input maps. "
                f"Received: input_shape={input_shape}"
            )
        # scatter[c, i, o] = 1 where connection c joins input map i to output map o.
        self._scatter = np.zeros((len(pairs), channels, len(self.table)), "float32")
        for c, (i, out) in enumerate(pairs):
            self._scatter[c, i, out] = 1.0
        # Glorot uniform, with the fans of the connections that exist.
        area = self.kernel_size**2
        fan_in, fan_out = area * len(pairs) / len(self.table), area * len(pairs) / channels
        limit = (6.0 / (fan_in + fan_out)) ** 0.5
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.kernel_size, self.kernel_size, len(pairs)),
            initializer=keras.initializers.RandomUniform(-limit, limit),
        )
        self.bias = self.add_weight(name="bias", shape=(len(self.table),), initializer="zeros")

    def call(self, inputs: Any) -> Any:
        dtype = self.compute_dtype
        kernel = keras.ops.einsum(
            "hwc,cio->hwio",
            keras.ops.cast(self.kernel, dtype),
            keras.ops.cast(self._scatter, dtype),
        )
        outputs = keras.ops.conv(inputs, kernel, padding="valid")
        outputs = outputs + keras.ops.cast(self.bias, dtype)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape: tuple) -> tuple:
        def side(n: int | None) -> int | None:
            return None if n is None else n - self.kernel_size + 1

        return (input_shape[0], side(input_shape[1]), side(input_shape[2]), len(self.table))

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "table": self.table,
            "kernel_size": self.kernel_size,
            "activation": keras.activations.serialize(self.activation),
        }
