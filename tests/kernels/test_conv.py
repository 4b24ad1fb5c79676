"""im2col / col2im / conv2d: compiled against the reference, the reference against finite
differences, and the argument errors both raise."""

import numpy as np
import pytest
from helpers import DTYPES, assert_close, directional_check, layouts, random
from hypothesis import given, settings
from hypothesis import strategies as st

import pynn
from pynn import backend

# (x shape, out_channels, kernel, stride, padding, dilation): odd and prime sizes, batch 1,
# non-square geometry, a pointwise (1x1) convolution, the MNIST layers, and rows of stride 2
# long enough for im2col's and col2im's vector steps (a downsampling 3x3 of a CIFAR-sized
# image, 16 outputs a row; an odd width with a vector step and a ragged end), and a filter of
# 630 taps, deeper than the image-read weight gradient takes, whose forward still reads the
# image.
GEOMETRIES = [
    ((1, 1, 5, 5), 1, (3, 3), 1, 0, 1),
    ((2, 3, 7, 11), 5, (3, 2), (2, 1), (1, 0), 1),
    ((3, 2, 13, 9), 4, (5, 3), 1, (2, 1), (2, 1)),
    ((1, 4, 9, 8), 3, (2, 4), (3, 2), (1, 2), (1, 2)),
    ((2, 5, 6, 7), 6, (1, 1), 1, 0, 1),
    ((2, 3, 6, 7), 2, (1, 1), 2, 1, 1),
    ((4, 1, 28, 28), 30, (5, 5), 1, 0, 1),
    ((3, 6, 12, 12), 16, (5, 5), 1, 0, 1),
    ((2, 8, 14, 14), 7, (3, 3), 1, 1, 1),
    ((2, 16, 32, 32), 8, (3, 3), 2, 1, 1),
    ((1, 3, 13, 23), 4, (3, 3), (1, 2), 1, 1),
    ((2, 70, 6, 9), 5, (3, 3), 1, 1, 1),
    # deep layers on small planes, whose forward and input gradient put output channels in the
    # vector lanes (conv_oc_fwd.h), row by row without the kernel rows in the padding (7x7; the
    # input gradient too), stride 2 in height, in both axes (a last block of channels part
    # full; dilated and padded by 2), rows of several blocks, output rows whose window lies
    # wholly in the padding
    ((2, 64, 7, 7), 64, (3, 3), 1, 1, 1),
    ((2, 48, 9, 6), 64, (3, 3), (2, 1), 1, 1),
    ((2, 40, 9, 9), 36, (3, 3), 2, 1, 1),
    ((3, 33, 11, 10), 34, (3, 3), 2, 2, 2),
    ((2, 32, 8, 60), 32, (3, 3), 2, 1, 1),
    ((2, 32, 5, 26), 64, (3, 3), 1, 2, 2),
    ((2, 20, 2, 9), 40, (3, 3), 1, (3, 1), 1),
]


def _weights(rng, x_shape, out_channels, kernel, dtype):
    return random(rng, (out_channels, x_shape[1]) + kernel, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_im2col_col2im_match_reference(geometry, dtype, compiled, reference, rng):
    x_shape, _, kernel, stride, padding, dilation = geometry
    x = random(rng, x_shape, dtype)
    for _, xv in layouts(x):
        cols = compiled.im2col(xv, kernel, stride, padding, dilation)
        np.testing.assert_array_equal(cols, reference.im2col(x, kernel, stride, padding, dilation))
    c = random(rng, cols.shape, dtype)
    for _, cv in layouts(c):
        got = compiled.col2im(cv, x_shape, kernel, stride, padding, dilation)
        want = reference.col2im(c, x_shape, kernel, stride, padding, dilation)
        assert_close(got, want, dtype, reduction_len=kernel[0] * kernel[1])


@pytest.mark.parametrize("name", backend.BACKENDS)
def test_col2im_is_the_adjoint_of_im2col(name, rng):
    kernels = backend.get(name)
    x_shape, kernel, stride, padding, dilation = (2, 3, 9, 10), (3, 4), (2, 1), (1, 2), (2, 1)
    x = rng.standard_normal(x_shape)
    cols = kernels.im2col(x, kernel, stride, padding, dilation)
    c = rng.standard_normal(cols.shape)
    back = kernels.col2im(c, x_shape, kernel, stride, padding, dilation)
    assert np.isclose(np.sum(cols * c), np.sum(x * back))


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv2d_forward_matches_reference(geometry, dtype, bias, relu, compiled, reference,
                                          rng, isa):
    x_shape, out_channels, kernel, stride, padding, dilation = geometry
    x = random(rng, x_shape, dtype)
    w = _weights(rng, x_shape, out_channels, kernel, dtype)
    b = random(rng, (out_channels,), dtype) if bias else None
    want = reference.conv2d_forward(x, w, b, stride, padding, dilation, relu)
    k = x_shape[1] * kernel[0] * kernel[1]
    for _, xv in layouts(x):
        got = compiled.conv2d_forward(xv, w, b, stride, padding, dilation, relu)
        assert_close(got, want, dtype, reduction_len=k, magnitude=k)


@pytest.mark.parametrize("flags", [(True, True), (False, True), (True, False)])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", GEOMETRIES)
def test_conv2d_backward_matches_reference(geometry, dtype, flags, compiled, reference, rng,
                                           isa):
    needs_input_grad, has_bias = flags
    x_shape, out_channels, kernel, stride, padding, dilation = geometry
    x = random(rng, x_shape, dtype)
    w = _weights(rng, x_shape, out_channels, kernel, dtype)
    y_shape = reference.conv2d_forward(x, w, None, stride, padding, dilation).shape
    dy = random(rng, y_shape, dtype)
    want = reference.conv2d_backward(x, w, dy, stride, padding, dilation,
                                     needs_input_grad=needs_input_grad, has_bias=has_bias)
    for _, dyv in layouts(dy):
        got = compiled.conv2d_backward(x, w, dyv, stride, padding, dilation,
                                       needs_input_grad=needs_input_grad, has_bias=has_bias)
        pixels = y_shape[0] * y_shape[2] * y_shape[3]
        for g, e, length in zip(got, want, (out_channels * kernel[0] * kernel[1], pixels,
                                            pixels)):
            if e is None:
                assert g is None
            else:
                assert_close(g, e, dtype, reduction_len=length, magnitude=length)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_conv2d_threads_agree(n_threads, compiled, reference, rng, threads):
    """Batch larger than the team (images split among threads) and batch 1 (threaded GEMM)."""
    threads(n_threads)
    for batch in (1, 5):
        x = random(rng, (batch, 3, 17, 15), np.float32)
        w = random(rng, (8, 3, 3, 3), np.float32)
        b = random(rng, (8,), np.float32)
        assert_close(compiled.conv2d_forward(x, w, b, 1, 1),
                     reference.conv2d_forward(x, w, b, 1, 1),
                     np.float32, 27, 27)
        dy = random(rng, (batch, 8, 17, 15), np.float32)
        for g, e in zip(compiled.conv2d_backward(x, w, dy, 1, 1),
                        reference.conv2d_backward(x, w, dy, 1, 1)):
            assert_close(g, e, np.float32, batch * 255, batch * 255)


@settings(max_examples=25, deadline=None)
@given(
    n=st.integers(1, 3), c=st.integers(1, 4), o=st.integers(1, 5),
    h=st.integers(1, 12), w=st.integers(1, 12),
    kh=st.integers(1, 4), kw=st.integers(1, 4),
    sh=st.integers(1, 3), sw=st.integers(1, 3),
    ph=st.integers(0, 2), pw=st.integers(0, 2),
    dh=st.integers(1, 2), dw=st.integers(1, 2),
)
def test_conv2d_matches_reference_on_random_shapes(n, c, o, h, w, kh, kw, sh, sw, ph, pw, dh,
                                                   dw):
    compiled, reference = backend.get("compiled"), backend.get("reference")
    if h + 2 * ph < dh * (kh - 1) + 1 or w + 2 * pw < dw * (kw - 1) + 1:
        return  # the window does not fit: covered by the error tests
    rng = np.random.default_rng(n * 1000 + h * 10 + w)
    x = rng.standard_normal((n, c, h, w)).astype(np.float32)
    wt = rng.standard_normal((o, c, kh, kw)).astype(np.float32)
    b = rng.standard_normal(o).astype(np.float32)
    geo = ((sh, sw), (ph, pw), (dh, dw))
    k = c * kh * kw
    want = reference.conv2d_forward(x, wt, b, *geo)
    assert_close(compiled.conv2d_forward(x, wt, b, *geo), want, np.float32, k, 3 * k)
    dy = rng.standard_normal(want.shape).astype(np.float32)
    for g, e in zip(compiled.conv2d_backward(x, wt, dy, *geo),
                    reference.conv2d_backward(x, wt, dy, *geo)):
        assert_close(g, e, np.float32, want.size, 3 * want.size)


@pytest.mark.parametrize("geo", [((2, 1), (1, 1), (1, 2)), ((1, 1), (1, 1), (1, 2))])
@pytest.mark.parametrize("name", backend.BACKENDS)
def test_conv2d_gradcheck(name, geo, rng):
    """Strided, and with stride 1 and 4 input channels (the input gradient read from dy)."""
    kernels = backend.get(name)
    c = 3 if geo[0][0] == 2 else 4
    x = rng.standard_normal((2, c, 7, 6))
    w = rng.standard_normal((4, c, 3, 2))
    b = rng.standard_normal(4)
    directional_check(lambda x_: kernels.conv2d_forward(x_, w, b, *geo),
                      lambda x_, dy: kernels.conv2d_backward(x_, w, dy, *geo)[0], x, rng)
    directional_check(lambda w_: kernels.conv2d_forward(x, w_, b, *geo),
                      lambda w_, dy: kernels.conv2d_backward(x, w_, dy, *geo)[1], w, rng)
    directional_check(lambda b_: kernels.conv2d_forward(x, w, b_, *geo),
                      lambda b_, dy: kernels.conv2d_backward(x, w, dy, *geo)[2], b, rng)


@pytest.mark.parametrize("case", [
    ((2, 3, 11, 9), (5, 3, 3, 4), {"stride": (2, 1), "padding": (1, 2), "dilation": (1, 2)}),
    ((3, 8, 10, 9), (6, 8, 3, 3), {"stride": 1, "padding": 1, "dilation": 1}),
])
def test_conv2d_matches_torch(case, rng):
    torch = pytest.importorskip("torch")
    compiled = backend.get("compiled")
    x_shape, w_shape, geo = case
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(w_shape[0])
    tx, tw, tb = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    ty = torch.nn.functional.conv2d(tx, tw, tb, **geo)
    dy = rng.standard_normal(tuple(ty.shape))
    ty.backward(torch.tensor(dy))
    y = compiled.conv2d_forward(x, w, b, geo["stride"], geo["padding"], geo["dilation"])
    np.testing.assert_allclose(y, ty.detach().numpy(), rtol=1e-10, atol=1e-10)
    grads = compiled.conv2d_backward(x, w, dy, geo["stride"], geo["padding"], geo["dilation"])
    for g, t in zip(grads, (tx, tw, tb)):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", backend.BACKENDS)
class TestConvErrors:
    def test_channel_mismatch_names_both_shapes(self, name):
        k = backend.get(name)
        x, w = np.zeros((1, 3, 8, 8), np.float32), np.zeros((4, 2, 3, 3), np.float32)
        with pytest.raises(ValueError, match=r"conv2d_forward: w expects 2 input channels.*"
                                             r"\(4, 2, 3, 3\).*x has 3.*\(1, 3, 8, 8\)"):
            k.conv2d_forward(x, w)

    def test_kernel_larger_than_padded_input(self, name):
        k = backend.get(name)
        x, w = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 7, 3), np.float32)
        with pytest.raises(ValueError, match=r"conv2d_forward: kernel .*larger than the padded "
                                             r"input \(4 \+ 2\*1\)"):
            k.conv2d_forward(x, w, padding=1)

    @pytest.mark.parametrize("stride", [0, -1, (1, 0)])
    def test_stride_must_be_positive(self, name, stride):
        k = backend.get(name)
        x, w = np.zeros((1, 1, 4, 4), np.float32), np.zeros((1, 1, 3, 3), np.float32)
        with pytest.raises(ValueError, match="conv2d_forward: stride must be >= 1"):
            k.conv2d_forward(x, w, stride=stride)

    def test_wrong_rank(self, name):
        k = backend.get(name)
        with pytest.raises(ValueError, match=r"im2col: x must have 4 dimensions \(N, C, H, W\), "
                                             r"got shape \(3, 8, 8\)"):
            k.im2col(np.zeros((3, 8, 8)), 3)

    def test_integer_and_mixed_dtypes(self, name):
        k = backend.get(name)
        w = np.zeros((1, 1, 3, 3), np.float32)
        with pytest.raises(TypeError, match="conv2d_forward: x must be float32 or float64, "
                                            "got int64"):
            k.conv2d_forward(np.zeros((1, 1, 4, 4), np.int64), w)
        with pytest.raises(TypeError, match="conv2d_forward: w has dtype float32 but x has "
                                            "float64"):
            k.conv2d_forward(np.zeros((1, 1, 4, 4)), w)

    def test_dy_shape_checked(self, name):
        k = backend.get(name)
        x, w = np.zeros((2, 1, 5, 5)), np.zeros((3, 1, 3, 3))
        with pytest.raises(ValueError, match=r"conv2d_backward: dy must have shape "
                                             r"\(2, 3, 3, 3\), got \(2, 3, 4, 4\)"):
            k.conv2d_backward(x, w, np.zeros((2, 3, 4, 4)))

    def test_col2im_checks_cols_shape(self, name):
        k = backend.get(name)
        with pytest.raises(ValueError,
                           match=r"col2im: cols must have shape \(1, 4, 4\), got \(1, 9, 5\)"):
            k.col2im(np.zeros((1, 9, 5)), (1, 1, 3, 3), 2)


def test_conv2d_uses_active_thread_count(compiled, threads):
    """Smoke test for the thread plumbing: 2 threads and 1 thread give the same numbers."""
    x = np.random.default_rng(0).standard_normal((6, 2, 9, 9)).astype(np.float32)
    w = np.ones((3, 2, 3, 3), np.float32)
    threads(1)
    one = compiled.conv2d_forward(x, w)
    threads(2)
    assert pynn.get_num_threads() == 2
    np.testing.assert_allclose(compiled.conv2d_forward(x, w), one, rtol=1e-6, atol=1e-5)


# Stride 1 along the width: the weight gradient (and, for small filters, the forward) read
# the image directly instead of its column matrix. Output widths that are not a whole number
# of vectors (5, 11, 13), padding, a row stride of 2, dilation, and more than 3 x 4 channels
# x taps, so that every ragged block shape runs. With stride 1 the forward runs rows of the
# padded width (flat) when that takes fewer vectors, and the input gradient is the forward's
# kernel run on dy when its padding keeps it about as cheap as W^T dY (the last three: 4 and
# 10 input channels, ragged fours of them, dilation with asymmetric padding, odd widths).
DIRECT_GEOMETRIES = [
    ((3, 2, 9, 9), 7, (3, 3), 1, 1, 1),
    ((2, 3, 15, 13), 5, (3, 1), (2, 1), (0, 1), (1, 2)),
    ((5, 1, 16, 15), 13, (5, 5), 1, 2, 1),
    ((1, 4, 6, 20), 2, (2, 3), 1, 0, 1),
    ((3, 4, 11, 13), 6, (3, 3), 1, 1, 1),
    ((2, 4, 12, 9), 5, (3, 2), 1, (2, 1), (2, 1)),
    ((2, 10, 7, 6), 3, (3, 3), 1, 1, 1),
    # Larger images, whose weight gradient (with AVX-512) is the flat kernel's: one long row
    # over the padded image's width, in blocks of 4 output channels x 6 taps with ragged
    # ones (9 channels, 75 taps), a padding wider than the window reaches (1 x 3 with 2),
    # dilation, and widths that are no whole number of vectors.
    ((3, 8, 20, 21), 9, (3, 3), 1, 1, 1),
    ((2, 5, 19, 30), 7, (3, 5), 1, (1, 2), 1),
    ((2, 6, 24, 17), 5, (3, 3), 1, 2, 2),
    ((2, 7, 18, 20), 4, (1, 3), 1, (1, 2), 1),
    # The flat weight gradient and the input gradient read from dy, sharing one padded dy:
    # batch 1, dilation, a 5 x 3 window with uneven padding; and a padding of 2 on a 3 x 3
    # window (dy unpadded), where the flat rows would run into the next channel and each
    # gradient lays out dy itself.
    ((1, 8, 20, 23), 6, (3, 3), 1, 1, 1),
    ((2, 8, 22, 21), 5, (3, 3), 1, 2, 2),
    ((2, 8, 21, 19), 7, (5, 3), 1, (2, 1), 1),
    ((2, 6, 20, 21), 5, (3, 3), 1, 2, 1),
    # "Same" padding with planes of whole vectors, over batches of more than the flat
    # kernel's 8 images a call; a 1 x 3 window (no zero rows between the padded channels);
    # 5 x 5.
    ((9, 16, 16, 16), 5, (3, 3), 1, 1, 1),
    ((9, 32, 8, 16), 5, (1, 3), 1, (0, 1), 1),
    ((3, 12, 16, 8), 4, (5, 5), 1, 2, 1),
    # the weight gradient with output channels in the lanes (dw_oc), dy masked by the ReLU
    # first; with stride 2 only when the input gradient is not asked for
    ((3, 40, 9, 9), 36, (3, 3), 1, 1, 1),
    ((3, 40, 9, 9), 36, (3, 3), 2, 1, 1),
]


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", DIRECT_GEOMETRIES)
def test_conv2d_direct_paths_match_reference(geometry, dtype, relu, compiled, reference, rng,
                                             isa):
    x_shape, out_channels, kernel, stride, padding, dilation = geometry
    x = random(rng, x_shape, dtype)
    w = _weights(rng, x_shape, out_channels, kernel, dtype)
    b = random(rng, (out_channels,), dtype)
    k = x_shape[1] * kernel[0] * kernel[1]
    y = compiled.conv2d_forward(x, w, b, stride, padding, dilation, relu)
    want_y = reference.conv2d_forward(x, w, b, stride, padding, dilation, relu)
    assert_close(y, want_y, dtype, reduction_len=k, magnitude=k)
    dy = random(rng, y.shape, dtype)
    relu_y = want_y if relu else None
    want = reference.conv2d_backward(x, w, dy, stride, padding, dilation, relu_y=relu_y)
    pixels = y.shape[0] * y.shape[2] * y.shape[3]
    for needs_input_grad in (True, False):
        got = compiled.conv2d_backward(x, w, dy, stride, padding, dilation,
                                       needs_input_grad=needs_input_grad, relu_y=relu_y)
        for g, e, length in zip(got, want, (out_channels * k, pixels, pixels)):
            if g is not None:
                assert_close(g, e, dtype, reduction_len=length, magnitude=length)


# 3x3 stride-1 layers with 16 or more channels on both sides and outputs 16 or more wide (or
# narrower ones with deeper filters: pynn_winograd_pays): the
# forward, and the input gradient (a convolution of dy, as wide as the input), are Winograd's
# F(2x2, 3x3) (csrc/winograd.c). Batch 1; odd output heights and widths
# (the last tile row and column half outside); no, asymmetric and wide padding; many small
# images (a block of several, split among threads); an image of more tiles than a block (blocks
# of whole tile rows); and the MNIST-sized 32 -> 64 layer.
WINOGRAD_GEOMETRIES = [
    ((1, 16, 16, 16), 16, 1),
    ((2, 17, 19, 23), 18, 0),
    ((3, 16, 21, 18), 20, 2),
    ((2, 16, 16, 40), 16, (1, 3)),
    ((21, 16, 14, 16), 17, 1),
    ((1, 16, 70, 66), 16, 1),
    ((3, 32, 28, 28), 64, 1),
    # outputs narrower than 16 (deep filters; whole tiles, or odd from 512 channels): 8x8, 6x6,
    # 5x5, and many 4x4 images (blocks of a few images, shared among threads)
    ((3, 64, 8, 8), 64, 1),
    ((2, 96, 6, 6), 100, 1),
    ((1, 512, 5, 5), 520, 1),
    ((9, 128, 4, 4), 136, 1),
]


@pytest.mark.parametrize("relu", [False, True])
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("geometry", WINOGRAD_GEOMETRIES)
def test_conv2d_winograd_forward_matches_reference(geometry, dtype, relu, compiled, reference,
                                                   rng, isa):
    x_shape, out_channels, padding = geometry
    x = random(rng, x_shape, dtype)
    w = _weights(rng, x_shape, out_channels, (3, 3), dtype)
    b = random(rng, (out_channels,), dtype)
    if relu:
        x[0, 0, 0, :3] = np.nan  # ReLU keeps NaN, as the other paths do
    k = x_shape[1] * 9
    y = compiled.conv2d_forward(x, w, b, 1, padding, 1, relu)
    want = reference.conv2d_forward(x, w, b, 1, padding, 1, relu)
    assert y.shape == want.shape
    np.testing.assert_array_equal(np.isnan(y), np.isnan(want))
    finite = ~np.isnan(want)
    # The transforms add up to 4 x 4 inputs and sums before and after the products: a few more
    # roundings than the direct sum's, in magnitude up to 4 times the inputs'.
    assert_close(np.where(finite, y, 0), np.where(finite, want, 0), dtype,
                 reduction_len=4 * k, magnitude=4 * k)
    if relu:
        return
    # The input gradient is the same kind of convolution of dy (o channels in, c out), and the
    # weight gradient sums the products' gradients over the tiles (with and without dx).
    dy = random(rng, y.shape, dtype)
    expected = reference.conv2d_backward(x, w, dy, 1, padding)
    pixels = y.shape[0] * y.shape[2] * y.shape[3]
    for needs_input_grad in (True, False):
        got = compiled.conv2d_backward(x, w, dy, 1, padding, needs_input_grad=needs_input_grad)
        assert (got[0] is None) == (not needs_input_grad)
        for g, e, length in zip(got, expected, (4 * out_channels * 9, 4 * pixels, pixels)):
            if g is not None:
                assert_close(g, e, dtype, reduction_len=length, magnitude=length)


@pytest.mark.parametrize("geometry", WINOGRAD_GEOMETRIES[4:6] + WINOGRAD_GEOMETRIES[-1:])
def test_conv2d_winograd_same_bits_at_any_thread_count(geometry, compiled, rng, threads):
    """Every tile is computed the same way whichever thread's block holds it; the input
    gradient too, where the batch gives every thread images (with fewer images than threads
    it takes the threaded GEMM path, which may round differently at another count); the
    weight gradient repeats at each count."""
    x_shape, out_channels, padding = geometry
    x = random(rng, x_shape, np.float32)
    w = _weights(rng, x_shape, out_channels, (3, 3), np.float32)
    b = random(rng, (out_channels,), np.float32)
    dy = random(rng, compiled.conv2d_forward(x, w, b, 1, padding).shape, np.float32)

    def call():
        y = compiled.conv2d_forward(x, w, b, 1, padding)
        if x_shape[0] < 4:
            return (y,)
        return y, compiled.conv2d_backward(x, w, dy, 1, padding)[0]

    threads(1)
    first = call()
    for n in (2, 3, 4):
        threads(n)
        for _ in range(5):
            for got, want in zip(call(), first):
                np.testing.assert_array_equal(got, want)
        # The weight gradient adds the threads' sums in thread order: the same bits at one
        # count.
        dw = compiled.conv2d_backward(x, w, dy, 1, padding, needs_input_grad=False)[1]
        for _ in range(5):
            again = compiled.conv2d_backward(x, w, dy, 1, padding, needs_input_grad=False)[1]
            np.testing.assert_array_equal(again, dw)


@pytest.mark.parametrize("c, h, width", [(2, 7, 13), (8, 20, 22)])
def test_conv2d_weight_gradient_ignores_values_outside_each_tap(c, h, width, compiled, reference,
                                                                 isa):
    """An infinite input in the last column reaches only the taps whose windows cover it: the
    vector lanes past a row's end must not multiply it into the others (not even as 0 * inf),
    nor, in the flat weight gradient (the larger image), the zeros between dy's rows."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, c, h, width)).astype(np.float32)
    x[:, :, :, -1] = np.inf
    w = rng.standard_normal((5, c, 3, 3)).astype(np.float32)
    dy = rng.standard_normal((2, 5, h - 2, width - 2)).astype(np.float32)
    _, dw, _ = compiled.conv2d_backward(x, w, dy, needs_input_grad=False)
    with np.errstate(invalid="ignore"):  # the reference's NaN in the taps that cover it
        _, want, _ = reference.conv2d_backward(x, w, dy, needs_input_grad=False)
    assert np.isfinite(dw[..., :2]).all()
    pixels = 2 * (h - 2) * (width - 2)
    assert_close(dw[..., :2], want[..., :2], np.float32, pixels, pixels)


@pytest.mark.parametrize("n_threads", [1, 2])
def test_conv2d_direct_paths_repeat_exactly(n_threads, compiled, reference, rng, threads):
    """The per-thread partial sums are added in a fixed order: repeated calls agree bit for bit,
    and 1 and 2 threads agree with the reference (batches 1 and 7: one image per thread or
    ragged shares)."""
    threads(n_threads)
    # 8 channels: the input gradient read from dy; 20 x 21: the flat weight gradient (with
    # it, from one padded dy); batch 19: more than one call of the flat kernel a thread
    for batch, c, h, width in ((1, 3, 11, 10), (7, 3, 11, 10), (7, 8, 11, 10), (7, 8, 20, 21),
                               (19, 8, 20, 21)):
        x = random(rng, (batch, c, h, width), np.float32)
        w = random(rng, (9, c, 3, 3), np.float32)
        b = random(rng, (9,), np.float32)
        y = compiled.conv2d_forward(x, w, b, 1, 1)
        dy = random(rng, y.shape, np.float32)
        first = compiled.conv2d_backward(x, w, dy, 1, 1)
        for _ in range(3):
            np.testing.assert_array_equal(compiled.conv2d_forward(x, w, b, 1, 1), y)
            for g, e in zip(compiled.conv2d_backward(x, w, dy, 1, 1), first):
                np.testing.assert_array_equal(g, e)
        assert_close(y, reference.conv2d_forward(x, w, b, 1, 1), np.float32, 9 * c, 9 * c)
        for g, e in zip(first, reference.conv2d_backward(x, w, dy, 1, 1)):
            assert_close(g, e, np.float32, batch * h * width, batch * h * width)
