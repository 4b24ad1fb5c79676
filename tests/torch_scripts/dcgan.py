"""A DCGAN-style generator/discriminator pair, written as PyTorch code is written:
ConvTranspose2d and BatchNorm2d, LeakyReLU(inplace=True), weights initialised through
Module.apply and the class name, BCELoss with labels made by torch.full and fill_, the
discriminator stepped on fake.detach(), Adam with betas."""
import numpy as np

import pynn as torch
from pynn import nn, optim

nz, ngf, ndf, nc = 8, 8, 8, 1


def weights_init(m):
    classname = m.__class__.__name__
    if classname.find("Conv") != -1:
        shape = m.weight.shape
        m.weight.data.copy_(torch.from_numpy(RNG.normal(0.0, 0.02, shape).astype(np.float32)))
    elif classname.find("BatchNorm") != -1:
        shape = m.weight.shape
        m.weight.data.copy_(torch.from_numpy(RNG.normal(1.0, 0.02, shape).astype(np.float32)))
        nn.init.zeros_(m.bias)


class Generator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.ConvTranspose2d(nz, ngf * 2, 4, 1, 0, bias=False),
            nn.BatchNorm2d(ngf * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ngf),
            nn.ReLU(True),
            nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False),
            nn.Tanh(),
        )

    def forward(self, input):
        return self.main(input)


class Discriminator(nn.Module):
    def __init__(self):
        super().__init__()
        self.main = nn.Sequential(
            nn.Conv2d(nc, ndf, 4, 2, 1, bias=False),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(ndf * 2),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(ndf * 2, 1, 4, 1, 0, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, input):
        return self.main(input).view(-1, 1).squeeze(1)


RNG = np.random.default_rng(0)


def main():
    netG, netD = Generator(), Discriminator()
    netG.apply(weights_init)
    netD.apply(weights_init)
    print(sum(p.numel() for p in netG.parameters()), sum(p.numel() for p in netD.parameters()))
    criterion = nn.BCELoss()
    optimizerD = optim.Adam(netD.parameters(), lr=0.002, betas=(0.5, 0.999))
    optimizerG = optim.Adam(netG.parameters(), lr=0.002, betas=(0.5, 0.999))
    real_label, fake_label = 1, 0
    for i in range(6):
        real = torch.from_numpy(np.tanh(RNG.standard_normal((8, nc, 16, 16))).astype(np.float32))
        noise = torch.from_numpy(RNG.standard_normal((8, nz, 1, 1)).astype(np.float32))
        netD.zero_grad()
        label = torch.full((real.size(0),), real_label, dtype=real.dtype)
        output = netD(real)
        errD_real = criterion(output, label)
        errD_real.backward()
        D_x = output.mean().item()
        fake = netG(noise)
        label.fill_(fake_label)
        output = netD(fake.detach())
        errD_fake = criterion(output, label)
        errD_fake.backward()
        D_G_z1 = output.mean().item()
        errD = errD_real + errD_fake
        optimizerD.step()
        netG.zero_grad()
        label.fill_(real_label)
        output = netD(fake)
        errG = criterion(output, label)
        errG.backward()
        D_G_z2 = output.mean().item()
        optimizerG.step()
        print("[%d] Loss_D: %.4f Loss_G: %.4f D(x): %.4f D(G(z)): %.4f / %.4f"  # noqa: UP031
              % (i, errD.item(), errG.item(), D_x, D_G_z1, D_G_z2))
    print(tuple(fake.shape), f"{fake.min().item():.4f} {fake.max().item():.4f}")


if __name__ == "__main__":
    main()
