"""Dataset, TensorDataset, Subset and DataLoader: batching, shuffling, the fast path."""

import numpy as np
import pytest

import pynn
from pynn.data import DataLoader, Dataset, Subset, TensorDataset, random_split


class SlowDataset(Dataset):
    """The same samples without ``get_batch``: forces the loader's per-sample path."""

    def __init__(self, inner):
        self.inner = inner

    def __len__(self):
        return len(self.inner)

    def __getitem__(self, i):
        return self.inner[i]


def make(n=10):
    x = np.arange(n * 6, dtype=np.float32).reshape(n, 1, 2, 3)
    y = np.arange(n, dtype=np.int64) % 3
    return x, y, TensorDataset(x, y)


def collect(loader):
    return [tuple(np.copy(a) for a in b) for b in loader]


def test_tensor_dataset_items_and_errors():
    x, y, ds = make(4)
    assert len(ds) == 4
    xi, yi = ds[2]
    np.testing.assert_array_equal(xi, x[2])
    assert yi == y[2]
    np.testing.assert_array_equal(ds[-1][0], x[3])
    with pytest.raises(IndexError, match="out of range"):
        ds[4]
    with pytest.raises(ValueError, match=r"same first dimension.*\(4, 2\).*\(3,\)"):
        TensorDataset(np.zeros((4, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="at least one array"):
        TensorDataset()
    with pytest.raises(ValueError, match="0-d"):
        TensorDataset(np.float32(1.0))


def test_tensor_dataset_accepts_tensor_like():
    class FakeTensor:
        def __init__(self, a):
            self.data = a

    a = np.arange(3.0)
    ds = TensorDataset(FakeTensor(a))
    assert ds.arrays[0] is a


def test_abstract_dataset():
    with pytest.raises(NotImplementedError):
        len(Dataset())
    with pytest.raises(NotImplementedError):
        Dataset()[0]


@pytest.mark.parametrize("n,bs,drop_last,expected", [
    (10, 3, False, 4), (10, 3, True, 3), (9, 3, False, 3), (9, 3, True, 3),
    (2, 5, False, 1), (2, 5, True, 0), (0, 4, False, 0), (10, 1, False, 10),
])
def test_len_is_number_of_batches(n, bs, drop_last, expected):
    _, _, ds = make(n)
    loader = DataLoader(ds, batch_size=bs, drop_last=drop_last)
    assert len(loader) == expected
    assert len(collect(loader)) == expected


def test_batches_in_order_with_partial_last():
    x, y, ds = make(10)
    batches = collect(DataLoader(ds, batch_size=4))
    assert [b[0].shape for b in batches] == [(4, 1, 2, 3), (4, 1, 2, 3), (2, 1, 2, 3)]
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x)
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y)
    assert batches[0][0].dtype == np.float32 and batches[0][1].dtype == np.int64


def test_drop_last():
    x, _, ds = make(10)
    batches = collect(DataLoader(ds, batch_size=4, drop_last=True))
    assert len(batches) == 2
    np.testing.assert_array_equal(np.concatenate([b[0] for b in batches]), x[:8])


def test_batches_are_copies():
    x, _, ds = make(4)
    for xb, _ in DataLoader(ds, batch_size=4):
        xb[...] = -1
    assert x.min() >= 0


def test_shuffle_with_seed_is_reproducible_and_new_each_epoch():
    _, y, ds = make(50)
    a = DataLoader(ds, batch_size=7, shuffle=True, seed=123)
    b = DataLoader(ds, batch_size=7, shuffle=True, seed=123)
    epochs_a = [collect(a) for _ in range(3)]
    epochs_b = [collect(b) for _ in range(3)]
    for ea, eb in zip(epochs_a, epochs_b):
        for ba, bb in zip(ea, eb):
            np.testing.assert_array_equal(ba[0], bb[0])
            np.testing.assert_array_equal(ba[1], bb[1])
    orders = [np.concatenate([bt[0][:, 0, 0, 0] for bt in e]) / 6 for e in epochs_a]
    for order in orders:  # each epoch visits every sample once
        assert sorted(order.astype(int).tolist()) == list(range(50))
    assert not np.array_equal(orders[0], orders[1])  # a new permutation each epoch
    assert not np.array_equal(orders[0], np.arange(50))
    # Labels stay with their inputs.
    for xb, yb in epochs_a[0]:
        np.testing.assert_array_equal(yb, y[(xb[:, 0, 0, 0] / 6).astype(int)])
    c = DataLoader(ds, batch_size=7, shuffle=True, seed=124)
    assert not np.array_equal(collect(c)[0][0], epochs_a[0][0][0])


def test_shuffle_without_seed_follows_module_generator():
    _, _, ds = make(30)
    loader = DataLoader(ds, batch_size=30, shuffle=True)
    pynn.manual_seed(7)
    first = collect(loader)[0][0]
    pynn.manual_seed(7)
    again = collect(loader)[0][0]
    np.testing.assert_array_equal(first, again)


@pytest.mark.parametrize("shuffle", [False, True])
@pytest.mark.parametrize("drop_last", [False, True])
def test_fast_path_matches_slow_path(shuffle, drop_last):
    from pynn.data.transforms import GaussianNoise

    _, _, ds = make(23)
    fast = DataLoader(ds, batch_size=5, shuffle=shuffle, drop_last=drop_last, seed=9,
                      transform=GaussianNoise(0.5, rng=1))
    slow = DataLoader(SlowDataset(ds), batch_size=5, shuffle=shuffle, drop_last=drop_last,
                      seed=9, transform=GaussianNoise(0.5, rng=1))
    assert fast.fast_path and not slow.fast_path
    bf, bs = collect(fast), collect(slow)
    assert len(bf) == len(bs) == len(fast)
    for f, s in zip(bf, bs):
        assert len(f) == len(s) == 2
        for a, b in zip(f, s):
            assert a.dtype == b.dtype and a.shape == b.shape
            np.testing.assert_array_equal(a, b)


def test_fast_path_does_not_touch_getitem():
    class NoGetItem(TensorDataset):
        def __getitem__(self, i):
            raise AssertionError("the fast path must not index samples one by one")

    ds = NoGetItem(np.zeros((8, 2)), np.zeros(8))
    assert sum(b[0].shape[0] for b in DataLoader(ds, batch_size=3, shuffle=True)) == 8


def test_slow_path_single_array_samples():
    class Squares(Dataset):
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.full((2,), i * i)

    batches = list(DataLoader(Squares(), batch_size=2))  # one Tensor per batch, as PyTorch
    assert all(isinstance(b, pynn.Tensor) for b in batches)
    assert [b.shape for b in batches] == [(2, 2), (2, 2), (1, 2)]
    np.testing.assert_array_equal(batches[1], [[4, 4], [9, 9]])


def test_transform_applies_to_inputs_only():
    x, y, ds = make(6)
    seen = []

    def double(batch):
        seen.append(batch.shape)
        return batch * 2

    batches = collect(DataLoader(ds, batch_size=4, transform=double))
    assert seen == [(4, 1, 2, 3), (2, 1, 2, 3)]
    np.testing.assert_array_equal(batches[0][0], x[:4] * 2)
    np.testing.assert_array_equal(batches[0][1], y[:4])


def test_bad_arguments():
    _, _, ds = make(3)
    for bs in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="batch_size"):
            DataLoader(ds, batch_size=bs)
    with pytest.raises(TypeError, match="transform"):
        DataLoader(ds, transform=3)
    with pytest.raises(TypeError, match="rng"):
        DataLoader(ds, seed="abc")


def test_subset_and_random_split():
    x, y, ds = make(10)
    sub = Subset(ds, [7, 2, 5])
    assert len(sub) == 3
    np.testing.assert_array_equal(sub[1][0], x[2])
    assert DataLoader(sub, batch_size=2).fast_path
    np.testing.assert_array_equal(collect(DataLoader(sub, batch_size=3))[0][1], y[[7, 2, 5]])
    parts = random_split(ds, [6, 4], seed=0)
    assert [len(p) for p in parts] == [6, 4]
    assert sorted(np.concatenate([p.indices for p in parts]).tolist()) == list(range(10))
    np.testing.assert_array_equal(random_split(ds, [6, 4], seed=0)[0].indices, parts[0].indices)
    with pytest.raises(ValueError, match="sum to"):
        random_split(ds, [5, 4])
    with pytest.raises(IndexError):
        Subset(ds, [10])
