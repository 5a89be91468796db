"""The architectures: each module registers its builders when imported.

From scratch, as in the papers: `lenet`, `alexnet`, `zfnet`, `vgg`,
`googlenet`, `resnet` (ResNet-18/34), `resnet_cifar` (ResNet-20 to 110). The
keras.applications bases with ImageNet weights:
`applications`.
"""

from zoo.archs import (  # noqa: F401
    alexnet,
    applications,
    googlenet,
    lenet,
    resnet,
    resnet_cifar,
    vgg,
    zfnet,
)
