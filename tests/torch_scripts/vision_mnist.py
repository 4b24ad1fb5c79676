"""A torchvision-style MNIST program: datasets.MNIST with a transforms.Compose of ToTensor
and Normalize, a Subset in a DataLoader, a CNN trained with Adadelta and StepLR, the test
accuracy, and a grid of images written with save_image (pynn.vision for torchvision)."""
import os
import sys

import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn, optim
from pynn.optim.lr_scheduler import StepLR
from pynn.utils.data import DataLoader, Subset
from pynn.vision import datasets, transforms
from pynn.vision.utils import save_image


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 8, 3, 1)
        self.fc1 = nn.Linear(8 * 12 * 12, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        x = torch.flatten(x, 1)
        return F.log_softmax(self.fc2(F.relu(self.fc1(x))), dim=1)


def main():
    root = os.environ.get("PYNN_DATA_DIR", "../data")
    transform = transforms.Compose([transforms.ToTensor(),
                                    transforms.Normalize((0.1307,), (0.3081,))])
    test_set = datasets.MNIST(root, train=False, download=True, transform=transform)
    print(len(test_set), test_set.classes[3], tuple(test_set.data.shape),
          test_set.targets[:5].tolist())
    x0, y0 = test_set[0]
    print(tuple(x0.shape), str(x0.dtype).split(".")[-1], y0, f"{x0.mean().item():.5f}")
    train_loader = DataLoader(Subset(test_set, range(512)), batch_size=64)
    eval_loader = DataLoader(Subset(test_set, range(512, 1024)), batch_size=256)
    model = Net()
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, p.shape).astype(np.float32)))
    optimizer = optim.Adadelta(model.parameters(), lr=1.0)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, 3):
        model.train()
        for batch_idx, (data, target) in enumerate(train_loader):
            optimizer.zero_grad()
            loss = F.nll_loss(model(data), target)
            loss.backward()
            optimizer.step()
            if batch_idx % 4 == 0:
                print(f"epoch {epoch} batch {batch_idx} loss {loss.item():.5f}")
        scheduler.step()
        model.eval()
        correct, total = 0, 0.0
        with torch.no_grad():
            for data, target in eval_loader:
                output = model(data)
                total += F.nll_loss(output, target, reduction="sum").item()
                correct += output.argmax(dim=1, keepdim=True).eq(target.view(-1, 1)).sum().item()
        print(f"test {total / 512:.5f} {correct}/512 lr {scheduler.get_last_lr()[0]:.3f}")
    out = os.path.join(os.path.dirname(os.path.abspath(sys.argv[1] if len(sys.argv) > 1
                                                      else "x")), "grid.png")
    save_image(data[:16] * 0.3081 + 0.1307, out, nrow=4)
    print(os.path.getsize(out) > 100)


if __name__ == "__main__":
    main()
