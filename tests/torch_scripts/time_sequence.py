"""Sine-wave sequence prediction as PyTorch code is written: the data saved with
torch.save to a file object and read back, two LSTMCells unrolled by hand in float64,
input.split along time, LBFGS with a closure, prediction of the future under no_grad."""
import os
import sys

import numpy as np

import pynn as torch
from pynn import nn, optim


class Sequence(nn.Module):
    def __init__(self, hidden=12):
        super().__init__()
        self.hidden = hidden
        self.lstm1 = nn.LSTMCell(1, hidden)
        self.lstm2 = nn.LSTMCell(hidden, hidden)
        self.linear = nn.Linear(hidden, 1)
        self.dummy_param = nn.Parameter(torch.empty(0))

    def forward(self, input, future=0):
        outputs = []
        device = self.dummy_param.device
        h_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double).to(device)
        c_t = torch.zeros(input.size(0), self.hidden, dtype=torch.double).to(device)
        h_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double).to(device)
        c_t2 = torch.zeros(input.size(0), self.hidden, dtype=torch.double).to(device)
        for input_t in input.split(1, dim=1):
            h_t, c_t = self.lstm1(input_t, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        for i in range(future):
            h_t, c_t = self.lstm1(output, (h_t, c_t))
            h_t2, c_t2 = self.lstm2(h_t, (h_t2, c_t2))
            output = self.linear(h_t2)
            outputs += [output]
        return torch.cat(outputs, dim=1)


def main():
    rng = np.random.default_rng(10)
    x = np.arange(20)[None, :] + rng.integers(-8, 8, (8, 1))
    waves = np.sin(x / 4.0).astype("float64")
    path = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                                        else __file__)), "traindata.pt")
    with open(path, "wb") as f:
        torch.save(waves, f)
    data = torch.from_numpy(torch.load(path, weights_only=False)).to(torch.device("cpu"))
    input, target = data[2:, :-1], data[2:, 1:]
    test_input, test_target = data[:2, :-1], data[:2, 1:]
    seq = Sequence().double()
    with torch.no_grad():
        for p in seq.parameters():
            p.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, p.shape)))
    criterion = nn.MSELoss()
    optimizer = optim.LBFGS(seq.parameters(), lr=0.8, max_iter=5)
    for i in range(2):
        def closure():
            optimizer.zero_grad()
            loss = criterion(seq(input), target)
            print(f"loss: {loss.item():.8f}")
            loss.backward()
            return loss
        optimizer.step(closure)
        with torch.no_grad():
            future = 10
            pred = seq(test_input, future=future)
            loss = criterion(pred[:, :-future], test_target)
            print(f"test loss: {loss.item():.8f}")
            y = pred.cpu().detach().numpy()
    print("predicted", y.shape)


if __name__ == "__main__":
    main()
