"""A sub-pixel super-resolution network, written as PyTorch code is written: convolutions
given as tuples, orthogonal initialisation with calculate_gain, PixelShuffle, MSELoss,
Adam, a PSNR from log10 of a loss item, and the state_dict saved per epoch."""
import sys
from math import log10

import numpy as np

import pynn as torch
from pynn import nn, optim
from pynn.nn import init
from pynn.utils.data import DataLoader, TensorDataset


class Net(nn.Module):
    def __init__(self, upscale_factor):
        super().__init__()
        self.relu = nn.ReLU()
        self.conv1 = nn.Conv2d(1, 16, (5, 5), (1, 1), (2, 2))
        self.conv2 = nn.Conv2d(16, 16, (3, 3), (1, 1), (1, 1))
        self.conv3 = nn.Conv2d(16, upscale_factor ** 2, (3, 3), (1, 1), (1, 1))
        self.pixel_shuffle = nn.PixelShuffle(upscale_factor)

    def forward(self, x):
        x = self.relu(self.conv1(x))
        x = self.relu(self.conv2(x))
        return self.pixel_shuffle(self.conv3(x))


def main():
    rng = np.random.default_rng(0)
    hr = rng.random((12, 1, 12, 12)).astype(np.float32)
    hr = (hr + np.roll(hr, 1, axis=2) + np.roll(hr, 1, axis=3)) / 3  # some smoothness
    lr_img = torch.nn.functional.avg_pool2d(torch.from_numpy(hr), 2)
    loader = DataLoader(TensorDataset(lr_img, torch.from_numpy(hr)), batch_size=4)
    model = Net(upscale_factor=2)
    gain = init.calculate_gain("relu")
    print(f"gain {gain:.6f}")
    w = model.conv1.weight
    init.orthogonal_(w, gain)
    flat = w.detach().reshape(w.shape[0], -1)
    print(f"orthogonal {torch.allclose(flat @ flat.t(), gain ** 2 * torch.eye(16), atol=1e-4)}")
    for p in model.parameters():  # the same start in every library
        p.data.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, p.shape).astype(np.float32)))
    criterion = nn.MSELoss()
    optimizer = optim.Adam(model.parameters(), lr=0.01)
    for epoch in range(1, 4):
        epoch_loss = 0
        for iteration, batch in enumerate(loader, 1):
            input, target = batch[0], batch[1]
            optimizer.zero_grad()
            loss = criterion(model(input), target)
            epoch_loss += loss.item()
            loss.backward()
            optimizer.step()
        avg_psnr = 0
        with torch.no_grad():
            for batch in loader:
                mse = criterion(model(batch[0]), batch[1])
                avg_psnr += 10 * log10(1 / mse.item())
        print(f"epoch {epoch} loss {epoch_loss / len(loader):.6f} "
              f"psnr {avg_psnr / len(loader):.4f}")
        torch.save(model.state_dict(), sys.argv[1] if len(sys.argv) > 1 else "sr.pth")


if __name__ == "__main__":
    main()
