"""Cross-check peer of the data-condensation task (tests/Bilevel.Tasks.Tests/Peer/CondensationPeerCrossCheckTests.cs),
and the task's definition that the estimator benchmark's peer (hypergrad_bench.py) imports.

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

import hypergrad_common as hc  # noqa: E402
import models  # noqa: E402
import task_common as tc  # noqa: E402


class Condensation(hc.Problem):
    """The condensation task on the ConvNet `model`, its outer loss on the real batch (x_real, y_real). Inner step t
    is 0-based for hypergrad_common's estimators and 1-based for task_common; the task does not depend on it.
    hypergrad_common's estimators (update) need a fixed learning rate; task_common takes learning_rate(phi, t)."""

    def __init__(self, model: models.ConvNet, theta0: torch.Tensor, ipc: int, x_real: torch.Tensor,
                 y_real: torch.Tensor, steps: int, lr: float, learn_labels: bool = False,
                 learn_learning_rate: bool = False):
        self.model, self.theta0 = model, theta0
        self.x_real, self.y_real = x_real, y_real
        self.steps, self.lr = steps, lr
        self.classes = model.num_classes
        self.count = self.classes * ipc
        self.pixels = self.count * math.prod(model.input_shape)
        self.labels_size = self.count * self.classes if learn_labels else 0
        self.learn_learning_rate = learn_learning_rate
        self.phi_size = self.pixels + self.labels_size + (1 if learn_learning_rate else 0)
        self.one_hot = torch.nn.functional.one_hot(torch.arange(self.count) // ipc, self.classes).to(theta0.dtype)

    def images(self, phi: torch.Tensor) -> torch.Tensor:
        return phi[:self.pixels].view(self.count, *self.model.input_shape)

    def targets(self, phi: torch.Tensor) -> torch.Tensor:
        if self.labels_size == 0:
            return self.one_hot
        return torch.softmax(phi[self.pixels: self.pixels + self.labels_size].view(self.count, self.classes), dim=1)

    def inner_loss(self, theta, phi, t):
        logits = self.model.forward(theta, self.images(phi))
        return (torch.logsumexp(logits, dim=1) - (logits * self.targets(phi)).sum(dim=1)).mean()

    def outer_loss(self, theta, phi):
        return models.cross_entropy(self.model.forward(theta, self.x_real), self.y_real)

    def learning_rate(self, phi, t):
        return torch.exp(phi[-1]) if self.learn_learning_rate else self.lr

    def kfac_batch(self, phi, t):
        # Soft labels too: the Hessian of CE(z, y) in z is diag(p) - p p^T for every y on the simplex, the Fisher.
        return self.images(phi.detach()), None

    def update(self, theta, g):
        if self.learn_learning_rate:
            raise NotImplementedError("hypergrad_common's estimators need a fixed learning rate; learn_learning_rate is unsupported")
        return theta - self.lr * g


def main() -> int:
    directory, spec = tc.parse(__doc__.split("\n\n")[0])
    model = models.ConvNet(width=spec["channels"], depth=spec["depth"], in_channels=spec["in_channels"],
                           image_size=spec["image_size"], num_classes=spec["classes"])
    theta0 = tc.read(directory, "theta0.bin", (models.num_params(model),))
    x_train = tc.read(directory, "x_train.bin", (spec["train_count"], *model.input_shape))
    y_train = tc.read_indices(directory, "y_train.bin", (spec["train_count"],))
    real = tc.read_indices(directory, "real_batch.bin", (spec["real_batch"],))
    task = Condensation(model, theta0, spec["ipc"], x_train[real], y_train[real], spec["steps"], spec["learning_rate"],
                        spec["learn_labels"], spec["learn_learning_rate"])
    phi = tc.read(directory, "phi.bin", (task.phi_size,))
    tc.unroll_and_write(directory, theta0, phi, spec["steps"], tc.optimizer(spec),
                        task.inner_loss, task.outer_loss, task.learning_rate)
    return 0


if __name__ == "__main__":
    sys.exit(main())
