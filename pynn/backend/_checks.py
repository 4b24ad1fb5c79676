"""Argument checks shared by both backends, so that both reject bad input with the same
message (the kernel's name, what was expected and what was received), and the little
bookkeeping both do around a kernel (window geometry, loss-reduction weights)."""

import operator

import numpy as np

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_F32, _F64 = FLOAT_DTYPES


def float_arrays(kernel, **arrays):
    """Check that every named argument is a float32/float64 ndarray of one dtype.

    Returns the common dtype. ``None`` values are skipped (optional arguments).
    """
    # Every kernel call passes through here, so the common case is kept to identity tests
    # (native float dtypes are singletons); anything else takes the slow path for its message.
    dtype = None
    for arr in arrays.values():
        if arr is None:
            continue
        if type(arr) is not np.ndarray or (arr.dtype is not _F32 and arr.dtype is not _F64):
            return _float_arrays_slow(kernel, arrays)
        if dtype is None:
            dtype = arr.dtype
        elif arr.dtype is not dtype:
            return _float_arrays_slow(kernel, arrays)
    return dtype


def _float_arrays_slow(kernel, arrays):
    dtype = None
    first = None
    for name, arr in arrays.items():
        if arr is None:
            continue
        if not isinstance(arr, np.ndarray):
            raise TypeError(f"{kernel}: {name} must be a numpy.ndarray, got {type(arr).__name__}")
        if arr.dtype not in FLOAT_DTYPES:
            raise TypeError(f"{kernel}: {name} must be float32 or float64, got {arr.dtype}")
        if dtype is None:
            dtype, first = arr.dtype, name
        elif arr.dtype != dtype:
            raise TypeError(
                f"{kernel}: {name} has dtype {arr.dtype} but {first} has {dtype}; "
                "mixed dtypes are not converted"
            )
    return dtype


def rank(kernel, name, arr, ndim, layout=""):
    if arr.ndim != ndim:
        what = f" {layout}" if layout else ""
        raise ValueError(
            f"{kernel}: {name} must have {ndim} dimensions{what}, got shape {arr.shape}"
        )


def shape(kernel, name, arr, expected):
    if tuple(arr.shape) != tuple(expected):
        raise ValueError(
            f"{kernel}: {name} must have shape {tuple(expected)}, got {tuple(arr.shape)}"
        )


def output(kernel, out, expected_shape, dtype, *inputs):
    """Check a caller-supplied ``out`` array: shape, dtype, writeable, aligned, no overlap."""
    if not isinstance(out, np.ndarray):
        raise TypeError(f"{kernel}: out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"{kernel}: out must have dtype {dtype}, got {out.dtype}")
    shape(kernel, "out", out, expected_shape)
    if not out.flags.writeable:
        raise ValueError(f"{kernel}: out is read-only")
    if not out.flags.aligned:
        raise ValueError(f"{kernel}: out must be aligned")
    for arr in inputs:
        if arr is None:
            continue
        # Two arrays that each own their memory cannot overlap unless they are one array;
        # that common case skips may_share_memory, which costs more than a small kernel.
        if arr is out or ((arr.base is not None or out.base is not None)
                          and np.may_share_memory(out, arr)):
            raise ValueError(f"{kernel}: out must not overlap an input")
    if out.size > 1 and 0 in out.strides:
        raise ValueError(f"{kernel}: out must not have zero strides (broadcast views)")


def pair(kernel, name, value, minimum):
    """Turn an int or a pair of ints into ``(h, w)``, each at least ``minimum``."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2:
            raise ValueError(f"{kernel}: {name} must be an int or a pair, got {value!r}")
        h, w = value
    else:
        h = w = value
    try:
        h, w = operator.index(h), operator.index(w)
    except TypeError:
        raise TypeError(f"{kernel}: {name} must be integers, got {value!r}") from None
    if h < minimum or w < minimum:
        raise ValueError(f"{kernel}: {name} must be >= {minimum}, got {value!r}")
    return h, w


def window(kernel, kernel_size, stride, padding, dilation=1):
    """Validate a 2-D sliding window; ``stride=None`` means ``stride = kernel_size``."""
    k = pair(kernel, "kernel_size", kernel_size, 1)
    s = k if stride is None else pair(kernel, "stride", stride, 1)
    p = pair(kernel, "padding", padding, 0)
    d = pair(kernel, "dilation", dilation, 1)
    return k, s, p, d


# The compiled kernels index with int64_t: the padded input, the window's extent and the
# stride must each be representable (PyTorch refuses such paddings the same way).
INDEX_MAX = 2**63 - 1


def out_size(kernel, in_hw, k, s, p, d):
    """Output height and width of a sliding window; errors if the window does not fit, or if
    the padded input, the window's extent or the stride exceeds the 64-bit index range."""
    sizes = []
    for axis, n in enumerate(in_hw):
        span = d[axis] * (k[axis] - 1) + 1
        along = f"along {'HW'[axis]}; input spatial size {tuple(in_hw)}"
        if n + 2 * p[axis] > INDEX_MAX:
            raise ValueError(
                f"{kernel}: padded input ({n} + 2*{p[axis]}) exceeds the 64-bit index range "
                f"(2**63 - 1) {along}"
            )
        if span > INDEX_MAX or s[axis] > INDEX_MAX:
            raise ValueError(
                f"{kernel}: kernel (dilated extent {span}) or stride {s[axis]} exceeds the "
                f"64-bit index range (2**63 - 1) {along}"
            )
        if n + 2 * p[axis] < span:
            raise ValueError(
                f"{kernel}: kernel (dilated extent {span}) is larger than the padded input "
                f"({n} + 2*{p[axis]}) along {'HW'[axis]}; input spatial size {tuple(in_hw)}"
            )
        sizes.append((n + 2 * p[axis] - span) // s[axis] + 1)
    return tuple(sizes)


def pool_padding(kernel, k, p, names=("padding", "kernel_size")):
    """PyTorch's rule: padding at most half the window, so no window is all padding."""
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{kernel}: {names[0]} {p} must be at most half of {names[1]} {k}")


def integer_labels(kernel, labels, n):
    if not isinstance(labels, np.ndarray) or labels.dtype.kind not in "iu":
        got = labels.dtype if isinstance(labels, np.ndarray) else type(labels).__name__
        raise TypeError(f"{kernel}: labels must be an integer ndarray, got {got}")
    shape(kernel, "labels", labels, (n,))


REDUCTIONS = ("mean", "sum", "none")


def reduction_mode(kernel, value):
    if value not in REDUCTIONS:
        raise ValueError(f"{kernel}: reduction must be one of {REDUCTIONS}, got {value!r}")


GELU_APPROXIMATIONS = ("none", "tanh")


def gelu_approximate(kernel, value):
    """Return ``value`` if it is one of GELU's approximations."""
    if value not in GELU_APPROXIMATIONS:
        raise ValueError(
            f"{kernel}: approximate must be one of {GELU_APPROXIMATIONS}, got {value!r}"
        )
    return value


def same_shape(kernel, a_name, a, b_name, b):
    if a.shape != b.shape:
        raise ValueError(
            f"{kernel}: {b_name} must have the shape of {a_name} {a.shape}, got {b.shape}"
        )


def same_float_shapes(kernel, **arrays):
    """Two float arrays of one dtype and one shape, such as an elementwise gradient's
    operands (names as keywords, in the order the message names them)."""
    float_arrays(kernel, **arrays)
    (a_name, a), (b_name, b) = arrays.items()
    same_shape(kernel, a_name, a, b_name, b)


def bias_grad_args(kernel, dy, axis):
    float_arrays(kernel, dy=dy)
    if dy.ndim == 0 or not -dy.ndim <= axis < dy.ndim:
        raise ValueError(f"{kernel}: axis {axis} is out of range for shape {dy.shape}")


def in_place(kernel, like, **arrays):
    """Arrays a kernel updates in place: same shape as ``like``, C-contiguous, writeable,
    aligned."""
    for name, arr in arrays.items():
        if arr is None:
            continue
        same_shape(kernel, "param", like, name, arr)
        if not arr.flags.c_contiguous:
            raise ValueError(f"{kernel}: {name} is updated in place and must be C-contiguous")
        if not arr.flags.writeable:
            raise ValueError(f"{kernel}: {name} is updated in place and must be writeable")
        if not arr.flags.aligned:
            raise ValueError(f"{kernel}: {name} is updated in place and must be aligned")


def gemm_operands(a, b, out, trans_a, trans_b, bias, bias_axis):
    """Validate gemm's operands; return ``(op(a), op(b), dtype)`` as views."""
    dtype = float_arrays("gemm", a=a, b=b, out=out, bias=bias)
    rank("gemm", "a", a, 2)
    rank("gemm", "b", b, 2)
    op_a = a.T if trans_a else a
    op_b = b.T if trans_b else b
    if op_a.shape[1] != op_b.shape[0]:
        raise ValueError(
            f"gemm: inner dimensions differ: op(a) is {op_a.shape} and op(b) is {op_b.shape} "
            f"(trans_a={trans_a}, trans_b={trans_b})"
        )
    m, n = op_a.shape[0], op_b.shape[1]
    if bias is not None:
        if bias_axis not in (0, 1):
            raise ValueError(f"gemm: bias_axis must be 0 or 1, got {bias_axis!r}")
        shape("gemm", "bias", bias, ((m, n)[bias_axis],))
    if out is not None:
        output("gemm", out, (m, n), dtype, a, b, bias)
    return op_a, op_b, dtype


def label_range(kernel, labels, n_classes, ignore_index):
    valid = labels != ignore_index
    bad = valid & ((labels < 0) | (labels >= n_classes))
    if bad.any():
        raise bad_label(kernel, labels[bad][0], n_classes, ignore_index)


def bad_label(kernel, label, n_classes, ignore_index):
    return ValueError(
        f"{kernel}: labels must lie in [0, {n_classes}) or equal ignore_index "
        f"({ignore_index}); got {label}"
    )


def cross_entropy_grad(kernel, grad, reduction, n):
    """The loss gradient as the kernels take it: a float for "mean"/"sum", an (N,) array
    for "none"."""
    if reduction == "none":
        grad = np.asarray(grad)
        shape(kernel, "grad", grad, (n,))
        return grad
    try:
        return float(grad)
    except (TypeError, ValueError):
        raise ValueError(f"{kernel}: grad must be a scalar for reduction={reduction!r}, "
                         f"got shape {np.shape(grad)}") from None


def window_args(kernel, x_shape, kernel_size, stride, padding, dilation):
    k, s, p, d = window(kernel, kernel_size, stride, padding, dilation)
    out_hw = out_size(kernel, x_shape[2:], k, s, p, d)
    return k, s, p, d, out_hw


def conv_args(kernel, x, w, b, stride, padding, dilation):
    dtype = float_arrays(kernel, x=x, w=w, b=b)
    rank(kernel, "x", x, 4, "(N, C, H, W)")
    rank(kernel, "w", w, 4, "(out_channels, in_channels, kh, kw)")
    if x.shape[1] == 0:
        raise ValueError(f"{kernel}: x has zero channels (shape {x.shape})")
    if w.shape[0] == 0:
        raise ValueError(f"{kernel}: w has zero output channels (shape {w.shape})")
    if w.shape[1] != x.shape[1]:
        raise ValueError(
            f"{kernel}: w expects {w.shape[1]} input channels (w shape {w.shape}), "
            f"x has {x.shape[1]} (x shape {x.shape})"
        )
    if b is not None:
        shape(kernel, "b", b, (w.shape[0],))
    _, s, p, d, out_hw = window_args(kernel, x.shape, w.shape[2:], stride, padding, dilation)
    return dtype, s, p, d, out_hw


def pool_args(kernel, x, kernel_size, stride, padding):
    float_arrays(kernel, x=x)
    rank(kernel, "x", x, 4, "(N, C, H, W)")
    k, s, p, d, out_hw = window_args(kernel, x.shape, kernel_size, stride, padding, 1)
    pool_padding(kernel, k, p)
    return k, s, p, d, out_hw


def conv_pool_args(kernel, conv_hw, size, stride, padding):
    """The max pooling that follows a convolution whose output planes are ``conv_hw``:
    returns its kernel, stride, padding and output size (errors name the ``pool_`` arguments)."""
    k = pair(kernel, "pool_kernel", size, 1)
    s = k if stride is None else pair(kernel, "pool_stride", stride, 1)
    p = pair(kernel, "pool_padding", padding, 0)
    pool_padding(kernel, k, p, names=("pool_padding", "pool_kernel"))
    return k, s, p, out_size(kernel, conv_hw, k, s, p, (1, 1))


def conv_pool_grad(kernel, x, w, dy, indices, conv_hw, check_range=True, relu_y=None):
    """The pooled output's gradient and argmax given to a pooled convolution's backward, and
    the pooled output when the forward applied ReLU."""
    float_arrays(kernel, x=x, dy=dy, relu_y=relu_y)
    rank(kernel, "dy", dy, 4, "(N, out_channels, pooled H, pooled W)")
    if dy.shape[:2] != (x.shape[0], w.shape[0]):
        raise ValueError(f"{kernel}: dy must have shape ({x.shape[0]}, {w.shape[0]}, ...) "
                         f"for x {x.shape} and w {w.shape}, got {dy.shape}")
    if relu_y is not None:
        same_shape(kernel, "dy", dy, "relu_y", relu_y)
    pool_indices(kernel, indices, dy, (*dy.shape[:2], *conv_hw), check_range)


def pool_indices(kernel, indices, dy, x_shape, check_range=True):
    """Type and shape of max-pooling indices, and (unless the kernel checks them itself while
    it reads them, as the compiled one does) their range."""
    if not isinstance(indices, np.ndarray) or indices.dtype != np.int64:
        got = indices.dtype if isinstance(indices, np.ndarray) else type(indices).__name__
        raise TypeError(f"{kernel}: indices must be an int64 ndarray, got {got}")
    same_shape(kernel, "dy", dy, "indices", indices)
    if len(x_shape) != 4 or tuple(x_shape[:2]) != dy.shape[:2]:
        raise ValueError(f"{kernel}: x_shape {tuple(x_shape)} does not match dy {dy.shape}")
    if check_range and indices.size and (indices.min() < 0
                                         or indices.max() >= x_shape[2] * x_shape[3]):
        raise pool_indices_out_of_range(kernel, x_shape)


def pool_indices_out_of_range(kernel, x_shape):
    return ValueError(f"{kernel}: indices out of range for x_shape {tuple(x_shape)}")


def rows(kernel, **arrays):
    float_arrays(kernel, **arrays)
    first = next(iter(arrays.values()))
    if first.ndim < 1:
        raise ValueError(f"{kernel}: expected at least 1 dimension, got a scalar")
    names = list(arrays)
    for name in names[1:]:
        same_shape(kernel, names[0], first, name, arrays[name])


def layer_norm_args(kernel, x, **arrays):
    """x (N, C) with weight / bias (C,), dy (N, C), mean / rstd (N,), each when given, all of
    one float dtype."""
    float_arrays(kernel, x=x, **arrays)
    rank(kernel, "x", x, 2, "(N, C)")
    rows, cols = x.shape
    expected = {"weight": (cols,), "bias": (cols,), "dy": (rows, cols), "mean": (rows,),
                "rstd": (rows,)}
    for name, arr in arrays.items():
        if arr is not None:
            shape(kernel, name, arr, expected[name])


def batch_norm_args(kernel, x, **arrays):
    """x (N, C, *) with weight / bias / mean / rstd (C,) and dy of x's shape, each when given,
    all of one float dtype."""
    float_arrays(kernel, x=x, **arrays)
    if x.ndim < 2:
        raise ValueError(f"{kernel}: x must have at least 2 dimensions (N, C, *), got shape "
                         f"{x.shape}")
    for name, arr in arrays.items():
        if arr is not None:
            shape(kernel, name, arr, x.shape if name == "dy" else (x.shape[1],))


def cross_entropy_args(kernel, scores_name, scores, labels, reduction, label_smoothing,
                       ignore_index, grad=None):
    """Checks shared by the fused loss's forward (scores are the logits) and backward (the
    probabilities, and the upstream ``grad`` per row when given)."""
    float_arrays(kernel, **{scores_name: scores})
    rank(kernel, scores_name, scores, 2, "(N, C)")
    if scores.shape[1] == 0:
        raise ValueError(f"{kernel}: {scores_name} must have at least one class, got "
                         f"{scores.shape}")
    integer_labels(kernel, labels, scores.shape[0])
    cross_entropy_options(kernel, reduction, label_smoothing, ignore_index)
    if grad is not None:
        cross_entropy_grad(kernel, grad, reduction, scores.shape[0])


def cross_entropy_options(kernel, reduction, label_smoothing, ignore_index):
    """The fused loss's arguments other than arrays."""
    reduction_mode(kernel, reduction)
    integer(kernel, "ignore_index", ignore_index)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{kernel}: label_smoothing must lie in [0, 1], got {label_smoothing}")


def integer(kernel, name, value, minimum=None):
    """An int (or NumPy integer) argument, at least ``minimum`` when given."""
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"{kernel}: {name} must be an integer, got {value!r}") from None
    if minimum is not None and value < minimum:
        raise ValueError(f"{kernel}: {name} must be >= {minimum}, got {value}")
    return value


def step_args(kernel, param, grad, **state):
    float_arrays(kernel, param=param, grad=grad, **state)
    same_shape(kernel, "param", param, "grad", grad)
    in_place(kernel, param, param=param, **state)


def sgd_args(kernel, param, grad, momentum_buffer, momentum):
    step_args(kernel, param, grad, momentum_buffer=momentum_buffer)
    if momentum != 0.0 and momentum_buffer is None:
        raise ValueError(f"{kernel}: momentum != 0 needs a momentum_buffer")


def rmsprop_args(kernel, param, grad, square_avg, momentum_buffer, grad_avg, momentum,
                 centered):
    step_args(kernel, param, grad, square_avg=square_avg, momentum_buffer=momentum_buffer,
              grad_avg=grad_avg)
    if momentum != 0.0 and momentum_buffer is None:
        raise ValueError(f"{kernel}: momentum != 0 needs a momentum_buffer")
    if centered and grad_avg is None:
        raise ValueError(f"{kernel}: centered=True needs grad_avg")


def recurrent_cell(kernel, gates, n_gates, **states):
    """A recurrent cell kernel's arguments: ``gates`` (first of them) is (N, n_gates * H) and
    every other array (N, H), one float dtype; None entries are optional arguments left out.
    Returns H."""
    (gates_name, first), *rest = [(k, v) for k, v in gates.items()]
    float_arrays(kernel, **gates, **states)
    if first.ndim != 2 or first.shape[1] % n_gates:
        raise ValueError(f"{kernel}: {gates_name} must have shape (N, {n_gates} * hidden_size), "
                         f"got {first.shape}")
    n, hidden = first.shape[0], first.shape[1] // n_gates
    for name, arr in rest:
        same_shape(kernel, gates_name, first, name, arr)
    for name, arr in states.items():
        if arr is not None:
            shape(kernel, name, arr, (n, hidden))
    return hidden


def recurrent_sequence(kernel, n_gates, written, w_hh, **arrays):
    """A whole-sequence recurrent kernel's arguments, one float dtype: ``w_hh`` is
    (n_gates * H, H) and the first of ``arrays`` (L, N, ...); every other array has the shape
    its name implies: ``x`` (L, N, H_in) and ``w_ih`` (n_gates * H, H_in), ``bias``, ``b_ih``,
    ``b_hh`` (n_gates * H,), ``dgates`` (L, N, n_gates * H), ``acts`` (L, N, (n_gates + 1) * H),
    ``hs``/``cs`` (L + 2, N, H), ``dout`` (L, N, H), ``dc`` (N, H). None entries are left out.
    The arrays named in ``written`` are written in place (C-contiguous, writeable, aligned).
    Returns (L, N, H)."""
    float_arrays(kernel, w_hh=w_hh, **arrays)
    rank(kernel, "w_hh", w_hh, 2, f"({n_gates} * hidden_size, hidden_size)")
    hidden = w_hh.shape[1]
    gates = n_gates * hidden
    shape(kernel, "w_hh", w_hh, (gates, hidden))
    (first_name, first), *_ = arrays.items()
    rank(kernel, first_name, first, 3, "(L, N, ...)")
    L, n = first.shape[:2]
    expected = {"dgates": (L, n, gates), "acts": (L, n, gates + hidden), "dout": (L, n, hidden),
                "hs": (L + 2, n, hidden), "cs": (L + 2, n, hidden), "dc": (n, hidden),
                "bias": (gates,), "b_ih": (gates,), "b_hh": (gates,)}
    if "x" in arrays:
        expected["w_ih"] = (gates, first.shape[2])
    for name, arr in arrays.items():
        if arr is None or name == "x":
            continue
        shape(kernel, name, arr, expected[name])
        if name in written and not (arr.flags.c_contiguous and arr.flags.writeable
                                    and arr.flags.aligned):
            raise ValueError(f"{kernel}: {name} is written in place and must be "
                             "C-contiguous, writeable and aligned")
    return L, n, hidden


def attention_args(kernel, q, k, v, mask=None, dropout_mask=None, scale=None, **more):
    """Scaled dot-product attention's arguments: q (B, L, E), k (B, S, E), v (B, S, Ev), one
    float dtype; mask and dropout_mask broadcastable to (B, L, S); arrays in ``more`` with
    the shapes their names imply (probs (B, L, S), dout (B, L, Ev)). Returns the scale."""
    float_arrays(kernel, q=q, k=k, v=v, mask=mask, dropout_mask=dropout_mask, **more)
    for name, arr in (("q", q), ("k", k), ("v", v)):
        rank(kernel, name, arr, 3, "(B, L or S, E)")
    b, l, e = q.shape
    s = k.shape[1]
    if k.shape != (b, s, e):
        raise ValueError(f"{kernel}: k must have shape (B, S, E) = ({b}, S, {e}) to match q "
                         f"{q.shape}, got {k.shape}")
    if v.shape[:2] != (b, s):
        raise ValueError(f"{kernel}: v must have shape (B, S, Ev) = ({b}, {s}, Ev) to match k "
                         f"{k.shape}, got {v.shape}")
    for name, arr in (("mask", mask), ("dropout_mask", dropout_mask)):
        if arr is not None and (arr.ndim > 3 or not _broadcasts(arr.shape, (b, l, s))):
            raise ValueError(f"{kernel}: {name} must broadcast to (B, L, S) = {(b, l, s)}, got "
                             f"{arr.shape}")
    expected = {"probs": (b, l, s), "dout": (b, l, v.shape[2])}
    for name, arr in more.items():
        shape(kernel, name, arr, expected[name])
    if scale is None:
        return 1.0 / np.sqrt(e) if e else 1.0
    return float(scale)


def _broadcasts(shape, target):
    shape = (1,) * (len(target) - len(shape)) + tuple(shape)
    return all(a in (1, t) for a, t in zip(shape, target))
