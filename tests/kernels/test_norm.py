"""Layer norm's row kernels and batch norm's channel kernels: compiled against the NumPy
reference (shapes, layouts, dtypes, every ISA, 1 to 3 threads with the same bits), gradients
against finite differences in float64, the modules against PyTorch, and argument errors."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, assert_same_error, directional_check, layouts, random

# batch 1, one column, odd and prime sizes, rows in more than one block of the column sums
# (at least 16 rows a block) and big enough (>= 16384 values) to go parallel.
SHAPES = [(1, 7), (5, 1), (3, 17), (33, 129), (300, 8), (64, 263), (1000, 31)]
AFFINE = ["both", "weight", "none"]


def _operands(rng, shape, dtype, affine):
    x = random(rng, shape, dtype, -3, 5)
    weight = random(rng, shape[1:], dtype, 0.5, 2) if affine != "none" else None
    bias = random(rng, shape[1:], dtype) if affine == "both" else None
    return x, weight, bias


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
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_forward_matches_reference(shape, dtype, affine, compiled, reference, rng,
                                              threads, isa):
    x, weight, bias = _operands(rng, shape, dtype, affine)
    for _, xl in layouts(x):
        got = _same_bits_at_each_thread_count(
            threads, lambda xl=xl: compiled.layer_norm_forward(xl, weight, bias, 1e-5))
        for a, b in zip(got, reference.layer_norm_forward(x, weight, bias, 1e-5)):
            assert a.dtype == dtype
            assert_close(a, b, dtype, shape[1])


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES)
def test_layer_norm_backward_matches_reference(shape, dtype, affine, compiled, reference, rng,
                                               threads, isa):
    x, weight, _ = _operands(rng, shape, dtype, affine)
    _, mean, rstd = reference.layer_norm_forward(x, weight)
    dy = random(rng, shape, dtype)
    expected = reference.layer_norm_backward(x, dy, mean, rstd, weight,
                                             weight_grad=weight is not None)
    for _, dyl in layouts(dy):
        got = _same_bits_at_each_thread_count(
            threads, lambda dyl=dyl: compiled.layer_norm_backward(
                x, dyl, mean, rstd, weight, weight_grad=weight is not None))
        assert got[1] is None if weight is None else got[1].shape == shape[1:]
        for a, b, summed in zip(got, expected, (shape[1], shape[0], shape[0])):
            if b is not None:
                assert a.dtype == dtype
                assert_close(a, b, dtype, summed)


@pytest.mark.parametrize("wanted", [(True, False, False), (False, True, False),
                                    (False, False, True), (False, True, True)])
def test_layer_norm_backward_computes_only_what_is_asked(wanted, compiled, reference, rng):
    x, weight, _ = _operands(rng, (40, 9), np.float64, "weight")
    _, mean, rstd = reference.layer_norm_forward(x, weight)
    dy = random(rng, x.shape, np.float64)
    full = reference.layer_norm_backward(x, dy, mean, rstd, weight)
    for backend in (compiled, reference):
        got = backend.layer_norm_backward(x, dy, mean, rstd, weight, *wanted)
        for want, a, b in zip(wanted, got, full):
            if want:
                assert_close(a, b, np.float64, x.shape[0])
            else:
                assert a is None


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("shape", [(1, 5), (4, 7), (40, 3)])
def test_layer_norm_gradients_match_finite_differences(shape, affine, compiled, rng):
    x, weight, bias = _operands(rng, shape, np.float64, affine)

    def grads(xx, ww, dy):
        _, mean, rstd = compiled.layer_norm_forward(xx, ww, bias)
        return compiled.layer_norm_backward(xx, dy, mean, rstd, ww,
                                            weight_grad=ww is not None)

    directional_check(lambda xx: compiled.layer_norm_forward(xx, weight, bias)[0],
                      lambda xx, dy: grads(xx, weight, dy)[0], x, rng)
    if weight is not None:
        directional_check(lambda ww: compiled.layer_norm_forward(x, ww, bias)[0],
                          lambda ww, dy: grads(x, ww, dy)[1], weight, rng)
    if bias is not None:
        directional_check(lambda bb: compiled.layer_norm_forward(x, weight, bb)[0],
                          lambda bb, dy: grads(x, weight, dy)[2], bias, rng)


@pytest.mark.parametrize("elementwise_affine", [True, False])
@pytest.mark.parametrize("shape, normalized", [((4, 6, 10), (10,)), ((3, 5, 4, 7), (4, 7)),
                                               ((1, 33), (33,))])
def test_layer_norm_module_matches_torch(shape, normalized, elementwise_affine, rng):
    torch = pytest.importorskip("torch")
    import pynn
    from pynn import nn

    x = random(rng, shape, np.float64, -2, 3)
    ours = nn.LayerNorm(normalized, elementwise_affine=elementwise_affine).double()
    theirs = torch.nn.LayerNorm(normalized, elementwise_affine=elementwise_affine).double()
    if elementwise_affine:
        w, b = random(rng, normalized, np.float64, 0.5, 2), random(rng, normalized, np.float64)
        with pynn.no_grad():
            ours.weight.copy_(pynn.tensor(w))
            ours.bias.copy_(pynn.tensor(b))
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
            theirs.bias.copy_(torch.from_numpy(b))
    dy = random(rng, shape, np.float64)
    px = pynn.tensor(x, requires_grad=True)
    tx = torch.from_numpy(x).requires_grad_(True)
    y, ty = ours(px), theirs(tx)
    (y * pynn.tensor(dy)).sum().backward()
    (ty * torch.from_numpy(dy)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
    if elementwise_affine:
        np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                   rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(),
                                   rtol=1e-9, atol=1e-9)


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
])
def test_layer_norm_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)


# ---------------------------------------------------------------------------------------------
# Batch norm

# batch 1, one channel, one value a channel (s = 1), a 1-d batch (N, C), odd sizes, and sizes
# that go parallel (>= 16384 values).
BN_SHAPES = [(1, 3, 5, 5), (4, 1, 3, 7), (7, 5), (3, 4, 1, 1), (2, 6, 9, 11), (16, 8, 16, 16),
             (5, 3, 17)]


def _bn_operands(rng, shape, dtype, affine):
    x = random(rng, shape, dtype, -3, 5)
    weight = random(rng, shape[1:2], dtype, 0.5, 2) if affine != "none" else None
    bias = random(rng, shape[1:2], dtype) if affine == "both" else None
    return x, weight, bias


def _values_a_channel(shape):
    return int(np.prod(shape)) // shape[1]


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_forward_matches_reference(shape, dtype, affine, compiled, reference, rng,
                                              threads, isa):
    x, weight, bias = _bn_operands(rng, shape, dtype, affine)
    for _, xl in layouts(x):
        got = _same_bits_at_each_thread_count(
            threads, lambda xl=xl: compiled.batch_norm_forward(xl, weight, bias, 1e-5))
        for a, b in zip(got, reference.batch_norm_forward(x, weight, bias, 1e-5)):
            assert a.dtype == dtype and a.shape == b.shape
            assert_close(a, b, dtype, _values_a_channel(shape))


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BN_SHAPES)
def test_batch_norm_backward_matches_reference(shape, dtype, affine, compiled, reference, rng,
                                               threads, isa):
    x, weight, _ = _bn_operands(rng, shape, dtype, affine)
    _, mean, _, rstd = reference.batch_norm_forward(x, weight)
    dy = random(rng, shape, dtype)
    expected = reference.batch_norm_backward(x, dy, mean, rstd, weight,
                                             weight_grad=weight is not None)
    for _, dyl in layouts(dy):
        got = _same_bits_at_each_thread_count(
            threads, lambda dyl=dyl: compiled.batch_norm_backward(
                x, dyl, mean, rstd, weight, weight_grad=weight is not None))
        for a, b in zip(got, expected):
            if b is None:
                assert a is None
            else:
                assert a.dtype == dtype and a.shape == b.shape
                assert_close(a, b, dtype, _values_a_channel(shape))


@pytest.mark.parametrize("wanted", [(True, False, False), (False, True, False),
                                    (False, False, True), (False, True, True)])
def test_batch_norm_backward_computes_only_what_is_asked(wanted, compiled, reference, rng):
    x, weight, _ = _bn_operands(rng, (6, 4, 5), np.float64, "weight")
    _, mean, _, rstd = reference.batch_norm_forward(x, weight)
    dy = random(rng, x.shape, np.float64)
    full = reference.batch_norm_backward(x, dy, mean, rstd, weight)
    for backend in (compiled, reference):
        got = backend.batch_norm_backward(x, dy, mean, rstd, weight, *wanted)
        for want, a, b in zip(wanted, got, full):
            if want:
                assert_close(a, b, np.float64, 30)
            else:
                assert a is None


@pytest.mark.parametrize("affine", AFFINE)
@pytest.mark.parametrize("shape", [(1, 2, 3), (4, 3), (3, 2, 2, 3)])
def test_batch_norm_gradients_match_finite_differences(shape, affine, compiled, rng):
    x, weight, bias = _bn_operands(rng, shape, np.float64, affine)

    def grads(xx, ww, dy):
        _, mean, _, rstd = compiled.batch_norm_forward(xx, ww, bias)
        return compiled.batch_norm_backward(xx, dy, mean, rstd, ww,
                                            weight_grad=ww is not None)

    directional_check(lambda xx: compiled.batch_norm_forward(xx, weight, bias)[0],
                      lambda xx, dy: grads(xx, weight, dy)[0], x, rng)
    if weight is not None:
        directional_check(lambda ww: compiled.batch_norm_forward(x, ww, bias)[0],
                          lambda ww, dy: grads(x, ww, dy)[1], weight, rng)
    if bias is not None:
        directional_check(lambda bb: compiled.batch_norm_forward(x, weight, bb)[0],
                          lambda bb, dy: grads(x, weight, dy)[2], bias, rng)


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
        w, b = random(rng, shape[1:2], np.float64, 0.5, 2), random(rng, shape[1:2], np.float64)
        with pynn.no_grad():
            ours.weight.copy_(pynn.tensor(w))
            ours.bias.copy_(pynn.tensor(b))
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
            theirs.bias.copy_(torch.from_numpy(b))
    for _ in range(2):  # running statistics after a step are compared too
        x, dy = random(rng, shape, np.float64, -2, 3), random(rng, shape, np.float64)
        ours.train(train)
        theirs.train(train)
        px = pynn.tensor(x, requires_grad=True)
        tx = torch.from_numpy(x).requires_grad_(True)
        y, ty = ours(px), theirs(tx)
        (y * pynn.tensor(dy)).sum().backward()
        (ty * torch.from_numpy(dy)).sum().backward()
        np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-9,
                                   atol=1e-9)
        np.testing.assert_allclose(px.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(ours.running_mean.numpy(), theirs.running_mean.numpy(),
                                   rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(ours.running_var.numpy(), theirs.running_var.numpy(),
                                   rtol=1e-12, atol=1e-12)
        if affine:
            np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(),
                                       rtol=1e-9, atol=1e-9)
            np.testing.assert_allclose(ours.bias.grad.numpy(), theirs.bias.grad.numpy(),
                                       rtol=1e-9, atol=1e-9)
            ours.zero_grad()
            theirs.zero_grad()


@pytest.mark.parametrize("kernel, args, exc, message", [
    ("batch_norm_forward", (np.ones(4, np.float32),), ValueError,
     "x must have at least 2 dimensions (N, C, *), got shape (4,)"),
    ("batch_norm_forward", (np.ones((2, 4, 3), np.float32), np.ones(3, np.float32)),
     ValueError, "weight must have shape (4,), got (3,)"),
    ("batch_norm_backward", (np.ones((2, 4)), np.ones((2, 3)), np.ones(4), np.ones(4)),
     ValueError, "dy must have shape (2, 4), got (2, 3)"),
    ("batch_norm_backward", (np.ones((2, 4)), np.ones((2, 4)), np.ones(4), np.ones(3)),
     ValueError, "rstd must have shape (4,), got (3,)"),
])
def test_batch_norm_rejects_bad_arguments(kernel, args, exc, message):
    assert_same_error(kernel, args, exc, message)
