"""A small vision transformer as people write one: patches cut with Tensor.unfold, a
learned class token and position embedding (nn.Parameter), pre-norm blocks with nn.RMSNorm,
nn.MultiheadAttention (batch_first) and a GELU MLP, AdamW with a cosine schedule and label
smoothing; then NumPy on the results (np.sqrt of a loss tensor), torch.quantile of the
confidences, torch.finfo in a mask."""
import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn


class Block(nn.Module):
    def __init__(self, dim, heads):
        super().__init__()
        self.norm1 = nn.RMSNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.norm2 = nn.RMSNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim))

    def forward(self, x, mask=None):
        h = self.norm1(x)
        x = x + self.attn(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class ViT(nn.Module):
    def __init__(self, image=12, patch=4, dim=16, depth=2, heads=2, classes=3):
        super().__init__()
        self.patch = patch
        n = (image // patch) ** 2
        self.proj = nn.Linear(patch * patch, dim)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.zeros(1, n + 1, dim))
        self.blocks = nn.ModuleList([Block(dim, heads) for _ in range(depth)])
        self.norm = nn.RMSNorm(dim, eps=1e-6)
        self.head = nn.Linear(dim, classes)

    def patches(self, x):
        p = self.patch
        x = x.unfold(2, p, p).unfold(3, p, p)  # (B, C, H/p, W/p, p, p)
        return x.contiguous().view(x.size(0), -1, p * p)

    def forward(self, x, mask=None):
        x = self.proj(self.patches(x))
        cls = self.cls_token.expand(x.shape[0], -1, -1)
        x = torch.cat((cls, x), dim=1) + self.pos_embed
        for block in self.blocks:
            x = block(x, mask)
        return self.head(self.norm(x[:, 0]))


def main():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 3, 96)
    images = rng.standard_normal((96, 1, 12, 12)).astype(np.float32) * 0.5
    images[labels == 0, :, :6, :] += 1.0  # each class lights a different region
    images[labels == 1, :, 6:, :] += 1.0
    images[labels == 2, :, :, 6:] += 1.0
    x, y = torch.from_numpy(images), torch.from_numpy(labels)
    model = ViT()
    for _, p in sorted(model.named_parameters()):  # the same start in every library
        p.data.copy_(torch.from_numpy(rng.normal(0, 0.2, p.shape).astype(np.float32)))
    print(tuple(model.patches(x[:2]).shape), sum(p.numel() for p in model.parameters()))
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.05)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=12)
    criterion = nn.CrossEntropyLoss(label_smoothing=0.1)
    for epoch in range(4):
        model.train()
        for i in range(0, 96, 32):
            optimizer.zero_grad()
            loss = criterion(model(x[i:i + 32]), y[i:i + 32])
            loss.backward()
            optimizer.step()
            scheduler.step()
        print(f"epoch {epoch} loss {loss.item():.5f} lr {scheduler.get_last_lr()[0]:.6f}")
    model.eval()
    with torch.no_grad():
        logits = model(x)
        probs = F.softmax(logits, dim=-1)
        confidence, pred = probs.max(dim=1)
        mse = F.mse_loss(probs, F.one_hot(y, 3).float())
    print(f"accuracy {(pred == y).float().mean().item():.4f}")
    print(f"rmse {float(np.sqrt(mse)):.5f}")
    q = torch.quantile(confidence, torch.tensor([0.1, 0.5, 0.9]))
    print("confidence quantiles", [round(v, 4) for v in q.tolist()])
    n = model.pos_embed.shape[1]
    causal = torch.full((n, n), torch.finfo(torch.float32).min).triu(1)
    with torch.no_grad():
        masked = model(x[:4], mask=causal)
    print(masked.argmax(1).tolist(), f"{masked.abs().sum().item():.4f}")


if __name__ == "__main__":
    main()
