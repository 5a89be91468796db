"""The architectures: each module registers its builders when imported.

From scratch, as in the papers: `lenet`, `alexnet`, `zfnet`, `vgg`,
`googlenet`, `resnet`. The keras.applications bases with ImageNet weights:
`applications`.
"""

from zoo.archs import alexnet, applications, googlenet, lenet, resnet, vgg, zfnet  # noqa: F401
