"""pynn.utils.data against torch.utils.data: collation, samplers, datasets and the loader's
batches (contents, types, dtypes) on the same data and settings (skipped without torch)."""

import collections

import numpy as np
import pytest

import pynn
from pynn.utils import data as D

torch = pytest.importorskip("torch")
tdata = torch.utils.data

Point = collections.namedtuple("Point", "x y")


def same(ours, theirs, where="batch"):
    """Assert that a pynn batch and a torch batch have the same structure, types, dtypes and
    values."""
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, pynn.Tensor), f"{where}: {type(ours).__name__}"
        ref = theirs.numpy()
        assert ours.shape == ref.shape, where
        assert ours.dtype == ref.dtype, f"{where}: {ours.dtype} != {ref.dtype}"
        np.testing.assert_array_equal(ours.numpy(), ref, err_msg=where)
    elif isinstance(theirs, dict):
        assert type(ours) is type(theirs) and list(ours) == list(theirs), where
        for k in theirs:
            same(ours[k], theirs[k], f"{where}[{k!r}]")
    elif isinstance(theirs, (list, tuple)):
        assert type(ours) is type(theirs), f"{where}: {type(ours)} != {type(theirs)}"
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            same(a, b, f"{where}[{i}]")
    else:
        assert type(ours) is type(theirs) and ours == theirs, where


def sample_kinds(i):
    """One sample of each kind default_collate handles, for index i."""
    return {
        "int": i,
        "float": i / 4,
        "bool": i % 2 == 0,
        "str": f"s{i}",
        "ndarray_f32": np.full((2, 3), i, np.float32),
        "ndarray_i32": np.arange(3, dtype=np.int32) + i,
        "np_scalar_f32": np.float32(i / 2),
        "np_scalar_i64": np.int64(i),
        "tuple": (np.float64(i), i),
        "list": [i, i * 2.0],
        "dict": {"a": i, "b": [np.ones(2, np.float32) * i, f"k{i}"]},
        "namedtuple": Point(i, float(i)),
        "nested": [(i, {"z": np.zeros(1, np.float64) + i})],
    }


@pytest.mark.parametrize("kind", list(sample_kinds(0)))
def test_default_collate_matches_torch(kind):
    batch = [sample_kinds(i)[kind] for i in range(4)]
    same(D.default_collate(batch), tdata.default_collate(batch))


def test_default_collate_of_tensors_matches_torch():
    arrays = [np.arange(6, dtype=np.float32).reshape(2, 3) + i for i in range(3)]
    ours = D.default_collate([pynn.tensor(a) for a in arrays])
    theirs = tdata.default_collate([torch.tensor(a) for a in arrays])
    same(ours, theirs)
    mixed = [(pynn.tensor(a), i) for i, a in enumerate(arrays)]
    same(D.default_collate(mixed),
         tdata.default_collate([(torch.tensor(a), i) for i, a in enumerate(arrays)]))


@pytest.mark.parametrize("kind", ["int", "ndarray_f32", "tuple", "dict", "namedtuple", "str"])
def test_default_convert_matches_torch(kind):
    sample = sample_kinds(3)[kind]
    same(D.default_convert(sample), tdata.default_convert(sample))


@pytest.mark.parametrize("batch, error", [
    ([np.array(["a", "b"])], TypeError),
    ([object(), object()], TypeError),
    ([[1, 2], [3]], RuntimeError),
    ([np.zeros(2), np.zeros(3)], RuntimeError),
])
def test_default_collate_errors_match_torch(batch, error):
    with pytest.raises(error):
        tdata.default_collate(batch)
    with pytest.raises(error):
        D.default_collate(batch)


class Kinds:
    """A map-style dataset of every sample kind (no get_batch: the per-sample path)."""

    def __init__(self, n, base):
        self.n = n
        self.base = base

    def __len__(self):
        return self.n

    def __getitem__(self, i):
        if not 0 <= i < self.n:
            raise IndexError(i)
        return sample_kinds(i)


def twins(n=11):
    return Kinds(n, D.Dataset), Kinds(n, tdata.Dataset)


class Fixed(tdata.Sampler):
    def __init__(self, order):
        self.order = order

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


class FixedOurs(D.Sampler):
    def __init__(self, order):
        self.order = order

    def __iter__(self):
        return iter(self.order)

    def __len__(self):
        return len(self.order)


ORDER = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]
LOADER_CASES = {
    "default": lambda m, S: {},
    "batch4": lambda m, S: {"batch_size": 4},
    "batch4-drop_last": lambda m, S: {"batch_size": 4, "drop_last": True},
    "no-batching": lambda m, S: {"batch_size": None},
    "sampler": lambda m, S: {"batch_size": 3, "sampler": S(ORDER)},
    "batch_sampler": lambda m, S: {"batch_sampler": m.BatchSampler(S(ORDER), 4, False)},
    "batch_sampler-lists": lambda m, S: {"batch_sampler": [[0, 2], [5], [1, 3, 4]]},
    "collate_fn": lambda m, S: {"batch_size": 3, "collate_fn": lambda b: [s["int"] for s in b]},
}


@pytest.mark.parametrize("case", list(LOADER_CASES))
def test_loader_batches_match_torch(case):
    ours_ds, theirs_ds = twins()
    ours = D.DataLoader(ours_ds, **LOADER_CASES[case](D, FixedOurs))
    theirs = tdata.DataLoader(theirs_ds, **LOADER_CASES[case](tdata, Fixed))
    got, want = list(ours), list(theirs)
    assert len(ours) == len(theirs) == len(want)
    assert len(got) == len(want)
    for i, (a, b) in enumerate(zip(got, want)):
        same(a, b, f"batch {i}")


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int64, np.uint8])
@pytest.mark.parametrize("drop_last", [False, True])
def test_tensor_dataset_loader_matches_torch(dtype, drop_last):
    x = (np.arange(7 * 3) % 11).astype(dtype).reshape(7, 3)
    y = np.arange(7) % 3
    ours = D.DataLoader(D.TensorDataset(pynn.tensor(x), pynn.tensor(y)), batch_size=3,
                        drop_last=drop_last)
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)),
                              batch_size=3, drop_last=drop_last)
    assert ours.fast_path
    got, want = list(ours), list(theirs)
    assert len(got) == len(want) == len(ours) == len(theirs)
    for a, b in zip(got, want):
        same(a, b)
    same(ours.dataset[2], theirs.dataset[2])
    assert len(ours.dataset.tensors) == 2


@pytest.mark.parametrize("key", [slice(1, 3), slice(None), [0, 2], np.array([4, 1]),
                                 np.arange(7) % 2 == 0, -1, np.int64(3)])
def test_tensor_dataset_indexing_matches_torch(key):
    """``ds[:]``, ``ds[0:2]`` and fancy keys index every tensor, as torch's does."""
    x = np.arange(7 * 3, dtype=np.float32).reshape(7, 3)
    y = np.arange(7)
    ours = D.TensorDataset(pynn.tensor(x), pynn.tensor(y))[key]
    theirs = tdata.TensorDataset(torch.tensor(x), torch.tensor(y))[
        torch.as_tensor(key) if isinstance(key, np.ndarray) else key]
    assert isinstance(ours, tuple) and len(ours) == 2
    same(ours, theirs)


class Stream:
    """An iterable dataset of n ints with a length."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self):
        return self.n


class OurStream(Stream, D.IterableDataset):
    pass


class TorchStream(Stream, tdata.IterableDataset):
    pass


@pytest.mark.parametrize("kwargs", [{}, {"batch_size": 3}, {"batch_size": 3, "drop_last": True},
                                    {"batch_size": None}])
def test_iterable_dataset_matches_torch(kwargs):
    ours = D.DataLoader(OurStream(10), **kwargs)
    theirs = tdata.DataLoader(TorchStream(10), **kwargs)
    assert len(ours) == len(theirs)
    for a, b in zip(list(ours), list(theirs), strict=True):
        same(a, b)


@pytest.mark.parametrize("kwargs, error", [
    ({"shuffle": True, "sampler": [0, 1]}, ValueError),
    ({"batch_sampler": [[0]], "batch_size": 2}, ValueError),
    ({"batch_sampler": [[0]], "drop_last": True}, ValueError),
    ({"batch_size": None, "drop_last": True}, ValueError),
    ({"num_workers": -1}, ValueError),
    ({"prefetch_factor": 2}, ValueError),
    ({"persistent_workers": True}, ValueError),
    ({"timeout": -1}, ValueError),
    ({"batch_size": 0}, ValueError),
])
def test_loader_argument_errors_match_torch(kwargs, error):
    ours_ds, theirs_ds = twins()
    with pytest.raises(error):
        tdata.DataLoader(theirs_ds, **kwargs)
    with pytest.raises(error):
        D.DataLoader(ours_ds, **kwargs)


def test_iterable_dataset_refuses_shuffle_and_samplers_as_torch():
    for kwargs in ({"shuffle": True}, {"sampler": [0]}, {"batch_sampler": [[0]]}):
        with pytest.raises(ValueError):
            tdata.DataLoader(TorchStream(3), **kwargs)
        with pytest.raises(ValueError):
            D.DataLoader(OurStream(3), **kwargs)


# ------------------------------------------------------------------------------- samplers
@pytest.mark.parametrize("make", [
    lambda m: m.SequentialSampler(range(7)),
    lambda m: m.BatchSampler(m.SequentialSampler(range(10)), 3, False),
    lambda m: m.BatchSampler(m.SequentialSampler(range(10)), 3, True),
    lambda m: m.BatchSampler([4, 2, 0], 2, False),
])
def test_deterministic_samplers_match_torch(make):
    ours, theirs = make(D), make(tdata)
    assert list(ours) == list(theirs)
    assert len(ours) == len(theirs)


@pytest.mark.parametrize("kwargs", [{}, {"replacement": True}, {"num_samples": 25},
                                    {"replacement": True, "num_samples": 4},
                                    {"num_samples": 3}])
def test_random_sampler_contents_and_length_like_torch(kwargs):
    ours = D.RandomSampler(range(10), generator=np.random.default_rng(0), **kwargs)
    theirs = tdata.RandomSampler(range(10), **kwargs)
    a, b = list(ours), list(theirs)
    assert len(a) == len(b) == len(ours) == len(theirs)
    assert all(type(i) is int and 0 <= i < 10 for i in a)
    if not kwargs.get("replacement"):
        # Without replacement every full pass is a permutation, as torch's.
        full = len(a) // 10 * 10
        for k in range(0, full, 10):
            assert sorted(a[k:k + 10]) == list(range(10))
        assert len(set(a[full:])) == len(a) - full


def test_random_sampler_generator_reproducible_and_global_seed():
    a = list(D.RandomSampler(range(50), generator=np.random.default_rng(3)))
    b = list(D.RandomSampler(range(50), generator=np.random.default_rng(3)))
    assert a == b and a != list(range(50))
    s = D.RandomSampler(range(50))
    pynn.manual_seed(1)
    c = list(s)
    pynn.manual_seed(1)
    assert list(s) == c
    assert list(s) != c  # a new order each epoch


def test_subset_random_sampler_and_weighted():
    s = D.SubsetRandomSampler([10, 20, 30, 40], generator=0)
    out = list(s)
    assert sorted(out) == [10, 20, 30, 40] and len(s) == 4
    w = D.WeightedRandomSampler([0.0, 1.0, 0.0, 3.0], 2000, generator=0)
    draws = np.array(list(w))
    assert len(w) == 2000 and set(draws.tolist()) == {1, 3}
    assert abs((draws == 3).mean() - 0.75) < 0.05
    nr = list(D.WeightedRandomSampler([1, 1, 1, 1], 4, replacement=False, generator=0))
    assert sorted(nr) == [0, 1, 2, 3]
    with pytest.raises(ValueError):
        D.WeightedRandomSampler([1.0], 0)
    with pytest.raises(RuntimeError):
        tdata.WeightedRandomSampler([1.0, 1.0], 3, replacement=False).__iter__().__next__()
    with pytest.raises(RuntimeError):
        D.WeightedRandomSampler([1.0, 1.0], 3, replacement=False)


def test_shuffle_with_generator_reproducible():
    ds = D.TensorDataset(np.arange(20))
    a = [b[0].tolist() for b in D.DataLoader(ds, batch_size=5, shuffle=True, generator=7)]
    b = [b[0].tolist() for b in D.DataLoader(ds, batch_size=5, shuffle=True,
                                            generator=np.random.default_rng(7))]
    flat = [i for batch in a for i in batch]
    assert a == b and sorted(flat) == list(range(20)) and flat != list(range(20))


# ------------------------------------------------------------------------------- datasets
def test_concat_dataset_matches_torch():
    parts = [list(range(3)), list(range(10, 15)), [], [99]]
    ours = D.ConcatDataset([D.Subset(D.TensorDataset(np.array(p, dtype=np.int64)),
                                     range(len(p))) for p in parts])
    theirs = tdata.ConcatDataset([tdata.Subset(tdata.TensorDataset(torch.tensor(p,
                                  dtype=torch.int64)), range(len(p))) for p in parts])
    assert len(ours) == len(theirs)
    assert ours.cumulative_sizes == theirs.cumulative_sizes
    for i in range(-len(ours), len(ours)):
        same(list(ours[i]), list(theirs[i]), f"item {i}")
    with pytest.raises(IndexError):
        ours[len(ours)]
    summed = D.TensorDataset(np.zeros(2)) + D.TensorDataset(np.ones(3))
    assert isinstance(summed, D.ConcatDataset) and len(summed) == 5
    with pytest.raises(TypeError):
        D.ConcatDataset([OurStream(2)])


@pytest.mark.parametrize("lengths", [[0.5, 0.5], [0.3, 0.3, 0.4], [0.7, 0.2, 0.1],
                                     [1.0], [3, 8], [0.25, 0.25, 0.25, 0.25]])
def test_random_split_lengths_match_torch(lengths):
    n = 11
    ours = D.random_split(D.TensorDataset(np.arange(n)), lengths, generator=0)
    theirs = tdata.random_split(tdata.TensorDataset(torch.arange(n)), lengths,
                                generator=torch.Generator().manual_seed(0))
    assert [len(p) for p in ours] == [len(p) for p in theirs]
    covered = sorted(int(i) for p in ours for i in p.indices)
    assert covered == list(range(n))
    again = D.random_split(D.TensorDataset(np.arange(n)), lengths, generator=0)
    assert [p.indices.tolist() for p in again] == [p.indices.tolist() for p in ours]


def test_random_split_errors_like_torch():
    for lengths in ([5, 5], [0.5, 0.6]):
        with pytest.raises(ValueError):
            tdata.random_split(tdata.TensorDataset(torch.arange(11)), lengths)
        with pytest.raises(ValueError):
            D.random_split(D.TensorDataset(np.arange(11)), lengths)


def test_pynn_data_is_the_same_implementation():
    from pynn import data

    for name in ("Dataset", "TensorDataset", "DataLoader", "Subset", "random_split",
                 "IterableDataset", "default_collate", "RandomSampler"):
        assert getattr(data, name) is getattr(D, name)
    import pynn.data.loader
    assert pynn.data.loader.DataLoader is D.DataLoader


def test_chain_and_stack_datasets_match_torch():
    ours = D.ChainDataset([OurStream(3), OurStream(2)])
    theirs = tdata.ChainDataset([TorchStream(3), TorchStream(2)])
    assert list(ours) == list(theirs) and len(ours) == len(theirs)
    assert list(OurStream(2) + OurStream(1)) == list(TorchStream(2) + TorchStream(1))
    a, b = np.arange(4), np.arange(4) * 10
    for make in (lambda m, T: m.StackDataset(T(a), T(b)),
                 lambda m, T: m.StackDataset(x=T(a), y=T(b))):
        o, t = make(D, lambda v: D.TensorDataset(v)), make(
            tdata, lambda v: tdata.TensorDataset(torch.tensor(v)))
        assert len(o) == len(t)
        same(D.default_collate([o[i] for i in range(4)]),
             tdata.default_collate([t[i] for i in range(4)]))
    with pytest.raises(ValueError):
        D.StackDataset(D.TensorDataset(a), D.TensorDataset(np.arange(3)))
