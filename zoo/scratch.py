"""Imports the from-scratch, paper-faithful builders so that they register."""

from zoo import alexnet, googlenet, lenet, resnet, vgg, zfnet  # noqa: F401
