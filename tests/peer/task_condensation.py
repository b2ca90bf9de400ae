"""Cross-check peer of the data-condensation task (tests/Bilevel.Tasks.Tests/Peer/CondensationPeerCrossCheckTests.cs).

Usage: /usr/bin/python3 tests/peer/task_condensation.py --dir DIR

The task, from its definition: phi = [synthetic images (count = classes * ipc, C x H x W each, image i of class
i // ipc) | label logits (count x classes), if learned | log eta, if learned]. The inner loss trains the ConvNet of
models.py on the synthetic set: g = mean CE(ConvNet(theta, images), labels), the labels one-hot, or softmax of the
label logits (row by row) when they are learned: CE(z, y) = logsumexp(z) - <z, y>. Every inner step uses the
learning rate exp(log eta) when it is learned, spec["learning_rate"] otherwise. The outer loss is the mean CE on
the real training images x_train[real_batch].

Reads from DIR: spec.json {classes, ipc, channels, depth, in_channels, image_size, steps, learning_rate,
optimizer, momentum, learn_labels, learn_learning_rate, train_count, real_batch}, theta0.bin, phi.bin,
x_train.bin [train_count, C, H, W], y_train.bin (int32), real_batch.bin (int32 indices into x_train).
Writes what task_common.unroll_and_write writes.
"""

from __future__ import annotations

import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import models  # noqa: E402
import task_common as tc  # noqa: E402


def main() -> int:
    directory, spec = tc.parse(__doc__.split("\n\n")[0])
    classes, ipc = spec["classes"], spec["ipc"]
    model = models.ConvNet(width=spec["channels"], depth=spec["depth"], in_channels=spec["in_channels"],
                           image_size=spec["image_size"], num_classes=classes)
    count = classes * ipc
    pixels = count * math.prod(model.input_shape)
    labels_size = count * classes if spec["learn_labels"] else 0
    phi_size = pixels + labels_size + (1 if spec["learn_learning_rate"] else 0)

    theta0 = tc.read(directory, "theta0.bin", (models.num_params(model),))
    phi = tc.read(directory, "phi.bin", (phi_size,))
    x_train = tc.read(directory, "x_train.bin", (spec["train_count"], *model.input_shape))
    y_train = tc.read_indices(directory, "y_train.bin", (spec["train_count"],))
    real = tc.read_indices(directory, "real_batch.bin", (spec["real_batch"],))
    one_hot = torch.nn.functional.one_hot(torch.arange(count) // ipc, classes).to(tc.DTYPE)

    def targets(p):
        if not spec["learn_labels"]:
            return one_hot
        return torch.softmax(p[pixels: pixels + labels_size].view(count, classes), dim=1)

    def inner_loss(theta, p, t):
        logits = model.forward(theta, p[:pixels].view(count, *model.input_shape))
        return (torch.logsumexp(logits, dim=1) - (logits * targets(p)).sum(dim=1)).mean()

    def outer_loss(theta, p):
        return models.cross_entropy(model.forward(theta, x_train[real]), y_train[real])

    def learning_rate(p, t):
        return torch.exp(p[-1]) if spec["learn_learning_rate"] else spec["learning_rate"]

    tc.unroll_and_write(directory, theta0, phi, spec["steps"], tc.optimizer(spec),
                        inner_loss, outer_loss, learning_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
