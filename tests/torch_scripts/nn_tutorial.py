"""'What is torch.nn really?' as PyTorch's tutorial writes it: a hand-made logistic
regression (log_softmax by hand, nll as -input[range(n), target].mean(), updates under
no_grad), then nn.Module and nn.Parameter, nn.Linear, optim, TensorDataset and DataLoader, a
CNN with a Lambda layer and AdaptiveAvgPool2d, a WrappedDataLoader; loss tensors printed
with their grad_fn, a prediction row printed as PyTorch lays it out."""
import math

import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn, optim
from pynn.utils.data import DataLoader, TensorDataset

rng = np.random.default_rng(0)
x_np = rng.random((300, 784), dtype=np.float32)
y_np = (x_np[:, :10] @ rng.standard_normal(10)).argsort().argsort() * 10 // 300
x_train, y_train, x_valid, y_valid = map(
    torch.tensor, (x_np[:200], y_np[:200], x_np[200:], y_np[200:]))
n, c = x_train.shape
print(tuple(x_train.shape), y_train.min(), y_train.max())

weights = torch.tensor(rng.standard_normal((784, 10)).astype(np.float32)) / math.sqrt(784)
weights.requires_grad_()
bias = torch.zeros(10, requires_grad=True)


def log_softmax(x):
    return x - x.exp().sum(-1).log().unsqueeze(-1)


def model(xb):
    return log_softmax(xb @ weights + bias)


bs = 64
xb = x_train[0:bs]
preds = model(xb)
print(preds[0], tuple(preds.shape))


def nll(input, target):
    return -input[range(target.shape[0]), target].mean()


loss_func = nll
yb = y_train[0:bs]
print(loss_func(preds, yb))


def accuracy(out, yb):
    preds = torch.argmax(out, dim=1)
    return (preds == yb).float().mean()


print(accuracy(preds, yb))
lr = 0.1
for epoch in range(2):
    for i in range((n - 1) // bs + 1):
        start_i = i * bs
        xb, yb = x_train[start_i:start_i + bs], y_train[start_i:start_i + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        with torch.no_grad():
            weights -= weights.grad * lr
            bias -= bias.grad * lr
            weights.grad.zero_()
            bias.grad.zero_()
print(loss_func(model(xb), yb), accuracy(model(xb), yb))

loss_func = F.cross_entropy


class Mnist_Logistic(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(784, 10)

    def forward(self, xb):
        return self.lin(xb)


def init(module):
    for _, p in sorted(module.named_parameters()):  # the same start in every library
        p.data.copy_(torch.from_numpy(rng.uniform(-0.1, 0.1, p.shape).astype(np.float32)))
    return module


model = init(Mnist_Logistic())
print(loss_func(model(xb), yb))
opt = optim.SGD(model.parameters(), lr=lr)
for epoch in range(2):
    for i in range((n - 1) // bs + 1):
        xb, yb = x_train[i * bs:i * bs + bs], y_train[i * bs:i * bs + bs]
        loss = loss_func(model(xb), yb)
        loss.backward()
        opt.step()
        opt.zero_grad()
print(loss_func(model(xb), yb))


class Lambda(nn.Module):
    def __init__(self, func):
        super().__init__()
        self.func = func

    def forward(self, x):
        return self.func(x)


def loss_batch(model, loss_func, xb, yb, opt=None):
    loss = loss_func(model(xb), yb)
    if opt is not None:
        loss.backward()
        opt.step()
        opt.zero_grad()
    return loss.item(), len(xb)


def fit(epochs, model, loss_func, opt, train_dl, valid_dl):
    for epoch in range(epochs):
        model.train()
        for xb, yb in train_dl:
            loss_batch(model, loss_func, xb, yb, opt)
        model.eval()
        with torch.no_grad():
            losses, nums = zip(*[loss_batch(model, loss_func, xb, yb) for xb, yb in valid_dl])
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        print(epoch, f"{val_loss:.5f}")


train_dl = DataLoader(TensorDataset(x_train, y_train), batch_size=bs)
valid_dl = DataLoader(TensorDataset(x_valid, y_valid), batch_size=bs * 2)
model = init(nn.Sequential(
    Lambda(lambda x: x.view(-1, 1, 28, 28)),
    nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(8, 10, kernel_size=3, stride=2, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1),
    Lambda(lambda x: x.view(x.size(0), -1)),
))
opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
fit(2, model, loss_func, opt, train_dl, valid_dl)


class WrappedDataLoader:
    def __init__(self, dl, func):
        self.dl = dl
        self.func = func

    def __len__(self):
        return len(self.dl)

    def __iter__(self):
        for b in self.dl:
            yield self.func(*b)


dev = torch.device("cuda") if torch.cuda.is_available() else torch.device("cpu")
train_dl = WrappedDataLoader(train_dl, lambda x, y: (x.view(-1, 1, 28, 28).to(dev), y.to(dev)))
valid_dl = WrappedDataLoader(valid_dl, lambda x, y: (x.view(-1, 1, 28, 28).to(dev), y.to(dev)))
model.to(dev)
fit(1, model, loss_func, opt, train_dl, valid_dl)
with torch.no_grad():
    out = model(x_valid[:3].view(-1, 1, 28, 28))
print(out.argmax(1), out.shape[1])
print(F.softmax(model(x_valid[:2]), dim=1))
