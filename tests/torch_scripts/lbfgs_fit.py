"""Curve fitting with LBFGS as PyTorch code is written: parameters as a Parameter
tensor, a closure that zeroes, evaluates and backpropagates, the strong Wolfe line search."""
import numpy as np

import pynn as torch

rng = np.random.default_rng(5)
x = torch.linspace(-2, 2, 50, dtype=torch.float64)
y = 0.5 * x ** 3 - x + 0.3 + torch.from_numpy(0.05 * rng.standard_normal(50))
coef = torch.nn.Parameter(torch.zeros(4, dtype=torch.float64))
optimizer = torch.optim.LBFGS([coef], lr=1, max_iter=20, line_search_fn="strong_wolfe")


def closure():
    optimizer.zero_grad()
    pred = coef[0] + coef[1] * x + coef[2] * x ** 2 + coef[3] * x ** 3
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    return loss


for step in range(4):
    loss = optimizer.step(closure)
    print(f"loss {loss.item():.8f}")
print("coef", [round(c, 3) for c in coef.detach().tolist()])
