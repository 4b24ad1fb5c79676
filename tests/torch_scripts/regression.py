"""Polynomial regression as the PyTorch tutorials write it: features built with
torch.cat of powers, a Linear layer, SmoothL1Loss, SGD, and the weights read back."""
import numpy as np

import pynn as torch

POLY_DEGREE = 3
rng = np.random.default_rng(9)
W_target = torch.from_numpy(rng.standard_normal((POLY_DEGREE, 1)).astype(np.float32)) * 0.5
b_target = torch.from_numpy(rng.standard_normal(1).astype(np.float32)) * 0.5


def make_features(x):
    x = x.unsqueeze(1)
    return torch.cat([x ** i for i in range(1, POLY_DEGREE + 1)], 1)


def f(x):
    return x.mm(W_target) + b_target.item()


def poly_desc(W, b):
    return " + ".join(f"{w:.3f} x^{i + 1}" for i, w in enumerate(W)) + f" + {b[0]:.3f}"


fc = torch.nn.Linear(W_target.size(0), 1)
with torch.no_grad():
    fc.weight.fill_(0.1)
    fc.bias.zero_()
for batch_idx in range(1, 60):
    random = torch.from_numpy(rng.standard_normal(32).astype(np.float32))
    batch_x = make_features(random)
    batch_y = f(batch_x)
    fc.zero_grad()
    output = torch.nn.functional.smooth_l1_loss(fc(batch_x), batch_y)
    loss = output.item()
    output.backward()
    for param in fc.parameters():
        param.data.add_(-0.1 * param.grad)
    if batch_idx % 10 == 0:
        print(f"step {batch_idx} loss {loss:.6f}")
print("learned", poly_desc(fc.weight.view(-1).tolist(), fc.bias.tolist()))
