"""The math of the torch namespace against PyTorch itself, one table row per function.

Each row names a function and the samples to call it with (shapes with broadcasting, 0-d and
empty tensors, int/float mixes, Python scalars). For every sample both libraries run the
namespace function; values, dtypes and shapes must agree, and so must the error type when
PyTorch refuses. The method form (``t.exp()``) must be the same function as ``pynn.exp`` and
give the same result. Rows marked differentiable also compare, in float64, the gradients of a
random weighted sum of the outputs with PyTorch's.
"""

from dataclasses import dataclass, field

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

F32, F64, I64, I32, BOOL = np.float32, np.float64, np.int64, np.int32, np.bool_


class Idx:
    """An integer index array (kept out of the gradient and out of dtype mixing)."""

    def __init__(self, values):
        self.values = np.asarray(values, np.int64)


class Mask:
    def __init__(self, values):
        self.values = np.asarray(values, bool)


def _u(rng, shape, dtype=F32, lo=-2.0, hi=2.0):
    if np.dtype(dtype).kind in "iu":
        return rng.integers(-5, 6, size=shape).astype(dtype)
    if np.dtype(dtype).kind == "b":
        return rng.random(shape) < 0.5
    return rng.uniform(lo, hi, size=shape).astype(dtype)


def _away(rng, shape, dtype=F32):
    """Values with |x| in [0.5, 2] (divisors, reciprocals)."""
    x = _u(rng, shape, F64, 0.5, 2.0) * np.where(rng.random(shape) < 0.5, -1, 1)
    return np.asarray(x).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Sample makers: (rng, dtype) -> list of (args, kwargs)


def unary(lo=-2.0, hi=2.0, ints=True):
    def make(rng, dt):
        s = [((_u(rng, sh, dt, lo, hi),), {}) for sh in [(3, 4), (), (0, 3), (2, 1, 3)]]
        if ints and dt == F32:
            s.append(((_u(rng, (3, 4), I64),), {}))
        return s
    return make


def binary(kind="any", ints=True):
    def b(rng, sh, dt):
        if kind == "pos":
            return _u(rng, sh, dt, 0.5, 2.0)
        if kind == "away":
            return _away(rng, sh, dt)
        return _u(rng, sh, dt)

    def make(rng, dt):
        a = _u(rng, (3, 4), dt, 0.5, 2.0) if kind == "pos" else _u(rng, (3, 4), dt)
        s = [
            ((a, b(rng, (3, 4), dt)), {}),
            ((_u(rng, (2, 1, 3), dt, 0.5, 2.0), b(rng, (4, 1), dt)), {}),
            ((a, b(rng, (4,), dt)), {}),
            ((_u(rng, (), dt, 0.5, 2.0), b(rng, (3,), dt)), {}),
            ((_u(rng, (0, 3), dt, 0.5, 2.0), b(rng, (3,), dt)), {}),
            ((a, 1.5), {}),
            ((a, 2), {}),
        ]
        if ints and dt == F32:
            ia = _u(rng, (3, 4), I64)
            ib = np.where(np.abs(ia) < 1, 3, ia) if kind != "any" else ia
            s += [((ia, b(rng, (3, 4), F32)), {}),
                  ((_u(rng, (3,), F32, 0.5, 2.0), np.array(2.0)), {}),
                  ((_u(rng, (3,), F32, 0.5, 2.0), np.array(2.0, F64)), {}),
                  ((ia, 2.5), {}),
                  ((ia, ib), {})]
        return s
    return make


def compare():
    def make(rng, dt):
        a = _u(rng, (3, 4), I64).astype(dt)
        return [((a, _u(rng, (3, 4), I64).astype(dt)), {}), ((a, _u(rng, (4,), I64)), {}),
                ((a, 1), {}), ((a, 0.5), {})]
    return make


def logical():
    def make(rng, dt):
        return [((_u(rng, (3, 4), BOOL), _u(rng, (3, 4), BOOL)), {}),
                ((_u(rng, (3, 4), I64), _u(rng, (4,), I64)), {})]
    return make


def reduction(dims=(None, 1, -1, (0, 2)), keep=True, ints=True, extra=None):
    def make(rng, dt):
        x = _u(rng, (2, 3, 4), dt)
        s = []
        for d in dims:
            kw = dict(extra or {})
            if d is not None:
                kw["dim"] = d
            s.append(((x,), kw))
            if keep and d is not None:
                s.append(((x,), dict(kw, keepdim=True)))
        s.append(((_u(rng, (), dt),), dict(extra or {})))
        if ints and dt == F32:
            s.append(((_u(rng, (3, 4), I64),), dict(extra or {})))
            s.append(((_u(rng, (3, 4), BOOL),), dict(extra or {})))
        return s
    return make


def dim_pair(k=None):
    """(x, dim) samples for sort-like ops; ``k`` adds a positional k."""
    def make(rng, dt):
        s = []
        for sh, d in [((3, 5), 1), ((3, 5), 0), ((2, 3, 4), -1), ((6,), 0)]:
            x = rng.permutation(np.arange(np.prod(sh))).reshape(sh).astype(dt) / 3
            args = (x,) if k is None else (x, k)
            s.append((args, {"dim": d}))
        return s
    return make


def fixed(*samples):
    """Samples given as functions of rng and dtype."""
    def make(rng, dt):
        return [f(rng, dt) for f in samples]
    return make


def _spd(n, batch=()):
    """A symmetric positive-definite sample (well conditioned)."""
    def make(r, d):
        a = r.standard_normal(batch + (n, n))
        return ((a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype(d),), {}
    return make


def _gen(n):
    """A general square sample."""
    return lambda r, d: ((r.standard_normal((n, n)).astype(d),), {})


def _norm_sample(p, dim):
    return lambda r, d: ((_u(r, (3, 4), d),), {"p": p, "dim": dim})


@dataclass
class Op:
    name: str
    samples: object
    grad: bool = True
    method: bool = True
    namespace: bool = True
    rtol: float = 1e-5
    atol: float = 1e-6
    skip_dtypes: tuple = field(default_factory=tuple)


OPS = [
    # elementwise unary
    Op("exp", unary()), Op("exp2", unary()), Op("log", unary(0.2, 3.0)),
    Op("log2", unary(0.2, 3.0)), Op("log10", unary(0.2, 3.0)), Op("log1p", unary(-0.5, 2)),
    Op("expm1", unary()), Op("sqrt", unary(0.2, 3.0)), Op("rsqrt", unary(0.2, 3.0)),
    Op("abs", unary()), Op("sign", unary()), Op("sin", unary()), Op("cos", unary()),
    Op("tan", unary(-1, 1)), Op("asin", unary(-0.9, 0.9, ints=False)),
    Op("acos", unary(-0.9, 0.9, ints=False)), Op("atan", unary()), Op("sinh", unary()),
    Op("cosh", unary()), Op("tanh", unary()), Op("sigmoid", unary()), Op("square", unary()),
    Op("reciprocal", fixed(lambda r, d: ((_away(r, (3, 4), d),), {}))),
    Op("floor", unary()), Op("ceil", unary()), Op("round", unary()), Op("trunc", unary()),
    Op("frac", unary(ints=False)), Op("neg", unary()), Op("erf", unary()),
    Op("erfc", unary()),
    Op("erfinv", unary(-0.9, 0.9)), Op("relu", unary()),
    Op("round", fixed(lambda r, d: ((_u(r, (3, 4), d) * 10,), {"decimals": 1})), grad=False),
    Op("asinh", unary()), Op("acosh", unary(1.2, 3.0)), Op("atanh", unary(-0.9, 0.9)),
    Op("deg2rad", unary(ints=False)), Op("rad2deg", unary(ints=False)),
    Op("lgamma", unary(0.2, 3.0)), Op("digamma", unary(0.2, 3.0)), Op("sinc", unary()),
    Op("sinc", fixed(lambda r, d: ((np.array([0.0, 0.5, -1.5], d),), {}))),
    Op("sgn", unary()), Op("signbit", fixed(lambda r, d: ((np.array([-0.0, 0.0, -1.0, 2.0], d),),
                                                         {})), grad=False),
    Op("logit", unary(0.1, 0.9)),
    Op("logit", fixed(lambda r, d: ((np.array([0.0, 0.3, 1.0], d),), {"eps": 1e-3}))),
    Op("xlogy", fixed(lambda r, d: ((np.array([0.0, 1.5, 2.0, 0.0], d),
                                     np.array([0.0, 0.5, 3.0, 2.0], d)), {}),
                      lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d, 0.5, 2)), {}))),
    Op("logaddexp", binary(ints=False)), Op("logaddexp2", binary(ints=False)),
    Op("copysign", binary("away", ints=False)),
    Op("fmax", fixed(lambda r, d: ((np.array([1.0, np.nan, 3.0, np.nan], d),
                                    np.array([2.0, 1.0, np.nan, np.nan], d)), {}))),
    Op("fmin", fixed(lambda r, d: ((np.array([1.0, np.nan, 3.0, np.nan], d),
                                    np.array([2.0, 1.0, np.nan, np.nan], d)), {}))),
    Op("heaviside", fixed(lambda r, d: ((np.array([-1.0, 0.0, 2.0], d), np.array([0.5], d)),
                                        {})), grad=False),
    Op("gcd", fixed(lambda r, d: ((np.array([4, 6, 9]), np.array([6, 4, 3])), {})),
       grad=False),
    Op("lcm", fixed(lambda r, d: ((np.array([4, 6, 9]), np.array([6, 4, 3])), {})),
       grad=False),
    Op("nan_to_num", fixed(lambda r, d: ((np.array([np.nan, np.inf, -np.inf, 1.5], d),), {}),
                          lambda r, d: ((np.array([np.nan, np.inf, 1.5], d),),
                                        {"nan": 2.0, "posinf": 9.0}))),
    Op("clamp", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"min": -0.5, "max": 0.7}),
                      lambda r, d: ((_u(r, (3, 4), d),), {"min": -0.5}),
                      lambda r, d: ((_u(r, (3, 4), d),), {"max": 0.5}),
                      lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d), _u(r, (3, 1), d) + 2),
                                    {}),
                      lambda r, d: ((_u(r, (3, 4), I64),), {"min": 0.5}))),
    # elementwise binary
    Op("add", binary()), Op("sub", binary()), Op("mul", binary()),
    Op("div", binary("away")), Op("true_divide", binary("away")),
    Op("floor_divide", binary("away"), grad=False), Op("pow", binary("pos", ints=False)),
    Op("maximum", binary()), Op("minimum", binary()), Op("fmod", binary("away")),
    Op("remainder", binary("away")), Op("atan2", binary("away", ints=False)),
    Op("hypot", binary(ints=False)),
    Op("add", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {"alpha": 2.5}),
                    lambda r, d: ((_u(r, (3, 4), BOOL), _u(r, (4,), BOOL)), {}))),
    Op("sub", fixed(lambda r, d: ((_u(r, (3, 4), BOOL), _u(r, (4,), BOOL)), {}),
                    lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {"alpha": -2})),
       grad=False),
    Op("mul", fixed(lambda r, d: ((_u(r, (3, 4), BOOL), _u(r, (4,), BOOL)), {}),
                    lambda r, d: ((_u(r, (3, 4), BOOL), 2), {}),
                    lambda r, d: ((_u(r, (3, 4), BOOL), 2.5), {})), grad=False),
    Op("neg", fixed(lambda r, d: ((_u(r, (3, 4), BOOL),), {})), grad=False),
    Op("div", fixed(lambda r, d: ((_u(r, (3, 4), d) * 5, _away(r, (3, 4), d)),
                                  {"rounding_mode": "trunc"}),
                    lambda r, d: ((_u(r, (3, 4), d) * 5, _away(r, (4,), d)),
                                  {"rounding_mode": "floor"}),
                    lambda r, d: ((_u(r, (3, 4), I64), np.array([2, -3, 4, 5])),
                                  {"rounding_mode": "floor"}),
                    lambda r, d: ((_u(r, (3, 4), I64), np.array([2, -3, 4, 5])),
                                  {"rounding_mode": "trunc"}))),
    Op("pow", fixed(lambda r, d: ((_u(r, (3, 4), d), 2), {}),
                    lambda r, d: ((_u(r, (3, 4), d, 0.5, 2), 0.5), {}),
                    lambda r, d: ((_u(r, (3, 4), I64), 2), {}),
                    lambda r, d: ((_u(r, (3, 4), I64), 0.5), {}))),
    Op("lerp", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d), 0.3), {}),
                     lambda r, d: ((_u(r, (3, 4), d), _u(r, (3, 4), d), _u(r, (3, 4), d)),
                                   {}))),
    Op("addcmul", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d), _u(r, (3, 1), d)),
                                      {"value": 0.5}))),
    Op("addcdiv", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d), _away(r, (3, 1), d)),
                                      {"value": 2}))),
    Op("where", fixed(lambda r, d: ((Mask(r.random((3, 4)) < 0.5), _u(r, (3, 4), d),
                                     _u(r, (4,), d)), {}),
                      lambda r, d: ((Mask(r.random((3, 1)) < 0.5), _u(r, (3, 4), d), 0.0), {}),
                      lambda r, d: ((Mask(r.random((4,)) < 0.5), _u(r, (3, 4), I64), 1.5),
                                    {})), method=False),
    # comparisons and logic
    *[Op(n, compare(), grad=False) for n in ("eq", "ne", "lt", "le", "gt", "ge")],
    *[Op(n, logical(), grad=False) for n in ("logical_and", "logical_or", "logical_xor",
                                             "bitwise_and", "bitwise_or", "bitwise_xor")],
    Op("logical_not", unary(), grad=False),
    *[Op(n, fixed(lambda r, d: ((np.array([1, 2, 8]), np.array([1, 0, 2])), {}),
                  lambda r, d: ((np.array([1, 2, 8], np.int32), 1), {})), grad=False)
      for n in ("bitwise_left_shift", "bitwise_right_shift")],
    Op("bitwise_not", fixed(lambda r, d: ((_u(r, (3, 4), I64),), {}),
                            lambda r, d: ((_u(r, (3, 4), BOOL),), {}),
                            lambda r, d: ((_u(r, (3, 4), d),), {})), grad=False),
    *[Op(n, fixed(lambda r, d: ((np.array([np.nan, np.inf, -np.inf, 1.0, 0.0], d),), {})),
         grad=False) for n in ("isnan", "isinf", "isfinite", "isposinf", "isneginf")],
    Op("isclose", fixed(lambda r, d: ((np.array([1.0, 1.0 + 1e-7, np.nan, 2.0], d),
                                       np.array([1.0, 1.0, np.nan, 2.1], d)), {}),
                        lambda r, d: ((np.array([np.nan, 1.0], d), np.array([np.nan, 1.5], d)),
                                      {"equal_nan": True, "atol": 0.6})), grad=False),
    Op("allclose", fixed(lambda r, d: ((np.array([1.0, 2.0], d), np.array([1.0, 2.0001], d)),
                                       {}),
                         lambda r, d: ((np.array([1.0, 2.0], d), np.array([1.0, 2.1], d)), {})),
       grad=False),
    Op("equal", fixed(lambda r, d: ((np.array([1.0, 2.0], d), np.array([1.0, 2.0], d)), {}),
                      lambda r, d: ((np.array([1.0, 2.0], d), np.array([1.0], d)), {})),
       grad=False),
    # reductions
    Op("sum", reduction()), Op("mean", reduction(ints=False)),
    Op("mean", fixed(lambda r, d: ((_u(r, (3, 4), I64),), {}),
                     lambda r, d: ((_u(r, (3, 4), I64),), {"dtype": torch.float64}),
                     lambda r, d: ((_u(r, (0, 4), d),), {"dim": 1}))),
    Op("sum", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"dim": 0, "dtype": torch.float64}),
                    lambda r, d: ((_u(r, (0, 4), d),), {}),
                    lambda r, d: ((_u(r, (3, 4), np.uint8),), {"dim": 1}))),
    Op("prod", reduction(dims=(None, 1, -1))),
    Op("prod", fixed(lambda r, d: ((np.array([[1.0, 0.0, 2.0], [0.0, 0.0, 3.0]], d),),
                                   {"dim": 1}),
                     lambda r, d: ((np.array([1.5, 0.0, 2.0], d),), {}))),
    Op("var", reduction(ints=False)), Op("std", reduction(ints=False)),
    Op("var", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"dim": 1, "correction": 0}),
                    lambda r, d: ((_u(r, (3, 4), d), 0, False), {}),
                    lambda r, d: ((_u(r, (3, 4), d), False), {}),
                    lambda r, d: ((_u(r, (3, 4), I64),), {}))),
    Op("std", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"dim": (0, 1), "unbiased": False}),
                    lambda r, d: ((np.ones((3, 4), d),), {"dim": 1}))),
    Op("var_mean", reduction(dims=(None, 1), ints=False), method=False),
    Op("std_mean", reduction(dims=(None, 1), ints=False), method=False),
    Op("norm", fixed(*[_norm_sample(p, dm) for p in (2, 1, 3, float("inf"), "fro", 0.5)
                       for dm in (None, 1)],
        lambda r, d: ((np.zeros((3,), d),), {}),
        lambda r, d: ((_u(r, (2, 3, 4), d),), {"dim": (0, 2), "keepdim": True}))),
    Op("dist", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {}),
                     lambda r, d: ((_u(r, (3, 4), d), _u(r, (3, 4), d)), {"p": 1}))),
    Op("logsumexp", fixed(lambda r, d: ((_u(r, (3, 4), d) * 30,), {"dim": 1}),
                          lambda r, d: ((_u(r, (2, 3, 4), d),), {"dim": (0, 2),
                                                                  "keepdim": True}),
                          lambda r, d: ((np.array([[-np.inf, -np.inf], [0.0, 1.0]], d),),
                                        {"dim": 1}))),
    Op("cumsum", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"dim": 1}),
                       lambda r, d: ((_u(r, (3, 4), d),), {"dim": -2}),
                       lambda r, d: ((_u(r, (3, 4), I32),), {"dim": 0}),
                       lambda r, d: ((_u(r, (3, 4), BOOL),), {"dim": 0}),
                       lambda r, d: ((_u(r, (), d),), {"dim": 0}))),
    Op("cumprod", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"dim": 1}),
                        lambda r, d: ((np.array([[1.5, 0.0, 2.0, 3.0], [0.0, 2.0, 0.0, 1.0]], d),),
                                      {"dim": 1}),
                        lambda r, d: ((_u(r, (3, 4), I64),), {"dim": 0}))),
    Op("max", reduction(dims=(None, 1, -1), extra=None, ints=True)),
    Op("min", reduction(dims=(None, 0, 2), ints=True)),
    Op("max", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {}),
                    lambda r, d: ((np.array([1.0, 3.0, 3.0, 2.0], d),), {}))),
    Op("amax", reduction(dims=(1, (0, 2)))), Op("amin", reduction(dims=(1, (0, 2)))),
    Op("aminmax", fixed(lambda r, d: ((_u(r, (3, 4), d),), {}),
                        lambda r, d: ((_u(r, (3, 4), d),), {"dim": 1}))),
    Op("argmax", reduction(dims=(None, 1, -1)), grad=False),
    Op("argmin", reduction(dims=(None, 0)), grad=False),
    Op("sort", dim_pair()), Op("argsort", dim_pair(), grad=False),
    Op("sort", fixed(lambda r, d: ((np.array([3.0, 1.0, 2.0, 1.0, 3.0], d),),
                                   {"descending": True, "stable": True}),
                     lambda r, d: ((np.array([3.0, np.nan, 2.0, 1.0], d),), {}),
                     lambda r, d: ((np.array([3.0, np.nan, 2.0, 1.0], d),),
                                   {"descending": True}))),
    Op("topk", dim_pair(2)),
    Op("topk", fixed(lambda r, d: ((_u(r, (3, 5), d), 3), {"largest": False}))),
    Op("kthvalue", dim_pair(2)),
    Op("kthvalue", fixed(lambda r, d: ((_u(r, (3, 5), d), 1, 0, True), {}))),
    Op("median", dim_pair()),
    Op("median", fixed(lambda r, d: ((_u(r, (3, 5), d),), {}),
                       lambda r, d: ((np.array([1.0, 2.0, 2.0, 1.0], d),), {}),
                       lambda r, d: ((_u(r, (3, 4), d),), {"dim": 1, "keepdim": True}))),
    Op("quantile", fixed(lambda r, d: ((_u(r, (3, 5), d), 0.3), {}),
                         lambda r, d: ((_u(r, (3, 5), d), np.array([0.0, 0.4, 1.0], d)),
                                       {"dim": 1}),
                         lambda r, d: ((_u(r, (4, 5), d), 0.5), {"dim": 0, "keepdim": True}),
                         lambda r, d: ((_u(r, (3, 4), d), np.array([0.2, 0.9], d)),
                                       {"dim": None, "keepdim": True}),
                         *(lambda r, d, m=m: ((_u(r, (3, 6), d), 0.35),
                                              {"dim": -1, "interpolation": m})
                           for m in ("lower", "higher", "midpoint", "nearest")))),
    Op("nanquantile", fixed(lambda r, d: ((_u(r, (3, 5), d), np.array([0.1, 0.5], d)),
                                          {"dim": 1}))),
    # a NaN makes its slice's quantile NaN; nanquantile leaves it out (NaN for an all-NaN one)
    *(Op(name, fixed(lambda r, d: ((np.array([[1.0, np.nan, 3.0, 0.5], [np.nan] * 4,
                                              [2.0, 4.0, 1.0, 3.0]], d), 0.4), {"dim": 1}),
                     lambda r, d: ((np.array([1.0, np.nan, 3.0, 0.5], d), 0.5), {})),
         grad=False) for name in ("quantile", "nanquantile")),
    Op("mode", fixed(lambda r, d: ((np.array([[1.0, 2.0, 2.0, 3.0], [4.0, 4.0, 1.0, 1.0]], d),),
                                   {}),
                     lambda r, d: ((np.array([[1, 2, 2], [3, 3, 1]], I64),), {"dim": 0})),
       grad=False),
    Op("all", reduction(dims=(None, 1)), grad=False),
    Op("any", reduction(dims=(None, 1)), grad=False),
    Op("count_nonzero", fixed(lambda r, d: ((_u(r, (3, 4), I64),), {}),
                              lambda r, d: ((_u(r, (3, 4), I64),), {"dim": 1})), grad=False),
    Op("nonzero", fixed(lambda r, d: ((_u(r, (3, 4), I64),), {}),
                        lambda r, d: ((_u(r, (3, 4), I64),), {"as_tuple": True})), grad=False),
    Op("unique", fixed(lambda r, d: ((_u(r, (3, 4), I64),), {}),
                       lambda r, d: ((_u(r, (3, 4), I64),), {"return_inverse": True,
                                                              "return_counts": True})),
       grad=False),
    Op("cummax", fixed(lambda r, d: ((_u(r, (3, 5), d),), {"dim": 1}),
                       lambda r, d: ((_u(r, (3, 5), d),), {"dim": 0}))),
    Op("cummin", fixed(lambda r, d: ((_u(r, (3, 5), d),), {"dim": -1}))),
    Op("logcumsumexp", fixed(lambda r, d: ((_u(r, (3, 5), d) * 20,), {"dim": 1}))),
    Op("diff", fixed(lambda r, d: ((_u(r, (3, 5), d),), {}),
                     lambda r, d: ((_u(r, (3, 5), d),), {"n": 2, "dim": 0}),
                     lambda r, d: ((_u(r, (3, 5), d),), {"prepend": _u(r, (3, 1), d)}))),
    Op("bincount", fixed(lambda r, d: ((np.array([0, 3, 3, 1]),), {}),
                         lambda r, d: ((np.array([0, 3, 3, 1]),), {"minlength": 6}),
                         lambda r, d: ((np.array([0, 3, 3, 1]),),
                                       {"weights": torch.tensor([0.5, 1.0, 2.0, 1.0])})),
       grad=False),
    Op("histc", fixed(lambda r, d: ((_u(r, (20,), d),), {"bins": 4}),
                      lambda r, d: ((_u(r, (20,), d),), {"bins": 5, "min": -1, "max": 1})),
       grad=False),
    Op("searchsorted", fixed(lambda r, d: ((np.array([1.0, 3.0, 5.0], d),
                                            np.array([[0.0, 3.0], [6.0, 4.0]], d)), {}),
                             lambda r, d: ((np.array([1.0, 3.0, 5.0], d),
                                            np.array([3.0, 1.0], d)), {"right": True})),
       grad=False, method=False),
    Op("bucketize", fixed(lambda r, d: ((np.array([[0.0, 3.0], [6.0, 4.0]], d),
                                         np.array([1.0, 3.0, 5.0], d)), {})),
       grad=False, method=False),
    Op("nanmedian", fixed(lambda r, d: ((np.array([[1.0, np.nan, 3.0, 0.5], [np.nan, 2.0, 4.0, 1.0],
                                              [2.0, 4.0, 1.0, 3.0]], d),), {"dim": 1}),
                          lambda r, d: ((np.array([1.0, np.nan, 3.0, 0.5], d),), {}),
                          lambda r, d: ((_u(r, (3, 4), d),), {"dim": 0, "keepdim": True}))),
    Op("nansum", fixed(lambda r, d: ((np.array([[1.0, np.nan], [2.0, 3.0]], d),), {"dim": 1}))),
    Op("nanmean", fixed(lambda r, d: ((np.array([[1.0, np.nan], [2.0, 3.0]], d),), {}))),
    # matrix products
    Op("matmul", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4, 5), d)), {}),
                       lambda r, d: ((_u(r, (2, 3, 4), d), _u(r, (4, 5), d)), {}),
                       lambda r, d: ((_u(r, (4,), d), _u(r, (2, 4, 5), d)), {}),
                       lambda r, d: ((_u(r, (2, 1, 3, 4), d), _u(r, (3, 4, 2), d)), {}),
                       lambda r, d: ((_u(r, (4,), d), _u(r, (4,), d)), {}),
                       lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {})), rtol=1e-4),
    Op("mm", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4, 5), d)), {}),
                   lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {}))),
    Op("spmm", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4, 5), d)), {})), method=False),
    Op("sparse.mm", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4, 5), d)), {})),
       method=False),
    Op("sparse.addmm", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (3, 2), d),
                                            _u(r, (2, 4), d)), {"beta": 0.5, "alpha": 2.0})),
       method=False),
    Op("bmm", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), _u(r, (2, 4, 5), d)), {}))),
    Op("mv", fixed(lambda r, d: ((_u(r, (3, 4), d), _u(r, (4,), d)), {}))),
    Op("dot", fixed(lambda r, d: ((_u(r, (4,), d), _u(r, (4,), d)), {}),
                    lambda r, d: ((_u(r, (4,), d), _u(r, (3,), d)), {}))),
    Op("outer", fixed(lambda r, d: ((_u(r, (4,), d), _u(r, (3,), d)), {}))),
    Op("addmm", fixed(lambda r, d: ((_u(r, (4,), d), _u(r, (3, 2), d), _u(r, (2, 4), d)),
                                    {"beta": 0.5, "alpha": 2.0}),
                      lambda r, d: ((_u(r, (3, 4), d), _u(r, (3, 2), d), _u(r, (2, 4), d)), {}))),
    Op("baddbmm", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), _u(r, (2, 3, 5), d),
                                       _u(r, (2, 5, 4), d)), {"alpha": 0.5}))),
    Op("einsum", fixed(lambda r, d: (("ij,jk->ik", _u(r, (3, 4), d), _u(r, (4, 5), d)), {}),
                       lambda r, d: (("bij,bjk->bik", _u(r, (2, 3, 4), d),
                                      _u(r, (2, 4, 5), d)), {}),
                       lambda r, d: (("i,i->", _u(r, (4,), d), _u(r, (4,), d)), {}),
                       lambda r, d: (("ij->j", _u(r, (3, 4), d)), {}),
                       lambda r, d: (("...ij,...jk", _u(r, (2, 3, 4), d), _u(r, (2, 4, 2), d)),
                                     {}),
                       lambda r, d: (("bn,anm,bm->ba", _u(r, (2, 3), d), _u(r, (4, 3, 5), d),
                                      _u(r, (2, 5), d)), {})), method=False),
    Op("tensordot", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), _u(r, (3, 4, 5), d)), {}),
                          lambda r, d: ((_u(r, (2, 3), d), _u(r, (3, 2), d)),
                                        {"dims": ([0], [1])})), method=False),
    # shape
    Op("cat", fixed(lambda r, d: (([_u(r, (2, 3), d), _u(r, (4, 3), d)],), {}),
                    lambda r, d: (([_u(r, (2, 3), d), _u(r, (2, 1), d)],), {"dim": -1}),
                    lambda r, d: (([_u(r, (2, 3), d), _u(r, (2, 3), I64)],), {}),
                    lambda r, d: (([_u(r, (2, 3), d), np.zeros((0,), d)],), {})),
       method=False),
    Op("stack", fixed(lambda r, d: (([_u(r, (2, 3), d), _u(r, (2, 3), d)],), {"dim": 1}),
                      lambda r, d: (([_u(r, (), d), _u(r, (), d)],), {})), method=False),
    Op("hstack", fixed(lambda r, d: (([_u(r, (2, 3), d), _u(r, (2, 1), d)],), {}),
                       lambda r, d: (([_u(r, (3,), d), _u(r, (2,), d)],), {})), method=False),
    Op("vstack", fixed(lambda r, d: (([_u(r, (2, 3), d), _u(r, (3,), d)],), {})),
       method=False),
    Op("split", fixed(lambda r, d: ((_u(r, (5, 3), d), 2), {}),
                      lambda r, d: ((_u(r, (5, 3), d), [1, 2]), {"dim": 1}))),
    Op("chunk", fixed(lambda r, d: ((_u(r, (5, 3), d), 3), {}),
                      lambda r, d: ((_u(r, (5, 6), d), 4, 1), {}))),
    Op("narrow", fixed(lambda r, d: ((_u(r, (5, 3), d), 0, 1, 3), {}),
                       lambda r, d: ((_u(r, (5, 3), d), -1, -2, 2), {}))),
    Op("tensor_split", fixed(lambda r, d: ((_u(r, (7, 3), d), 3), {}),
                             lambda r, d: ((_u(r, (7, 3), d), [1, 5, 4]), {}),
                             lambda r, d: ((_u(r, (3, 7), d), [2, 3]), {"dim": 1}))),
    Op("unbind", fixed(lambda r, d: ((_u(r, (3, 2), d),), {}),
                       lambda r, d: ((_u(r, (3, 2), d), 1), {}))),
    Op("select", fixed(lambda r, d: ((_u(r, (3, 2), d), 1, -1), {}))),
    Op("gather", fixed(lambda r, d: ((_u(r, (3, 4), d), 1, Idx([[0, 0], [3, 1], [2, 2]])), {}),
                       lambda r, d: ((_u(r, (3, 4), d), 0, Idx([[0, 2, 1, 0]])), {}))),
    Op("scatter", fixed(lambda r, d: ((_u(r, (3, 4), d), 1, Idx([[0, 1], [3, 2], [2, 0]]),
                                       _u(r, (3, 2), d)), {}),
                        lambda r, d: ((_u(r, (3, 4), d), 0, Idx([[0, 2, 1, 0]]), 1.5), {}))),
    Op("scatter_add", fixed(lambda r, d: ((_u(r, (3, 4), d), 1, Idx([[0, 0], [3, 1], [2, 2]]),
                                           _u(r, (3, 2), d)), {}))),
    Op("index_select", fixed(lambda r, d: ((_u(r, (3, 4), d), 1, Idx([0, 3, 0])), {}),
                             lambda r, d: ((_u(r, (3, 4), d), 0, Idx([2])), {}))),
    Op("index_add", fixed(lambda r, d: ((_u(r, (3, 4), d), 0, Idx([0, 2, 0]), _u(r, (3, 4), d)),
                                        {"alpha": 2.0}))),
    Op("index_copy", fixed(lambda r, d: ((_u(r, (3, 4), d), 1, Idx([3, 0]), _u(r, (3, 2), d)),
                                         {}))),
    Op("masked_fill", fixed(lambda r, d: ((_u(r, (3, 4), d), Mask(r.random((3, 4)) < 0.5),
                                           -1.5), {}),
                            lambda r, d: ((_u(r, (3, 4), d), Mask(r.random((4,)) < 0.5), 0.0),
                                          {}),
                            lambda r, d: ((_u(r, (3, 4), I64), Mask(r.random((4,)) < 0.5), 7),
                                          {}))),
    Op("masked_select", fixed(lambda r, d: ((_u(r, (3, 4), d), Mask(r.random((3, 4)) < 0.5)),
                                            {}),
                              lambda r, d: ((_u(r, (3, 4), d), Mask(r.random((4,)) < 0.5)),
                                            {}))),
    Op("masked_scatter", fixed(lambda r, d: ((_u(r, (3, 4), d), Mask(r.random((3, 4)) < 0.5),
                                              _u(r, (3, 5), d)), {}))),
    Op("take", fixed(lambda r, d: ((_u(r, (3, 4), d), Idx([[0, 11], [-1, 5]])), {}))),
    Op("take_along_dim", fixed(lambda r, d: ((_u(r, (3, 4), d), Idx([[0], [3], [1]]), 1), {}))),
    Op("repeat", fixed(lambda r, d: ((_u(r, (2, 3), d), 2, 1, 2), {})), namespace=False),
    Op("tile", fixed(lambda r, d: ((_u(r, (2, 3), d), (2, 1, 2)), {}),
                     lambda r, d: ((_u(r, (2, 3), d), (2,)), {}))),
    Op("repeat_interleave", fixed(lambda r, d: ((_u(r, (2, 3), d), 2), {}),
                                  lambda r, d: ((_u(r, (2, 3), d), Idx([1, 0, 2])), {"dim": 1}))),
    Op("flip", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), (0, 2)), {}),
                     lambda r, d: ((_u(r, (2, 3), d), [-1]), {}))),
    Op("roll", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), 1), {}),
                     lambda r, d: ((_u(r, (2, 3, 4), d), (1, -2), (0, 2)), {}))),
    Op("rot90", fixed(lambda r, d: ((_u(r, (2, 3), d), 1, (0, 1)), {}))),
    Op("squeeze", fixed(lambda r, d: ((_u(r, (2, 1, 3, 1), d),), {}),
                        lambda r, d: ((_u(r, (2, 1, 3, 1), d), 1), {}),
                        lambda r, d: ((_u(r, (2, 1, 3, 1), d), 0), {}))),
    Op("unsqueeze", fixed(lambda r, d: ((_u(r, (2, 3), d), -1), {}),
                          lambda r, d: ((_u(r, (), d), 0), {}))),
    Op("flatten", fixed(lambda r, d: ((_u(r, (2, 3, 4), d),), {}),
                        lambda r, d: ((_u(r, (2, 3, 4), d), 1), {}),
                        lambda r, d: ((_u(r, (), d),), {}))),
    Op("unflatten", fixed(lambda r, d: ((_u(r, (2, 6), d), 1, (2, -1)), {}))),
    Op("reshape", fixed(lambda r, d: ((_u(r, (2, 6), d), (3, -1)), {}),
                        lambda r, d: ((_u(r, (0, 6), d), (-1, 3)), {}))),
    Op("permute", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), (2, 0, 1)), {}))),
    Op("transpose", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), 0, -1), {}))),
    Op("swapaxes", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), 0, 1), {}))),
    Op("t", fixed(lambda r, d: ((_u(r, (2, 3), d),), {}), lambda r, d: ((_u(r, (3,), d),), {}),
                  lambda r, d: ((_u(r, (2, 3, 4), d),), {}))),
    Op("movedim", fixed(lambda r, d: ((_u(r, (2, 3, 4), d), 0, -1), {}),
                        lambda r, d: ((_u(r, (2, 3, 4), d), (0, 1), (2, 0)), {}))),
    Op("diag", fixed(lambda r, d: ((_u(r, (3,), d),), {}), lambda r, d: ((_u(r, (3,), d), -1), {}),
                     lambda r, d: ((_u(r, (3, 4), d),), {}), lambda r, d: ((_u(r, (3, 4), d), 1),
                                                                          {}))),
    Op("diagonal", fixed(lambda r, d: ((_u(r, (3, 4), d),), {}),
                         lambda r, d: ((_u(r, (2, 3, 4), d), -1, 1, 2), {}))),
    Op("diag_embed", fixed(lambda r, d: ((_u(r, (2, 3), d),), {}),
                           lambda r, d: ((_u(r, (2, 3), d), 1), {}))),
    Op("trace", fixed(lambda r, d: ((_u(r, (3, 4), d),), {}),
                      lambda r, d: ((_u(r, (3, 3), I64),), {}))),
    Op("tril", fixed(lambda r, d: ((_u(r, (3, 4), d),), {}),
                     lambda r, d: ((_u(r, (2, 3, 4), d), -1), {}))),
    Op("triu", fixed(lambda r, d: ((_u(r, (3, 4), d),), {}),
                     lambda r, d: ((_u(r, (2, 3, 4), d), 1), {}))),
    Op("cross", fixed(lambda r, d: ((_u(r, (4, 3), d), _u(r, (4, 3), d)), {"dim": 1}),
                      lambda r, d: ((_u(r, (3, 2), d), _u(r, (3, 2), d)), {"dim": 0}))),
    Op("cdist", fixed(lambda r, d: ((_u(r, (4, 3), d), _u(r, (5, 3), d)), {}),
                      lambda r, d: ((_u(r, (2, 4, 3), d), _u(r, (2, 5, 3), d)), {"p": 1.0})),
       method=False),
    Op("kron", fixed(lambda r, d: ((_u(r, (2, 3), d), _u(r, (3, 2), d)), {}),
                     lambda r, d: ((_u(r, (2,), d), _u(r, (2, 3), d)), {}))),
    Op("block_diag", fixed(lambda r, d: ((_u(r, (2, 3), d), _u(r, (1, 2), d), _u(r, (3,), d)),
                                         {})), method=False),
    Op("meshgrid", fixed(lambda r, d: ((_u(r, (3,), d), _u(r, (2,), d)), {"indexing": "ij"}),
                         lambda r, d: ((_u(r, (3,), d), _u(r, (2,), d), _u(r, (4,), d)),
                                       {"indexing": "xy"})), method=False),
    Op("cartesian_prod", fixed(lambda r, d: ((_u(r, (3,), d), _u(r, (2,), d)), {})),
       method=False),
    Op("cov", fixed(lambda r, d: ((_u(r, (3, 6), d),), {}),
                    lambda r, d: ((_u(r, (6,), d),), {"correction": 0}))),
    Op("corrcoef", fixed(lambda r, d: ((_u(r, (3, 6), d),), {}))),
    *(Op("scatter_reduce", fixed(
        lambda r, d, m=m: ((_u(r, (3, 5), d), 1, Idx([[0, 1, 0, 3], [2, 2, 2, 0], [4, 4, 1, 1]]),
                            _u(r, (3, 4), d), m), {}),
        lambda r, d, m=m: ((_u(r, (3, 5), d), 1, Idx([[0, 1, 0, 3], [2, 2, 2, 0], [4, 4, 1, 1]]),
                            _u(r, (3, 4), d), m), {"include_self": False}),
        lambda r, d, m=m: ((_u(r, (4, 2), I64), 0, Idx([[0, 1], [0, 0], [3, 1]]),
                            _u(r, (3, 2), I64), m), {})))
      for m in ("sum", "prod", "mean", "amax", "amin")),
    Op("combinations", fixed(lambda r, d: ((_u(r, (4,), d),), {}),
                             lambda r, d: ((_u(r, (4,), d), 3), {}),
                             lambda r, d: ((_u(r, (3,), d),), {"with_replacement": True})),
       method=False),
    Op("unravel_index", fixed(lambda r, d: ((np.array([4, 7, -1, 0]), (2, 4)), {}),
                              lambda r, d: ((np.array([[5], [11]]), 12), {})),
       grad=False, method=False),
    Op("isin", fixed(lambda r, d: ((np.array([1, 2, 3, 4]), np.array([2, 4])), {}),
                     lambda r, d: ((np.array([[1.0, 2.5], [3.0, 1.0]], d), np.array([1.0], d)),
                                   {"invert": True})), grad=False, method=False),
    Op("unfold", fixed(lambda r, d: ((_u(r, (2, 12), d), 1, 4, 2), {}),
                       lambda r, d: ((_u(r, (7, 3), d), 0, 3, 3), {}),
                       lambda r, d: ((_u(r, (2, 8, 8), d), -1, 4, 4), {}),
                       lambda r, d: ((_u(r, (3, 5), d), 1, 5, 1), {})), namespace=False),
    Op("trapezoid", fixed(lambda r, d: ((_u(r, (3, 6), d),), {}),
                          lambda r, d: ((_u(r, (3, 6), d), np.sort(_u(r, (6,), d))), {}),
                          lambda r, d: ((_u(r, (3, 6), d),), {"dx": 0.5, "dim": 0})),
       method=False),
    # linear algebra
    Op("linalg.inv", fixed(_spd(3), _spd(2, (2,))), method=False),
    Op("linalg.det", fixed(_spd(3), _spd(2, (2,)), _gen(3)), method=False),
    Op("linalg.slogdet", fixed(_spd(3), _gen(3)), method=False),
    Op("linalg.solve", fixed(lambda r, d: ((_spd(3)(r, d)[0][0], _u(r, (3, 2), d)), {}),
                             lambda r, d: ((_spd(3)(r, d)[0][0], _u(r, (3,), d)), {})),
       method=False),
    Op("linalg.cholesky", fixed(_spd(3), _spd(3, (2,))), method=False),
    Op("linalg.eigvalsh", fixed(_spd(3)), method=False),
    Op("linalg.svdvals", fixed(_gen(3), lambda r, d: ((_u(r, (2, 4, 3), d),), {})),
       method=False),
    Op("linalg.norm", fixed(_gen(3), lambda r, d: ((_u(r, (3, 4), d),), {"ord": "nuc"}),
                            lambda r, d: ((_u(r, (3, 4), d),), {"ord": 1}),
                            lambda r, d: ((_u(r, (3, 4), d),), {"ord": float("inf")}),
                            lambda r, d: ((_u(r, (3, 4), d),), {"dim": 1}),
                            lambda r, d: ((_u(r, (2, 3, 4), d),), {"ord": 3, "dim": -1})),
       method=False),
    Op("linalg.vector_norm", fixed(lambda r, d: ((_u(r, (3, 4), d),), {"ord": 1}),
                                   lambda r, d: ((_u(r, (3, 4), d),), {"dim": (0, 1)})),
       method=False),
    Op("linalg.matrix_norm", fixed(_gen(3), lambda r, d: ((_u(r, (2, 3, 4), d),),
                                                          {"ord": 2})), method=False),
    Op("linalg.matrix_power", fixed(lambda r, d: ((_gen(3)(r, d)[0][0], 3), {}),
                                    lambda r, d: ((_spd(3)(r, d)[0][0], -2), {}),
                                    lambda r, d: ((_gen(3)(r, d)[0][0], 0), {})),
       method=False),
    Op("linalg.multi_dot", fixed(lambda r, d: (([_u(r, (2, 3), d), _u(r, (3, 4), d),
                                                 _u(r, (4,), d)],), {})), method=False),
    Op("inverse", fixed(_spd(3))), Op("det", fixed(_gen(3))), Op("logdet", fixed(_spd(3))),
    Op("matrix_power", fixed(lambda r, d: ((_gen(3)(r, d)[0][0], 2), {}))),
    Op("softmax", fixed(lambda r, d: ((_u(r, (3, 4), d), 1), {}),
                        lambda r, d: ((_u(r, (2, 3, 4), d), 0), {}))),
    Op("log_softmax", fixed(lambda r, d: ((_u(r, (3, 4), d), -1), {}))),
]


# ---------------------------------------------------------------------------------------------
# The runner


def _convert(arg, lib, requires_grad):
    if isinstance(arg, Idx):
        return pynn.tensor(arg.values.copy()) if lib == "pynn" else torch.from_numpy(
            arg.values.copy())
    if isinstance(arg, Mask):
        return pynn.tensor(arg.values.copy()) if lib == "pynn" else torch.from_numpy(
            arg.values.copy())
    if isinstance(arg, np.ndarray):
        rg = requires_grad and arg.dtype.kind == "f"
        if lib == "pynn":
            return pynn.tensor(arg.copy(), requires_grad=rg)
        return torch.tensor(arg.copy(), requires_grad=rg)
    if isinstance(arg, list) and arg and isinstance(arg[0], np.ndarray):
        return [_convert(a, lib, requires_grad) for a in arg]
    return arg


def _leaves(args):
    out = []
    for a in args:
        if isinstance(a, list):
            out += _leaves(a)
        elif hasattr(a, "requires_grad") and a.requires_grad:
            out.append(a)
    return out


def _flat(result):
    if isinstance(result, (tuple, list)):
        return [x for r in result for x in _flat(r)]
    return [result]


def _np(x):
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    if isinstance(x, pynn.Tensor):
        return x._data
    return x


def _kwargs(kwargs, lib):
    """torch dtypes in the arguments become pynn's (the NumPy dtype of the same name)."""
    if lib != "pynn":
        return kwargs
    def convert(v):
        if isinstance(v, torch.dtype):
            return np.dtype(str(v).removeprefix("torch."))
        if isinstance(v, torch.Tensor):
            return pynn.tensor(v.numpy().copy())
        return v

    return {k: convert(v) for k, v in kwargs.items()}


def _resolve(lib, name):
    """``lib.name``, following dots (``linalg.inv``)."""
    obj = lib
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _call(op, args, kwargs, lib):
    fn = _resolve(pynn if lib == "pynn" else torch, op.name)
    return fn(*args, **_kwargs(kwargs, lib))


def _check_same(op, got, want):
    got_flat, want_flat = _flat(got), _flat(want)
    assert len(got_flat) == len(want_flat), (op.name, got, want)
    if hasattr(want, "_fields"):
        assert tuple(got._fields) == tuple(want._fields), op.name
    for g, w in zip(got_flat, want_flat):
        if isinstance(w, torch.Tensor):
            assert isinstance(g, pynn.Tensor), (op.name, type(g))
            gn, wn = _np(g), _np(w)
            assert gn.shape == wn.shape, (op.name, gn.shape, wn.shape)
            assert gn.dtype == wn.dtype, (op.name, gn.dtype, wn.dtype)
            if wn.dtype.kind == "f":
                tol = (op.rtol, op.atol) if wn.dtype == np.float32 else (1e-9, 1e-10)
                np.testing.assert_allclose(gn, wn, rtol=tol[0], atol=tol[1], equal_nan=True,
                                           err_msg=op.name)
            else:
                np.testing.assert_array_equal(gn, wn, err_msg=op.name)
        else:
            assert g == w, (op.name, g, w)


def _ids(ops):
    seen = {}
    out = []
    for op in ops:
        seen[op.name] = seen.get(op.name, 0) + 1
        out.append(op.name if seen[op.name] == 1 else f"{op.name}-{seen[op.name]}")
    return out


NAMESPACE_OPS = [op for op in OPS if op.namespace]


def _invoke(op, lib, args, kwargs):
    kwargs = _kwargs(kwargs, "pynn" if lib is pynn else "torch")
    if op.namespace:
        return _resolve(lib, op.name)(*args, **kwargs)
    return getattr(args[0], op.name)(*args[1:], **kwargs)


@pytest.mark.parametrize("op", NAMESPACE_OPS, ids=_ids(NAMESPACE_OPS))
def test_values_match_torch(op):
    """Values, dtypes and shapes (and error types) of the namespace function."""
    for args, kwargs in op.samples(np.random.default_rng(0), F32):
        t_args = [_convert(a, "torch", False) for a in args]
        p_args = [_convert(a, "pynn", False) for a in args]
        try:
            want = _call(op, t_args, kwargs, "torch")
        except Exception as exc:  # noqa: BLE001  (PyTorch refuses: pynn must too)
            if isinstance(exc, TypeError):
                continue  # PyTorch's argument parser; pynn may take more (a scalar for a tensor)
            with pytest.raises(type(exc)):
                _call(op, p_args, kwargs, "pynn")
            continue
        got = _call(op, p_args, kwargs, "pynn")
        _check_same(op, got, want)


METHOD_OPS = [op for op in OPS if op.method]


@pytest.mark.parametrize("op", METHOD_OPS, ids=_ids(METHOD_OPS))
def test_method_is_the_function(op):
    """``t.name(...)`` is ``pynn.name`` (one implementation) and matches PyTorch's method."""
    method = getattr(pynn.Tensor, op.name)
    if op.namespace:
        fn = getattr(pynn, op.name)
        assert getattr(fn, "__wrapped__", fn) is method
    for args, kwargs in op.samples(np.random.default_rng(1), F32):
        t_args = [_convert(a, "torch", False) for a in args]
        p_args = [_convert(a, "pynn", False) for a in args]
        if not isinstance(t_args[0], torch.Tensor):
            continue
        try:
            want = getattr(t_args[0], op.name)(*t_args[1:], **kwargs)
        except Exception as exc:  # noqa: BLE001
            if isinstance(exc, TypeError):
                continue
            with pytest.raises(type(exc)):
                getattr(p_args[0], op.name)(*p_args[1:], **_kwargs(kwargs, "pynn"))
            continue
        _check_same(op, getattr(p_args[0], op.name)(*p_args[1:], **_kwargs(kwargs, "pynn")),
                    want)


GRAD_OPS = [op for op in OPS if op.grad]


@pytest.mark.parametrize("op", GRAD_OPS, ids=_ids(GRAD_OPS))
def test_gradients_match_torch(op):
    """In float64, the gradient of a random weighted sum of the outputs, for every float
    input, equals PyTorch's."""
    checked = 0
    for k, (args, kwargs) in enumerate(op.samples(np.random.default_rng(2), F64)):
        t_args = [_convert(a, "torch", True) for a in args]
        p_args = [_convert(a, "pynn", True) for a in args]
        t_leaves, p_leaves = _leaves(t_args), _leaves(p_args)
        if not t_leaves:
            continue
        try:
            want = _invoke(op, torch, t_args, kwargs)
        except Exception:  # noqa: BLE001, S112  (refusals are test_values_match_torch's)
            continue
        got = _invoke(op, pynn, p_args, kwargs)
        t_outs = [o for o in _flat(want) if isinstance(o, torch.Tensor) and o.requires_grad]
        p_outs = [o for o in _flat(got) if isinstance(o, pynn.Tensor)
                  and o._data.dtype.kind == "f"]
        if not t_outs:
            continue
        p_outs = p_outs[:len(t_outs)]
        rng = np.random.default_rng(100 + k)
        weights = [rng.uniform(-1, 1, size=o.shape) for o in t_outs]
        t_total = sum((o * torch.tensor(w)).sum() for o, w in zip(t_outs, weights))
        p_total = sum((o * pynn.tensor(w)).sum() for o, w in zip(p_outs, weights))
        t_grads = torch.autograd.grad(t_total, t_leaves, allow_unused=True)
        p_total.backward()
        for leaf, tg in zip(p_leaves, t_grads):
            pg = leaf.grad
            if tg is not None and torch._is_zerotensor(tg):
                tg = torch.zeros(tg.shape, dtype=tg.dtype)
            if tg is None or pg is None:
                # no gradient on one side: the other must be zero (or absent)
                other = tg.numpy() if tg is not None else None if pg is None else pg._data
                assert other is None or not np.any(other), (op.name, "no gradient")
                continue
            assert pg._data.dtype == np.float64
            np.testing.assert_allclose(pg._data, tg.numpy(), rtol=1e-7, atol=1e-9,
                                       err_msg=f"{op.name} sample {k}")
        checked += 1
    assert checked, f"{op.name}: no sample was differentiable"


# ---------------------------------------------------------------------------------------------
# Behaviour beyond values


def test_scalars_never_promote_and_ints_meet_floats():
    x = pynn.tensor(np.ones(3, np.float32))
    assert (x * 2.5)._data.dtype == np.float32
    assert (x + np.float64(1.0))._data.dtype == np.float32
    i = pynn.tensor(np.arange(3))
    assert (i * 2.5)._data.dtype == np.float32
    assert (i / 2)._data.dtype == np.float32
    assert (i + x)._data.dtype == np.float32
    assert (i // 2)._data.dtype == np.int64
    assert (pynn.tensor(np.ones(3, bool)) + 1)._data.dtype == np.int64
    assert (2 ** i)._data.dtype == np.int64
    assert (1 - x)._data.dtype == np.float32


def test_out_argument_writes_into_the_given_tensor():
    a = pynn.tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    out = pynn.tensor(np.zeros((2, 3), np.float32))
    res = pynn.add(a, 1.0, out=out)
    assert res is out
    np.testing.assert_array_equal(out._data, a._data + 1)
    vals = pynn.tensor(np.zeros(2, np.float32))
    idx = pynn.tensor(np.zeros(2, np.int64))
    r = pynn.max(a, 1, out=(vals, idx))
    assert r.values is vals and r.indices is idx
    np.testing.assert_array_equal(idx._data, [2, 2])
    small = pynn.tensor(np.zeros(1, np.float32))
    pynn.exp(a, out=small)  # resized, as PyTorch does
    assert small.shape == (2, 3)
    with pytest.raises(RuntimeError):
        pynn.add(a, 1.5, out=pynn.tensor(np.zeros((2, 3), np.int64)))
    w = pynn.tensor(np.ones(3, np.float32), requires_grad=True)
    with pytest.raises(RuntimeError, match="automatic differentiation"):
        pynn.mul(w, 2.0, out=pynn.tensor(np.zeros(3, np.float32)))


def test_max_along_dim_is_a_named_pair():
    x = pynn.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = x.max(dim=1)
    r = pynn.max(x, 1)
    assert type(r).__name__ == "max" and r.indices.tolist() == [1, 0]
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert pynn.max(x, pynn.tensor([2.0, 2.0, 2.0])).tolist() == [[2, 5, 2], [7, 2, 3]]


def test_transpose_properties():
    x = pynn.tensor(np.arange(24.0, dtype=np.float32).reshape(2, 3, 4), requires_grad=True)
    assert x.T.shape == (4, 3, 2)
    assert x.mT.shape == (2, 4, 3)
    x.mT.sum().backward()
    assert x.grad.shape == (2, 3, 4)


def test_in_graph_shape_ops_keep_gradients_flowing():
    x = pynn.tensor(np.arange(12.0).reshape(3, 4), requires_grad=True)
    a, b = x.split([1, 3], dim=1)
    y = (a * 2).sum() + b.flip(0).cumsum(1).sum() + x.chunk(2)[1].prod()
    y.backward()
    xt = torch.arange(12.0, dtype=torch.float64).reshape(3, 4).requires_grad_()
    at, bt = xt.split([1, 3], dim=1)
    ((at * 2).sum() + bt.flip(0).cumsum(1).sum() + xt.chunk(2)[1].prod()).backward()
    np.testing.assert_allclose(x.grad._data, xt.grad.numpy())


def test_linalg_refuses_the_gradients_it_does_not_implement():
    a = pynn.tensor(np.random.default_rng(0).standard_normal((3, 3)), requires_grad=True)
    u, s, vh = pynn.linalg.svd(a)
    s.sum().backward()  # through S: implemented
    np.testing.assert_allclose(a.grad._data, (u @ vh)._data, atol=1e-12)
    with pytest.raises(NotImplementedError, match="svd"):
        pynn.linalg.svd(a).U.sum().backward()
    with pytest.raises(NotImplementedError, match="pinv"):
        pynn.linalg.pinv(a).sum().backward()


def test_integer_input_takes_the_default_float_dtype():
    i = pynn.tensor(np.arange(1, 4))
    before = pynn.get_default_dtype()
    try:
        pynn.set_default_dtype(pynn.float64)
        torch.set_default_dtype(torch.float64)
        for name in ("exp", "sqrt", "sigmoid", "tanh"):
            assert getattr(pynn, name)(i)._data.dtype == np.float64, name
        assert (i / 2)._data.dtype == np.float64
        assert (i * 1.5)._data.dtype == np.float64
    finally:
        pynn.set_default_dtype(before)
        torch.set_default_dtype(torch.float32)
    assert pynn.exp(i)._data.dtype == np.float32


def test_half_precision_goes_through_the_float32_kernels():
    x = pynn.tensor(np.linspace(-2, 2, 5).astype(np.float16))
    for name in ("tanh", "sigmoid"):
        y = getattr(pynn, name)(x)
        want = getattr(torch, name)(torch.tensor(x._data))
        assert y._data.dtype == np.float16
        np.testing.assert_allclose(y._data, want.numpy(), atol=1e-3)


def test_sparse_tensors_are_dense_with_the_sparse_values():
    """sparse_coo_tensor (duplicates summed, size inferred or given), to_sparse and
    to_dense: the dense values PyTorch's sparse tensors hold, as ordinary tensors."""
    idx = np.array([[0, 1, 1, 3], [2, 0, 0, 1]])
    vals = np.array([1.5, -2.0, 0.5, 4.0], np.float32)
    for size, kw in [(None, {}), ((5, 3), {}), ((4, 3), {"dtype": "int64"})]:
        args = (idx, vals) if size is None else (idx, vals, size)
        t = torch.sparse_coo_tensor(*[torch.tensor(a) if isinstance(a, np.ndarray) else a
                                      for a in args],
                                    check_invariants=True,
                                    **{k: getattr(torch, v) for k, v in kw.items()})
        p = pynn.sparse_coo_tensor(*args, **{k: getattr(pynn, v) for k, v in kw.items()})
        assert p.dtype == getattr(pynn, str(t.dtype).split(".")[1])
        np.testing.assert_array_equal(p.numpy(), t.to_dense().numpy())
    dense = np.array([[0.0, 1.0], [2.0, 0.0]], np.float32)
    x = pynn.tensor(dense, requires_grad=True)
    s = x.to_sparse()
    assert not s.is_sparse and s.to_dense() is s
    np.testing.assert_array_equal(s.detach().numpy(),
                                  torch.tensor(dense).to_sparse().to_dense().numpy())
    (s @ pynn.ones(2, 1)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 2), np.float32))
    with pytest.raises(ValueError, match="out of bounds"):
        pynn.sparse_coo_tensor(idx, vals, (2, 2))
    with pytest.raises(ValueError, match="nnz"):
        pynn.sparse_coo_tensor(idx, vals[:3])
