"""A siamese network as PyTorch code is written: one embedding net applied to two inputs,
a contrastive loss with pairwise_distance and clamp, RMSprop, and a similarity threshold."""
import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn


class SiameseNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Sequential(nn.Linear(20, 32), nn.ReLU(inplace=True), nn.Linear(32, 8))

    def forward_once(self, x):
        return self.embed(x)

    def forward(self, a, b):
        return self.forward_once(a), self.forward_once(b)


class ContrastiveLoss(nn.Module):
    def __init__(self, margin=2.0):
        super().__init__()
        self.margin = margin

    def forward(self, out1, out2, label):
        d = F.pairwise_distance(out1, out2, keepdim=True)
        return torch.mean((1 - label) * torch.pow(d, 2) +
                          label * torch.pow(torch.clamp(self.margin - d, min=0.0), 2))


def main():
    rng = np.random.default_rng(7)
    centers = rng.standard_normal((5, 20)).astype(np.float32)
    cls = rng.integers(0, 5, (2, 200))
    a = torch.from_numpy(centers[cls[0]] + 0.3 * rng.standard_normal((200, 20)).astype(np.float32))
    b = torch.from_numpy(centers[cls[1]] + 0.3 * rng.standard_normal((200, 20)).astype(np.float32))
    label = torch.from_numpy((cls[0] != cls[1]).astype(np.float32)).unsqueeze(1)
    net = SiameseNet()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, p.shape).astype(np.float32)))
    criterion = ContrastiveLoss()
    optimizer = torch.optim.RMSprop(net.parameters(), lr=1e-3)
    for epoch in range(5):
        for i in range(0, 200, 50):
            optimizer.zero_grad()
            o1, o2 = net(a[i:i + 50], b[i:i + 50])
            loss = criterion(o1, o2, label[i:i + 50])
            loss.backward()
            optimizer.step()
        print(f"epoch {epoch} loss {loss.item():.5f}")
    with torch.no_grad():
        o1, o2 = net(a, b)
        same = (F.pairwise_distance(o1, o2) < 1.0).float()
        acc = (same == (1 - label.squeeze(1))).float().mean()
    print(f"accuracy {acc.item():.4f}")


if __name__ == "__main__":
    main()
