"""A variational autoencoder as PyTorch code is written: reparameterisation, a loss summed
from binary cross-entropy and the KL term, Adam, and sampling from the prior. The noise is
drawn from NumPy so that two libraries see the same numbers."""
import numpy as np

import pynn as torch
from pynn import nn, optim
from pynn.nn import functional as F


class VAE(nn.Module):
    def __init__(self, d=64, h=32, z=4):
        super().__init__()
        self.fc1 = nn.Linear(d, h)
        self.fc21 = nn.Linear(h, z)
        self.fc22 = nn.Linear(h, z)
        self.fc3 = nn.Linear(z, h)
        self.fc4 = nn.Linear(h, d)

    def encode(self, x):
        h1 = F.relu(self.fc1(x))
        return self.fc21(h1), self.fc22(h1)

    def reparameterize(self, mu, logvar, eps):
        std = torch.exp(0.5 * logvar)
        return mu + eps * std

    def decode(self, z):
        return torch.sigmoid(self.fc4(F.relu(self.fc3(z))))

    def forward(self, x, eps):
        mu, logvar = self.encode(x.view(-1, 64))
        return self.decode(self.reparameterize(mu, logvar, eps)), mu, logvar


def loss_function(recon_x, x, mu, logvar):
    bce = F.binary_cross_entropy(recon_x, x.view(-1, 64), reduction="sum")
    kld = -0.5 * torch.sum(1 + logvar - mu.pow(2) - logvar.exp())
    return bce + kld


def main():
    rng = np.random.default_rng(3)
    data = torch.from_numpy((rng.random((128, 8, 8)) > 0.6).astype(np.float32))
    model = VAE()
    for p in model.parameters():
        p.data = torch.from_numpy(rng.uniform(-0.25, 0.25, p.shape).astype(np.float32))
    optimizer = optim.Adam(model.parameters(), lr=1e-2)
    model.train()
    for epoch in range(4):
        train_loss = 0
        for i in range(0, len(data), 32):
            batch = data[i:i + 32]
            eps = torch.from_numpy(rng.standard_normal((len(batch), 4)).astype(np.float32))
            optimizer.zero_grad()
            recon, mu, logvar = model(batch, eps)
            loss = loss_function(recon, batch, mu, logvar)
            loss.backward()
            train_loss += loss.item()
            optimizer.step()
        print(f"loss {train_loss / len(data):.4f}")
    with torch.no_grad():
        sample = model.decode(torch.randn(16, 4))
        print("sample", tuple(sample.shape), bool(((sample >= 0) & (sample <= 1)).all()))


if __name__ == "__main__":
    main()
