"""The forward-forward algorithm as PyTorch code is written: each layer trained by its own
loss on positive and negative data, inputs normalised per sample, goodness as the mean
square activation, detach between layers, Adam per layer, label overlay."""
import numpy as np

import pynn as torch
from pynn import nn


class Layer(nn.Linear):
    def __init__(self, in_features, out_features, threshold=2.0):
        super().__init__(in_features, out_features)
        self.relu = torch.nn.ReLU()
        self.opt = torch.optim.Adam(self.parameters(), lr=0.03)
        self.threshold = threshold

    def forward(self, x):
        x_direction = x / (x.norm(2, 1, keepdim=True) + 1e-4)
        return self.relu(torch.mm(x_direction, self.weight.T) + self.bias.unsqueeze(0))

    def train_step(self, x_pos, x_neg):
        g_pos = self.forward(x_pos).pow(2).mean(1)
        g_neg = self.forward(x_neg).pow(2).mean(1)
        loss = torch.log(1 + torch.exp(torch.cat([-g_pos + self.threshold,
                                                   g_neg - self.threshold]))).mean()
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        return self.forward(x_pos).detach(), self.forward(x_neg).detach(), loss.item()


def overlay(x, y, classes=4):
    x_ = x.clone()
    x_[:, :classes] *= 0.0
    x_[range(x.shape[0]), y] = x.max()
    return x_


def main():
    rng = np.random.default_rng(8)
    centers = rng.standard_normal((4, 24)).astype(np.float32) * 2
    y = torch.from_numpy(rng.integers(0, 4, 128))
    x = torch.from_numpy(centers[y.numpy()] + rng.standard_normal((128, 24)).astype(np.float32))
    layers = [Layer(24, 32), Layer(32, 32)]
    with torch.no_grad():
        for layer in layers:
            for p in layer.parameters():
                p.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, p.shape).astype(np.float32)))
    x_pos = overlay(x, y)
    y_neg = (y + torch.from_numpy(rng.integers(1, 4, 128))) % 4
    x_neg = overlay(x, y_neg)
    h_pos, h_neg = x_pos, x_neg
    for i, layer in enumerate(layers):
        for step in range(20):
            out_pos, out_neg, loss = layer.train_step(h_pos, h_neg)
        print(f"layer {i} loss {loss:.5f}")
        h_pos, h_neg = out_pos, out_neg
    goodness = []
    for label in range(4):
        h = overlay(x, torch.full((128,), label, dtype=torch.long))
        g = torch.zeros(128)
        for layer in layers:
            h = layer(h)
            g = g + h.pow(2).mean(1)
        goodness.append(g.unsqueeze(1))
    pred = torch.cat(goodness, 1).argmax(1)
    print(f"accuracy {pred.eq(y).float().mean().item():.4f}")


if __name__ == "__main__":
    main()
