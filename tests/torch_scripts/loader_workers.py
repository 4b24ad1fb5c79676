"""Data loading with worker processes, written as PyTorch code is written: a Dataset doing
per-sample augmentation in NumPy, a custom Sampler, num_workers=2 with persistent workers,
worker_init_fn and get_worker_info, dict samples collated, pin_memory and drop_last, then a
small model trained on the batches."""
import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn
from pynn.utils.data import DataLoader, Dataset, Sampler, get_worker_info


class Shapes(Dataset):
    def __init__(self, n):
        rng = np.random.default_rng(1)
        self.images = rng.random((n, 1, 8, 8)).astype(np.float32)
        self.labels = (self.images[:, 0, :4].mean(axis=(1, 2)) > 0.5).astype(np.int64)

    def __len__(self):
        return len(self.labels)

    def __getitem__(self, i):
        img = self.images[i]
        if i % 2:  # deterministic augmentation: a flip and a shift that depend on the index
            img = img[:, :, ::-1]
        img = np.roll(img, i % 3, axis=2).copy()
        info = get_worker_info()
        return {"image": torch.from_numpy(img), "label": int(self.labels[i]),
                "worker": -1 if info is None else info.id}


class Permuted(Sampler):
    def __init__(self, n, seed):
        self.n, self.seed, self.epoch = n, seed, 0

    def __iter__(self):
        self.epoch += 1
        return iter(np.random.default_rng(self.seed + self.epoch).permutation(self.n).tolist())

    def __len__(self):
        return self.n


def seed_worker(worker_id):
    np.random.seed(1000 + worker_id)


def main():
    data = Shapes(70)
    loader = DataLoader(data, batch_size=16, sampler=Permuted(len(data), 5), num_workers=2,
                        persistent_workers=True, worker_init_fn=seed_worker, pin_memory=True,
                        drop_last=True)
    print(len(loader))
    model = nn.Sequential(nn.Flatten(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 2))
    rng = np.random.default_rng(0)
    for p in model.parameters():
        p.data.copy_(torch.from_numpy(rng.uniform(-0.3, 0.3, p.shape).astype(np.float32)))
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for epoch in range(3):
        workers = []
        for batch in loader:
            x, y = batch["image"], batch["label"]
            workers.append(sorted(set(batch["worker"].tolist())))
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        dtypes = [str(t.dtype).split(".")[-1] for t in (x, y)]
        print(f"epoch {epoch} loss {loss.item():.6f} x {tuple(x.shape)} {dtypes}")
        print("workers", workers)
    single = DataLoader(data, batch_size=10, shuffle=False)
    first = next(iter(single))
    print(first["image"].sum().item() > 0, first["worker"].tolist()[:3])


if __name__ == "__main__":
    main()
