"""Sequence regression as PyTorch code is written: predict the next value of noisy sine
waves with a 2-layer LSTM (batch_first), a Linear head on the last step, Adam, gradient
clipping, MSELoss, and a custom Dataset."""
import math

import numpy as np

import pynn as torch
from pynn import nn
from pynn.utils.data import DataLoader, Dataset


class Waves(Dataset):
    def __init__(self, n, length, seed):
        rng = np.random.default_rng(seed)
        phase = rng.uniform(0, 2 * math.pi, (n, 1))
        t = np.arange(length + 1) * 0.3
        waves = np.sin(t + phase) + 0.05 * rng.standard_normal((n, length + 1))
        self.x = torch.tensor(waves[:, :-1, None], dtype=torch.float32)
        self.y = torch.tensor(waves[:, -1:], dtype=torch.float32)

    def __len__(self):
        return len(self.x)

    def __getitem__(self, i):
        return self.x[i], self.y[i]


class Model(nn.Module):
    def __init__(self, hidden=16):
        super().__init__()
        self.lstm = nn.LSTM(input_size=1, hidden_size=hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):
        out, (_h_n, _c_n) = self.lstm(x)
        return self.head(out[:, -1, :])


def main():
    rng = np.random.default_rng(1)
    loader = DataLoader(Waves(64, 12, seed=2), batch_size=16)
    model = Model()
    with torch.no_grad():
        for name, p in model.named_parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, tuple(p.shape)).astype(np.float32)))
    criterion = nn.MSELoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(3):
        for x, y in loader:
            optimizer.zero_grad()
            loss = criterion(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
            optimizer.step()
            print(f"loss {loss.item():.6f}")
    model.eval()
    with torch.no_grad():
        x, y = next(iter(loader))
        print(f"eval {criterion(model(x), y).item():.6f}")


if __name__ == "__main__":
    main()
