"""2-D convolution whose input gradient is computed as a forward convolution on CPUs.

TensorFlow's CPU kernel for a convolution's input gradient
(`Conv2DBackpropInput`) is very slow on small feature maps with many channels:
for a 3x3 convolution of 512 channels on a 2x2 map (the last stage of a
ResNet-18 at 32 px), batch 64, it takes 0.92 s where the forward convolution
takes 0.037 s and the filter gradient 0.09 s (2-core AMD EPYC, TensorFlow
2.21, with or without oneDNN). The same gradient is a forward convolution of
the output gradient, with zeros inserted between its pixels for a strided
convolution, padded, and the kernel flipped and transposed; that costs about
what the forward pass costs (0.061 s there) and is never slower at the sizes
measured (1.2x faster on a 32x32 map of 64 channels). A ResNet-18 training step
at 32 px went from 2.5 s to 0.8 s.

`FastGradientConv2D` is Keras' `Conv2D` with that gradient: the same weights,
config and outputs; only the backward pass differs, to rounding. It applies on
CPUs with the TensorFlow backend, for channels-last convolutions without
dilation or groups; anything else runs Keras' own computation. GPUs keep their
own kernels (cuDNN's are fast), so the layer is Keras' there.

A strided 1x1 convolution (ResNet's projection shortcuts) reads every s-th
pixel and nothing else, so on CPUs the layer takes those pixels first and
convolves them with stride 1. This is not only faster: oneDNN's filter gradient
of a strided 1x1 convolution (`MklNativeConv2DBackpropFilter`, TensorFlow 2.21
on an AVX512-BF16 AMD EPYC) fails to create its reorder primitive on inputs of
10 px or more whose side is not covered by the stride (10x10 with stride 2:
`AbortedError`, wrong gradients or a segmentation fault, in fp32 and bf16 alike;
8x8 and odd sides passed), which took whole training processes down. Stride-1
1x1 convolutions never reach that kernel's failing path.
"""

from __future__ import annotations

import functools
from typing import Any

import keras
import tensorflow as tf


@keras.saving.register_keras_serializable(package="keras_zoo")
class FastGradientConv2D(keras.layers.Conv2D):
    """Keras' `Conv2D`, with the input gradient computed as a forward convolution on CPUs."""

    def convolution_op(self, inputs: Any, kernel: Any) -> Any:
        if not self._on_cpu_channels_last(inputs):
            return super().convolution_op(inputs, kernel)
        strides = tuple(self.strides)
        if _is_pointwise(kernel) and strides != (1, 1):
            inputs, strides = subsample(inputs, strides), (1, 1)
        if inputs.shape[1] is None or inputs.shape[2] is None:
            return tf.nn.conv2d(inputs, kernel, strides, self.padding.upper())
        return conv2d_fast_input_gradient(inputs, kernel, strides, self.padding.upper())

    def _on_cpu_channels_last(self, inputs: Any) -> bool:
        return (
            keras.backend.backend() == "tensorflow"
            and not _gpu_visible()
            and self.data_format == "channels_last"
            and tuple(self.dilation_rate) == (1, 1)
            and self.groups == 1
            and self.padding in ("same", "valid")
            and len(inputs.shape) == 4
        )


def _is_pointwise(kernel: Any) -> bool:
    return int(kernel.shape[0]) == 1 and int(kernel.shape[1]) == 1


def subsample(inputs: tf.Tensor, strides: tuple[int, int]) -> tf.Tensor:
    """The pixels a strided 1x1 convolution reads, SAME or VALID alike (both pad nothing).

    Args:
        inputs: `[batch, height, width, channels]`.
        strides: `(stride_height, stride_width)`.

    Returns:
        Every `stride`-th row and column, from the first.
    """
    return inputs[:, :: strides[0], :: strides[1], :]


@functools.cache
def _gpu_visible() -> bool:
    return bool(tf.config.list_logical_devices("GPU"))


def conv2d_fast_input_gradient(
    inputs: tf.Tensor, kernel: tf.Tensor, strides: tuple[int, int], padding: str
) -> tf.Tensor:
    """`tf.nn.conv2d` whose gradient for `inputs` is a forward convolution.

    Args:
        inputs: `[batch, height, width, channels]` with known height and width.
        kernel: `[kernel_height, kernel_width, in_channels, out_channels]`.
        strides: `(stride_height, stride_width)`.
        padding: `SAME` or `VALID`.

    Returns:
        The convolution, as `tf.nn.conv2d` computes it.
    """
    if _is_pointwise(kernel) and tuple(strides) != (1, 1):  # see the module's docstring
        inputs, strides = subsample(tf.convert_to_tensor(inputs), strides), (1, 1)
    height, width = int(inputs.shape[1]), int(inputs.shape[2])

    @tf.custom_gradient
    def convolve(x: tf.Tensor, w: tf.Tensor) -> tuple[tf.Tensor, Any]:
        outputs = tf.nn.conv2d(x, w, strides, padding)

        def gradient(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
            input_gradient = _input_gradient(upstream, w, (height, width), strides, padding)
            kernel_gradient = tf.raw_ops.Conv2DBackpropFilter(
                input=x,
                filter_sizes=tf.shape(w),
                out_backprop=upstream,
                strides=[1, *strides, 1],
                padding=padding,
            )
            return input_gradient, kernel_gradient

        return outputs, gradient

    # A variable read inside `convolve` would need a gradient of its own: pass its value.
    return convolve(tf.convert_to_tensor(inputs), tf.convert_to_tensor(kernel))


def _input_gradient(
    upstream: tf.Tensor,
    kernel: tf.Tensor,
    size: tuple[int, int],
    strides: tuple[int, int],
    padding: str,
) -> tf.Tensor:
    """The gradient of a convolution's input: a full correlation with the flipped kernel.

    With stride `s`, output pixel `i` reads input pixels `i*s - before + u` for
    kernel taps `u`; so input pixel `j` receives `upstream[i] * kernel[u]` for
    every `i*s + u = j + before`. Putting `s - 1` zeros between upstream pixels
    makes that a stride-1 correlation with the kernel reversed in space (and its
    channel axes swapped), over the zero-filled map padded by
    `kernel - 1 - before` on the leading side and whatever reaches the input
    size on the trailing side (cropped when negative: rows the forward pass
    never read get zero gradient from the padding instead).
    """
    kernel_size = (int(kernel.shape[0]), int(kernel.shape[1]))
    geometry = [
        _axis_geometry(size[axis], kernel_size[axis], strides[axis], padding) for axis in (0, 1)
    ]
    outputs = [out for out, _, _ in geometry]
    spread = upstream
    if strides != (1, 1):
        batch, channels = tf.shape(upstream)[0], tf.shape(upstream)[3]
        spread = tf.pad(
            upstream[:, :, None, :, None, :],
            [[0, 0], [0, 0], [0, strides[0] - 1], [0, 0], [0, strides[1] - 1], [0, 0]],
        )
        spread = tf.reshape(
            spread, [batch, outputs[0] * strides[0], outputs[1] * strides[1], channels]
        )
        spread = spread[
            :, : (outputs[0] - 1) * strides[0] + 1, : (outputs[1] - 1) * strides[1] + 1, :
        ]
    leading = [lead for _, lead, _ in geometry]
    trailing = [trail for _, _, trail in geometry]
    spread = tf.pad(
        spread,
        [[0, 0], [leading[0], max(trailing[0], 0)], [leading[1], max(trailing[1], 0)], [0, 0]],
    )
    # A stride-1 VALID correlation gives the input size from `size + kernel - 1`.
    spread = spread[:, : size[0] + kernel_size[0] - 1, : size[1] + kernel_size[1] - 1, :]
    flipped = tf.transpose(tf.reverse(kernel, [0, 1]), [0, 1, 3, 2])
    return tf.nn.conv2d(spread, flipped, 1, "VALID")


def _axis_geometry(size: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """Output length, and the leading and trailing padding of the gradient's correlation."""
    if padding == "SAME":
        out = -(-size // stride)
        before = max((out - 1) * stride + kernel - size, 0) // 2
    else:
        out = (size - kernel) // stride + 1
        before = 0
    return out, kernel - 1 - before, size + before - (out - 1) * stride - 1
