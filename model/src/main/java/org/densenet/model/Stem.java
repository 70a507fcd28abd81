package org.densenet.model;

/** The layers before the first dense block. */
public enum Stem {
    /** One 3x3 convolution, stride 1, padding 1 (Huang et al.'s CIFAR and SVHN networks). */
    CIFAR,
    /** 7x7 convolution, stride 2, padding 3, then BN-ReLU and 3x3 max pooling with stride 2, padding 1 (ImageNet). */
    IMAGENET
}
