"""A CNN written as PyTorch code is written: a custom forward with functional ReLU,
max-pooling and dropout, log_softmax + nll_loss, a DataLoader, SGD with momentum and a
StepLR schedule, evaluation under no_grad, a checkpoint saved and loaded."""
import os
import sys

import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn, optim
from pynn.utils.data import DataLoader, TensorDataset

DROPOUT = float(os.environ.get("DROPOUT", "0.25"))
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, 1)
        self.conv2 = nn.Conv2d(8, 16, 3, 1)
        self.fc1 = nn.Linear(16 * 2 * 2, 32)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x):
        x = F.relu(self.conv1(x))
        x = F.max_pool2d(x, 2)
        x = F.relu(self.conv2(x))
        x = F.max_pool2d(x, 2)
        x = torch.flatten(x, 1)
        x = F.dropout(x, p=DROPOUT, training=self.training)
        x = F.relu(self.fc1(x))
        return F.log_softmax(self.fc2(x), dim=1)


def main():
    rng = np.random.default_rng(0)
    images = rng.standard_normal((256, 1, 14, 14)).astype(np.float32)
    teacher = rng.standard_normal((14 * 14, 10)).astype(np.float32)
    labels = (images.reshape(256, -1) @ teacher).argmax(1)
    dataset = TensorDataset(torch.from_numpy(images), torch.from_numpy(labels))
    loader = DataLoader(dataset, batch_size=32, shuffle=False)

    model = Net().to(device)
    for p in model.parameters():  # the same start in every library
        p.data.copy_(torch.from_numpy(rng.uniform(-0.2, 0.2, p.shape).astype(np.float32)))
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=1, gamma=0.7)
    for epoch in range(1, 3):
        model.train()
        for batch_idx, (data, target) in enumerate(loader):
            data, target = data.to(device), target.to(device)
            optimizer.zero_grad()
            output = model(data)
            loss = F.nll_loss(output, target)
            loss.backward()
            optimizer.step()
            print(f"loss {loss.item():.6f}")
        scheduler.step()
        model.eval()
        correct, total = 0, 0.0
        with torch.no_grad():
            for data, target in loader:
                output = model(data)
                total += F.nll_loss(output, target, reduction="sum").item()
                pred = output.argmax(dim=1, keepdim=True)
                correct += pred.eq(target.view_as(pred)).sum().item()
        print(f"eval {total / len(loader.dataset):.6f} {correct}")
    path = sys.argv[1] if len(sys.argv) > 1 else "cnn.pt"
    torch.save({"epoch": 2, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": optimizer.state_dict()}, path)
    checkpoint = torch.load(path)
    again = Net()
    again.load_state_dict(checkpoint["model_state_dict"])
    again.eval()
    with torch.no_grad():
        same = torch.allclose(again(data), model(data))
    print(f"reloaded {same} {checkpoint['epoch']}")


if __name__ == "__main__":
    main()
