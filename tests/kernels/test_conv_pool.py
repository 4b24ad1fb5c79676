"""conv2d_maxpool (a convolution whose output is max-pooled in the same call): compiled
against the reference and against the two kernels it fuses, the reference against finite
differences, and the errors both backends raise."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, directional_check, layouts, random
from hypothesis import given, settings
from hypothesis import strategies as st

from pynn import backend

# (x shape, out_channels, conv kernel, stride, padding, dilation): batch 1, odd and prime
# sizes, non-square windows, several images per column chunk (the 6 -> 16 layer's 8 x 8
# outputs), and the MNIST layers.
CONVS = [
    ((1, 1, 7, 7), 2, (3, 3), 1, 0, 1),
    ((2, 3, 11, 9), 5, (3, 2), (1, 2), (1, 0), 1),
    ((3, 2, 13, 12), 4, (3, 3), 1, 1, (2, 1)),
    ((4, 1, 28, 28), 30, (5, 5), 1, 0, 1),
    ((9, 6, 12, 12), 16, (5, 5), 1, 0, 1),
]
# (pool kernel, pool stride, pool padding): the common 2x2 and overlapping, padded and
# non-square windows.
POOLS = [(2, None, 0), (3, 2, 1), ((2, 3), (1, 2), (1, 0))]


def _case(rng, conv, dtype, bias=True):
    x_shape, out_channels, kernel, stride, padding, dilation = conv
    x = random(rng, x_shape, dtype)
    w = random(rng, (out_channels, x_shape[1]) + kernel, dtype)
    b = random(rng, (out_channels,), dtype) if bias else None
    return x, w, b, (stride, padding, dilation)


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("conv", CONVS)
def test_forward_matches_reference_and_the_unfused_kernels(conv, pool, dtype, relu, compiled,
                                                           reference, rng):
    x, w, b, geo = _case(rng, conv, dtype)
    want_y, want_idx = reference.conv2d_maxpool_forward(x, w, b, *geo, relu, *pool)
    # The unfused compiled kernels round the convolution alike, so they agree exactly.
    conv_y = compiled.conv2d_forward(x, w, b, *geo, relu)
    unfused_y, unfused_idx = compiled.max_pool2d_forward(conv_y, *pool)
    k = x.shape[1] * w.shape[2] * w.shape[3]
    for _, xv in layouts(x):
        y, idx = compiled.conv2d_maxpool_forward(xv, w, b, *geo, relu, *pool)
        assert idx.dtype == np.int64
        np.testing.assert_array_equal(y, unfused_y)
        np.testing.assert_array_equal(idx, unfused_idx)
        assert_close(y, want_y, dtype, reduction_len=k, magnitude=k)
    if dtype == np.float64:  # no near-ties that rounding could flip
        np.testing.assert_array_equal(idx, want_idx)


@pytest.mark.parametrize("flags", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", POOLS)
@pytest.mark.parametrize("conv", CONVS)
def test_backward_matches_reference(conv, pool, dtype, flags, compiled, reference, rng, isa):
    """Poolings that keep at most half of the convolution's outputs take the weight gradient
    from the pooled gradient alone (with per-ISA kernels); the dilated convolution and the
    random shapes below also take the dense path."""
    needs_input_grad, has_bias = flags
    x, w, b, geo = _case(rng, conv, dtype)
    y, idx = reference.conv2d_maxpool_forward(x, w, b, *geo, False, *pool)
    dy = random(rng, y.shape, dtype)
    want = reference.conv2d_maxpool_backward(x, w, dy, idx, *geo,
                                             needs_input_grad=needs_input_grad,
                                             has_bias=has_bias)
    pixels = y.shape[0] * y.shape[2] * y.shape[3]
    lengths = (w.shape[0] * w.shape[2] * w.shape[3], pixels, pixels)
    for (_, dyv), (_, idxv) in zip(layouts(dy), layouts(idx)):
        got = compiled.conv2d_maxpool_backward(x, w, dyv, idxv, *geo,
                                               needs_input_grad=needs_input_grad,
                                               has_bias=has_bias)
        for g, e, length in zip(got, want, lengths):
            if e is None:
                assert g is None
            else:
                assert_close(g, e, dtype, reduction_len=length, magnitude=length)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("pool", POOLS + [None])
@pytest.mark.parametrize("conv", CONVS)
def test_relu_output_masks_the_gradient(conv, pool, dtype, compiled, reference, rng, isa):
    """Given the forward's ReLU output, both backward kernels (pooled, and plain when pool is
    None) give the gradients of dy masked by relu_backward, in both backends."""
    x, w, b, geo = _case(rng, conv, dtype)
    if pool is None:
        y, idx = reference.conv2d_forward(x, w, b, *geo, True), None
    else:
        y, idx = reference.conv2d_maxpool_forward(x, w, b, *geo, True, *pool)
    y[rng.random(y.shape) < 0.3] = 0  # as the ReLU leaves them, on every shape
    assert (y == 0).any() and (y > 0).any()
    dy = random(rng, y.shape, dtype)

    def backward(kernels, dy_, **relu):
        if idx is None:
            return kernels.conv2d_backward(x, w, dy_, *geo, **relu)
        return kernels.conv2d_maxpool_backward(x, w, dy_, idx, *geo, **relu)

    want = backward(reference, reference.relu_backward(y, dy))
    lengths = (w.shape[0] * w.shape[2] * w.shape[3], dy[:, 0].size, dy[:, 0].size)
    for kernels in (compiled, reference):
        for _, yv in layouts(y):
            for g, e, length in zip(backward(kernels, dy, relu_y=yv), want, lengths):
                assert_close(g, e, dtype, reduction_len=length, magnitude=length)


@pytest.mark.parametrize("dtype", DTYPES)
def test_non_finite_gradients_stay_in_their_patches(dtype, compiled, reference, rng, isa):
    """The argmax kernels add whole vectors past the kernel's width; an infinite or NaN dy
    must not reach the neighbours of its patch through those lanes (inf * 0 = NaN)."""
    x, w, b, geo = _case(rng, CONVS[4], dtype)
    y, idx = reference.conv2d_maxpool_forward(x, w, b, *geo, False, 2)
    dy = random(rng, y.shape, dtype)
    dy[0, 3, 1, 1] = np.inf
    dy[2, 7, 3, 0] = np.nan
    dy[5, 0, 0, 3] = -np.inf
    got = compiled.conv2d_maxpool_backward(x, w, dy, idx, *geo)
    want = reference.conv2d_maxpool_backward(x, w, dy, idx, *geo)
    for g, e in zip(got, want):
        np.testing.assert_array_equal(np.isnan(g), np.isnan(e))
        np.testing.assert_array_equal(np.isinf(g), np.isinf(e))
        finite = np.isfinite(e)
        assert finite.sum() > e.size // 2  # the non-finite values stayed few
        assert_close(g[finite], e[finite], dtype, reduction_len=y.size, magnitude=y.size)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_threads_agree(n_threads, compiled, reference, rng, threads):
    """Batch larger than the team (chunks split among threads) and batch 1 (threaded GEMM)."""
    threads(n_threads)
    for batch in (1, 5):
        x = random(rng, (batch, 3, 17, 15), np.float32)
        w = random(rng, (8, 3, 3, 3), np.float32)
        b = random(rng, (8,), np.float32)
        y, idx = compiled.conv2d_maxpool_forward(x, w, b, 1, 1, 1, True, 2)
        want_y, _ = reference.conv2d_maxpool_forward(x, w, b, 1, 1, 1, True, 2)
        assert_close(y, want_y, np.float32, 27, 27)
        dy = random(rng, y.shape, np.float32)
        for g, e in zip(compiled.conv2d_maxpool_backward(x, w, dy, idx, 1, 1),
                        reference.conv2d_maxpool_backward(x, w, dy, idx, 1, 1)):
            assert_close(g, e, np.float32, batch * 255, batch * 255)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3), c=st.integers(1, 3), o=st.integers(1, 4),
    h=st.integers(2, 12), w=st.integers(2, 12), k=st.integers(1, 3), pad=st.integers(0, 1),
    pk=st.integers(1, 3), ps=st.integers(1, 3), relu=st.booleans(),
)
def test_matches_reference_on_random_shapes(n, c, o, h, w, k, pad, pk, ps, relu):
    compiled, reference = backend.get("compiled"), backend.get("reference")
    if min(h, w) + 2 * pad < k or min(h, w) + 2 * pad - k + 1 < pk:
        return  # a window does not fit: covered by the error tests
    rng = np.random.default_rng(n * 1000 + h * 10 + w)
    x = rng.standard_normal((n, c, h, w))
    wt = rng.standard_normal((o, c, k, k))
    b = rng.standard_normal(o)
    pool = (pk, ps, pk // 2)
    y, idx = compiled.conv2d_maxpool_forward(x, wt, b, 1, pad, 1, relu, *pool)
    want_y, want_idx = reference.conv2d_maxpool_forward(x, wt, b, 1, pad, 1, relu, *pool)
    assert_close(y, want_y, np.float64, c * k * k)
    np.testing.assert_array_equal(idx, want_idx)
    dy = rng.standard_normal(y.shape)
    for g, e in zip(compiled.conv2d_maxpool_backward(x, wt, dy, idx, 1, pad),
                    reference.conv2d_maxpool_backward(x, wt, dy, idx, 1, pad)):
        assert_close(g, e, np.float64, y.size)


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_gradcheck(name, rng):
    kernels = backend.get(name)
    x = rng.standard_normal((2, 3, 9, 8))
    w = rng.standard_normal((4, 3, 3, 2))
    b = rng.standard_normal(4)
    geo = ((1, 1), (1, 0), (1, 2))
    pool = (3, 2, 1)

    def forward(x_, w_, b_):
        return kernels.conv2d_maxpool_forward(x_, w_, b_, *geo, False, *pool)[0]

    def backward(x_, w_, dy):
        return kernels.conv2d_maxpool_backward(x_, w_, dy, forward_idx(x_, w_), *geo)

    def forward_idx(x_, w_):
        return kernels.conv2d_maxpool_forward(x_, w_, b, *geo, False, *pool)[1]

    directional_check(lambda x_: forward(x_, w, b), lambda x_, dy: backward(x_, w, dy)[0], x,
                      rng)
    directional_check(lambda w_: forward(x, w_, b), lambda w_, dy: backward(x, w_, dy)[1], w,
                      rng)
    directional_check(lambda b_: forward(x, w, b_), lambda b_, dy: backward(x, w, dy)[2], b,
                      rng)


@pytest.mark.parametrize("name", backend.BACKENDS)
class TestErrors:
    x = np.zeros((2, 1, 6, 6))
    w = np.zeros((3, 1, 3, 3))

    def test_pool_padding_more_than_half_its_window(self, name):
        k = backend.get(name)
        with pytest.raises(ValueError, match=r"conv2d_maxpool_forward: pool_padding \(2, 2\) "
                                             r"must be at most half of pool_kernel \(3, 3\)"):
            k.conv2d_maxpool_forward(self.x, self.w, pool_kernel=3, pool_padding=2)

    def test_pool_window_larger_than_the_convolution_output(self, name):
        k = backend.get(name)
        with pytest.raises(ValueError, match=r"conv2d_maxpool_forward: kernel .*larger than the "
                                             r"padded input \(4 \+ 2\*0\)"):
            k.conv2d_maxpool_forward(self.x, self.w, pool_kernel=5)

    def test_pool_stride_must_be_positive(self, name):
        k = backend.get(name)
        with pytest.raises(ValueError, match="conv2d_maxpool_forward: pool_stride must be >= 1"):
            k.conv2d_maxpool_forward(self.x, self.w, pool_stride=0)

    def test_dy_and_indices_checked(self, name):
        k = backend.get(name)
        y, idx = k.conv2d_maxpool_forward(self.x, self.w)
        with pytest.raises(ValueError, match=r"conv2d_maxpool_backward: dy must have shape "
                                             r"\(2, 3, \.\.\.\) for x \(2, 1, 6, 6\) and w "
                                             r"\(3, 1, 3, 3\), got \(2, 4, 2, 2\)"):
            k.conv2d_maxpool_backward(self.x, self.w, np.zeros((2, 4, 2, 2)), idx)
        with pytest.raises(TypeError, match="conv2d_maxpool_backward: indices must be an int64 "
                                            "ndarray, got int32"):
            k.conv2d_maxpool_backward(self.x, self.w, y, idx.astype(np.int32))
        with pytest.raises(ValueError, match=r"conv2d_maxpool_backward: dy must have the "
                                             r"shape of indices|indices must have the shape"):
            k.conv2d_maxpool_backward(self.x, self.w, y, idx[:, :, :1])

    def test_relu_output_checked(self, name):
        k = backend.get(name)
        y, idx = k.conv2d_maxpool_forward(self.x, self.w, relu=True)
        with pytest.raises(ValueError, match=r"conv2d_maxpool_backward: relu_y must have the "
                                             r"shape of dy \(2, 3, 2, 2\), got \(2, 3, 2, 1\)"):
            k.conv2d_maxpool_backward(self.x, self.w, y, idx, relu_y=y[..., :1])
        with pytest.raises(TypeError, match="conv2d_maxpool_backward: .*float32"):
            k.conv2d_maxpool_backward(self.x, self.w, y, idx, relu_y=y.astype(np.float32))
        dy = np.zeros((2, 3, 4, 4))
        with pytest.raises(ValueError, match=r"conv2d_backward: relu_y must have the shape of "
                                             r"dy \(2, 3, 4, 4\), got \(2, 3, 2, 2\)"):
            k.conv2d_backward(self.x, self.w, dy, relu_y=y)

    @pytest.mark.parametrize("needs_input_grad", [True, False])
    @pytest.mark.parametrize("bad", [-1, 16])
    def test_indices_outside_the_convolution_output(self, name, bad, needs_input_grad):
        """A 4 x 4 output plane: index 16 is one past it, -1 one before."""
        k = backend.get(name)
        y, idx = k.conv2d_maxpool_forward(self.x, self.w)
        idx[1, 2, 1, 0] = bad
        with pytest.raises(ValueError, match=r"conv2d_maxpool_backward: indices out of range "
                                             r"for x_shape \(2, 3, 4, 4\)"):
            k.conv2d_maxpool_backward(self.x, self.w, y, idx,
                                      needs_input_grad=needs_input_grad)
