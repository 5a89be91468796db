"""Input-gradient maps: saliency, SmoothGrad and integrated gradients.

- Saliency (Simonyan et al. 2014): the gradient of the target logit with
  respect to the input pixels, its largest absolute value over the colour
  channels.
- SmoothGrad (Smilkov et al. 2017): the gradient averaged over
  `SMOOTHGRAD_SAMPLES` copies of the image with Gaussian noise of
  `SMOOTHGRAD_NOISE` times the pixel range, shown like saliency.
- Integrated gradients (Sundararajan et al. 2017): the gradient averaged along
  the straight path from a black image to the image (`IG_STEPS` steps, the
  trapezoidal rule), times the difference from the black image, summed over
  the colour channels; its absolute value. The attributions of all pixels
  add up to the logit's change from the black image (completeness).
"""

from __future__ import annotations

from typing import Any

from recipes.understand.subject import BATCH, Subject

SMOOTHGRAD_SAMPLES = 25
SMOOTHGRAD_NOISE = 0.15
IG_STEPS = 32
PIXEL_RANGE = 255.0


def saliency(subject: Subject, images: Any, targets: Any) -> Any:
    """Saliency maps, `[N, H, W]`, non-negative."""
    import numpy as np

    gradients, _ = subject.input_gradients(images, targets)
    return np.abs(gradients.numpy()).max(axis=-1)


def smoothgrad(subject: Subject, images: Any, targets: Any, seed: int = 0) -> Any:
    """SmoothGrad maps, `[N, H, W]`, non-negative; the noise is drawn from `seed`."""
    import numpy as np

    generator = np.random.default_rng(seed)
    maps = []
    for image, target in zip(images, targets, strict=True):
        noise = generator.normal(
            0.0, SMOOTHGRAD_NOISE * PIXEL_RANGE, (SMOOTHGRAD_SAMPLES, *image.shape)
        )
        noisy = (image[None] + noise).astype("float32")
        mean = _mean_gradient(subject, noisy, target)
        maps.append(np.abs(mean).max(axis=-1))
    return np.stack(maps)


def integrated_gradients(subject: Subject, images: Any, targets: Any) -> Any:
    """Integrated-gradients maps, `[N, H, W]`, non-negative."""
    import numpy as np

    return np.abs(integrated_attributions(subject, images, targets).sum(axis=-1))


def integrated_attributions(subject: Subject, images: Any, targets: Any) -> Any:
    """Per-pixel, per-channel attributions from a black baseline, `[N, H, W, C]`."""
    import numpy as np

    alphas = np.linspace(0.0, 1.0, IG_STEPS + 1, dtype="float32")
    weights = np.full(IG_STEPS + 1, 1.0 / IG_STEPS, dtype="float32")
    weights[[0, -1]] /= 2.0  # the trapezoidal rule
    attributions = []
    for image, target in zip(images, targets, strict=True):
        path = alphas[:, None, None, None] * image[None]
        mean = _mean_gradient(subject, path, target, weights)
        attributions.append(image * mean)
    return np.stack(attributions)


def _mean_gradient(subject: Subject, batch: Any, target: int, weights: Any = None) -> Any:
    """The (weighted) mean over a batch of one image's variants of the target gradient."""
    import numpy as np

    total = np.zeros(batch.shape[1:], dtype="float64")
    for start in range(0, len(batch), BATCH):
        chunk = batch[start : start + BATCH]
        targets = np.full(len(chunk), target, dtype="int32")
        gradients = subject.input_gradients(chunk, targets)[0].numpy()
        if weights is None:
            total += gradients.sum(axis=0)
        else:
            total += np.tensordot(weights[start : start + BATCH], gradients, axes=1)
    return (total / len(batch) if weights is None else total).astype("float32")
