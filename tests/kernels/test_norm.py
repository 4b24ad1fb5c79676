"""Layer norm's row kernels and batch norm's channel kernels: compiled against the NumPy
reference (shapes, layouts, dtypes, every ISA, 1 to 3 threads with the same bits), gradients
against finite differences in float64, the modules against PyTorch, and argument errors."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

AFFINE = ["both", "weight", "none"]
# Per kind: the shapes (batch 1, one column or channel, odd and prime sizes, sizes that go
# parallel: >= 16384 values; for the layer norm rows in more than one block of its column
# sums, which take at least 16 rows a block; for the batch norm one value a channel, a 1-d
# batch (N, C)), and where the affine parameters' shape comes from.
SHAPES = {
    "layer_norm": [(1, 7), (5, 1), (3, 17), (33, 129), (300, 8), (64, 263), (1000, 31)],
    "batch_norm": [(1, 3, 5, 5), (4, 1, 3, 7), (7, 5), (3, 4, 1, 1), (2, 6, 9, 11),
                   (16, 8, 16, 16), (5, 3, 17)],
}
PARAMS = {"layer_norm": slice(1, None), "batch_norm": slice(1, 2)}
CASES = [(kind, shape) for kind, shapes in SHAPES.items() for shape in shapes]


def _operands(rng, kind, shape, dtype, affine):
    x = random(rng, shape, dtype, -3, 5)
    params = shape[PARAMS[kind]]
    weight = random(rng, params, dtype, 0.5, 2) if affine != "none" else None
    bias = random(rng, params, dtype) if affine == "both" else None
    return x, weight, bias


def _statistics(forward_out):
    """(mean, rstd) of a forward's outputs: (y, mean, rstd) or, batch norm, (y, mean, var,
    rstd)."""
    return forward_out[1], forward_out[-1]


def _summed(kind, shape):
    """How many values each output of (forward, dx, dweight, dbias) sums, for tolerances."""
    if kind == "layer_norm":
        return shape[1], shape[1], shape[0], shape[0]
    per_channel = int(np.prod(shape)) // shape[1]
    return (per_channel,) * 4


def _same_bits_at_each_thread_count(threads, run):
    results = []
    for n_threads in (1, 2, 3):
        threads(n_threads)
        results.append(run())
    for other in results[1:]:
        for a, b in zip(results[0], other):
            if a is None:
                assert b is None
            else:
                np.testing.assert_array_equal(a, b)
    return results[0]


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, shape", CASES)
def test_forward_matches_reference(kind, shape, dtype, affine, compiled, reference, rng,
                                   threads, isa):
    x, weight, bias = _operands(rng, kind, shape, dtype, affine)
    forward = getattr(compiled, f"{kind}_forward")
    expected = getattr(reference, f"{kind}_forward")(x, weight, bias, 1e-5)
    for _, xl in layouts(x):
        got = _same_bits_at_each_thread_count(
            threads, lambda xl=xl: forward(xl, weight, bias, 1e-5))
        assert len(got) == len(expected)
        for a, b in zip(got, expected):
            assert a.dtype == dtype and a.shape == b.shape
            assert_close(a, b, dtype, _summed(kind, shape)[0])


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind, shape", CASES)
def test_backward_matches_reference(kind, shape, dtype, affine, compiled, reference, rng,
                                    threads, isa):
    x, weight, _ = _operands(rng, kind, shape, dtype, affine)
    mean, rstd = _statistics(getattr(reference, f"{kind}_forward")(x, weight))
    dy = random(rng, shape, dtype)
    backward = getattr(compiled, f"{kind}_backward")
    expected = getattr(reference, f"{kind}_backward")(x, dy, mean, rstd, weight,
                                                      weight_grad=weight is not None)
    for _, dyl in layouts(dy):
        got = _same_bits_at_each_thread_count(
            threads, lambda dyl=dyl: backward(x, dyl, mean, rstd, weight,
                                              weight_grad=weight is not None))
        for a, b, summed in zip(got, expected, _summed(kind, shape)[1:]):
            if b is None:
                assert a is None
            else:
                assert a.dtype == dtype and a.shape == b.shape
                assert_close(a, b, dtype, summed)


@pytest.mark.parametrize("kind, shape", [("layer_norm", (40, 9)), ("batch_norm", (6, 4, 5))])
@pytest.mark.parametrize("wanted", [(True, False, False), (False, True, False),
                                    (False, False, True), (False, True, True)])
def test_backward_computes_only_what_is_asked(kind, shape, wanted, compiled, reference, rng):
    x, weight, _ = _operands(rng, kind, shape, np.float64, "weight")
    mean, rstd = _statistics(getattr(reference, f"{kind}_forward")(x, weight))
    dy = random(rng, x.shape, np.float64)
    full = getattr(reference, f"{kind}_backward")(x, dy, mean, rstd, weight)
    for backend in (compiled, reference):
        got = getattr(backend, f"{kind}_backward")(x, dy, mean, rstd, weight, *wanted)
        for want, a, b in zip(wanted, got, full):
            if want:
                assert_close(a, b, np.float64, 40)
            else:
                assert a is None


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("kind, shape", [("layer_norm", (1, 5)), ("layer_norm", (4, 7)),
                                         ("layer_norm", (40, 3)), ("batch_norm", (1, 2, 3)),
                                         ("batch_norm", (4, 3)), ("batch_norm", (3, 2, 2, 3))])
def test_gradients_match_finite_differences(kind, shape, affine, compiled, rng):
    x, weight, bias = _operands(rng, kind, shape, np.float64, affine)
    forward = getattr(compiled, f"{kind}_forward")
    backward = getattr(compiled, f"{kind}_backward")

    def grads(xx, ww, dy):
        mean, rstd = _statistics(forward(xx, ww, bias))
        return backward(xx, dy, mean, rstd, ww, weight_grad=ww is not None)

    directional_check(lambda xx: forward(xx, weight, bias)[0],
                      lambda xx, dy: grads(xx, weight, dy)[0], x, rng)
    if weight is not None:
        directional_check(lambda ww: forward(x, ww, bias)[0],
                          lambda ww, dy: grads(x, ww, dy)[1], weight, rng)
    if bias is not None:
        directional_check(lambda bb: forward(x, weight, bb)[0],
                          lambda bb, dy: grads(x, weight, dy)[2], bias, rng)


def _copy_affine(pynn, torch, ours, theirs, rng, shape):
    w, b = random(rng, shape, np.float64, 0.5, 2), random(rng, shape, np.float64)
    with pynn.no_grad():
        ours.weight.copy_(pynn.tensor(w))
        ours.bias.copy_(pynn.tensor(b))
    with torch.no_grad():
        theirs.weight.copy_(torch.from_numpy(w))
        theirs.bias.copy_(torch.from_numpy(b))


def _step_matches(pynn, torch, ours, theirs, x, dy, affine):
    """One forward and backward of both modules on x with upstream dy: outputs and gradients
    agree."""
    px = pynn.tensor(x, requires_grad=True)
    tx = torch.from_numpy(x).requires_grad_(True)
    y, ty = ours(px), theirs(tx)
    (y * pynn.tensor(dy)).sum().backward()
    (ty * torch.from_numpy(dy)).sum().backward()
    pairs = [(y.detach(), ty.detach()), (px.grad, tx.grad)]
    if affine:
        pairs += [(ours.weight.grad, theirs.weight.grad), (ours.bias.grad, theirs.bias.grad)]
    for a, b in pairs:
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("elementwise_affine", [True, False])
@pytest.mark.parametrize("shape, normalized", [((4, 6, 10), (10,)), ((3, 5, 4, 7), (4, 7)),
                                               ((1, 33), (33,))])
def test_layer_norm_module_matches_torch(shape, normalized, elementwise_affine, rng):
    torch = pytest.importorskip("torch")
    import pynn
    from pynn import nn

    ours = nn.LayerNorm(normalized, elementwise_affine=elementwise_affine).double()
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=elementwise_affine).double()
    if elementwise_affine:
        _copy_affine(pynn, torch, ours, theirs, rng, normalized)
    _step_matches(pynn, torch, ours, theirs, random(rng, shape, np.float64, -2, 3),
                  random(rng, shape, np.float64), elementwise_affine)


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("affine", [True, False])
@pytest.mark.parametrize("shape", [(4, 3, 5, 6), (8, 5), (1, 2, 3, 3)])
def test_batch_norm_module_matches_torch(shape, affine, train, rng):
    torch = pytest.importorskip("torch")
    import pynn
    from pynn import nn

    cls, tcls = ((nn.BatchNorm2d, torch.nn.BatchNorm2d) if len(shape) == 4
                 else (nn.BatchNorm1d, torch.nn.BatchNorm1d))
    ours, theirs = cls(shape[1], affine=affine).double(), tcls(shape[1], affine=affine).double()
    if affine:
        _copy_affine(pynn, torch, ours, theirs, rng, shape[1:2])
    ours.train(train)
    theirs.train(train)
    for _ in range(2):  # the running statistics after a step are used and compared too
        _step_matches(pynn, torch, ours, theirs, random(rng, shape, np.float64, -2, 3),
                      random(rng, shape, np.float64), affine)
        for a, b in ((ours.running_mean, theirs.running_mean),
                     (ours.running_var, theirs.running_var)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, atol=1e-12)
        if affine:
            ours.zero_grad()
            theirs.zero_grad()


@pytest.mark.parametrize("kernel, args, exc, message", [
    ("layer_norm_forward", (np.ones(4, np.float32),), ValueError,
     "x must have 2 dimensions (N, C), got shape (4,)"),
    ("layer_norm_forward", (np.ones((2, 4), np.float32), np.ones(3, np.float32)), ValueError,
     "weight must have shape (4,), got (3,)"),
    ("layer_norm_forward", (np.ones((2, 4), np.float32), np.ones(4)), TypeError, "dtype"),
    ("layer_norm_backward", (np.ones((2, 4)), np.ones((2, 3)), np.ones(2), np.ones(2)),
     ValueError, "dy must have shape (2, 4), got (2, 3)"),
    ("layer_norm_backward", (np.ones((2, 4)), np.ones((2, 4)), np.ones(3), np.ones(2)),
     ValueError, "mean must have shape (2,), got (3,)"),
    ("batch_norm_forward", (np.ones(4, np.float32),), ValueError,
     "x must have at least 2 dimensions (N, C, *), got shape (4,)"),
    ("batch_norm_forward", (np.ones((2, 4, 3), np.float32), np.ones(3, np.float32)),
     ValueError, "weight must have shape (4,), got (3,)"),
    ("batch_norm_backward", (np.ones((2, 4)), np.ones((2, 3)), np.ones(4), np.ones(4)),
     ValueError, "dy must have shape (2, 4), got (2, 3)"),
    ("batch_norm_backward", (np.ones((2, 4)), np.ones((2, 4)), np.ones(4), np.ones(3)),
     ValueError, "rstd must have shape (4,), got (3,)"),
])
def test_norms_reject_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
