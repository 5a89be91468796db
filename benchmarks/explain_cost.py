"""What an explanation costs, in forward-and-backward passes of the same batch.

Times, side by side in one process, the plain Keras way (one forward pass and
the gradient of the logits with respect to the input, compiled) against
`zoo explain`'s Grad-CAM and Grad-CAM++ on a batch (flat model, and the same
base nested in a fine-tuning model), and occlusion with its patches batched
against the same patches one per call. Untrained weights: the cost does not
depend on them.

    python benchmarks/explain_cost.py [--arch resnet18] [--size 128] [--batch 32] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def timed(function, repeats):
    function()  # traces and warms up
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet18")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    import keras
    import numpy as np
    import tensorflow as tf

    import zoo
    from recipes.understand.cam import grad_cam, grad_cam_plus_plus
    from recipes.understand.layers import logits_function
    from recipes.understand.occlusion import occlusion, patch_grid
    from recipes.understand.subject import Subject

    flat = zoo.build_model(args.arch, classes=10, input_shape=(args.size, args.size, 3))
    base = zoo.build_model(args.arch, include_top=False, input_shape=(args.size, args.size, 3))
    inputs = keras.Input((args.size, args.size, 3))
    x = keras.layers.GlobalAveragePooling2D()(base(inputs))
    x = keras.layers.Dense(10, name="logits")(x)
    nested = keras.Model(inputs, keras.layers.Activation("softmax")(x))

    generator = np.random.default_rng(0)
    images = generator.uniform(0, 255, (args.batch, args.size, args.size, 3)).astype("float32")
    targets = generator.integers(0, 10, args.batch).astype("int32")
    logits = logits_function(flat)

    @tf.function
    def forward_backward(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            score = tf.reduce_sum(logits(batch))
        return tape.gradient(score, batch)

    batch = tf.constant(images)
    plain = timed(lambda: forward_backward(batch).numpy(), args.repeats)
    rows = [("plain Keras: forward + input gradient", plain)]
    for name, model in (("flat", flat), ("nested", nested)):
        subject = Subject(model)
        rows.append(
            (
                f"Grad-CAM, {name}",
                timed(lambda s=subject: grad_cam(s, images, targets), args.repeats),
            )
        )
        rows.append(
            (
                f"Grad-CAM++, {name}",
                timed(lambda s=subject: grad_cam_plus_plus(s, images, targets), args.repeats),
            )
        )

    subject = Subject(flat)
    one = images[:1]
    _, _, corners = patch_grid(args.size, args.size)
    batched = timed(lambda: occlusion(subject, one, targets[:1]), 1)
    single = timed(lambda: [subject.logits(one).numpy() for _ in corners], 1)
    print(f"{args.arch} at {args.size} px, batch {args.batch}, median of {args.repeats}")
    print("| what | seconds | in plain forward+backward passes |")
    print("|---|---:|---:|")
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / plain:.2f} |")
    print(f"| occlusion of 1 image, {len(corners)} patches batched | {batched:.3f} | |")
    print(f"| the same patches, one forward pass each | {single:.3f} | |")


if __name__ == "__main__":
    main()
