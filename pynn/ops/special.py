"""Special functions of ``torch.special`` beyond the elementwise math: modified Bessel
functions of order 0 and 1, the normal quantile and log-CDF, the scaled complementary error
function, the regularised incomplete gamma functions, Hurwitz's zeta and the polygamma
functions, with the gradients PyTorch defines.

NumPy only (SciPy is not a dependency): power series where they converge fast, asymptotic
expansions where the argument is large, all in float64 and cast back to the input's dtype.
"""

import math

import numpy as np

from ..autograd import ArrayFunction
from . import unbroadcast
from .elementwise import (
    _digamma,
    _elementwise,
    _erfinv,
    _lgamma,
    _unary,
    as_float,
    float_operands,
)

_SQRT_2PI = math.sqrt(2 * math.pi)
_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_SQRT_PI = math.sqrt(math.pi)
_erfc_scalar = np.frompyfunc(math.erfc, 1, 1)


def _f64(x):
    return np.asarray(x, np.float64)


def _erfc(x):
    return _elementwise(_erfc_scalar, _f64(x))


def _back(y, like):
    """``y`` in the dtype of ``like`` (float64 work, the caller's precision out; beyond
    float32's range it is inf, as PyTorch's float32 result)."""
    with np.errstate(over="ignore"):
        return np.asarray(y).astype(np.asarray(like).dtype, copy=False)


# --- modified Bessel functions of the first kind, orders 0 and 1 ------------------------------

# Below this the power series is used (its terms peak near k = x / 2 and are summed without
# overflow in float64); above it the asymptotic expansion, whose terms shrink until about
# k = 2x, so that ~30 of them reach double precision.
_BESSEL_SERIES_MAX = 30.0


def _bessel_i_scaled(order, x):
    """``exp(-|x|) I_order(|x|)`` for order 0 or 1 (the caller restores I_1's sign)."""
    ax = np.abs(_f64(x))
    small = ax <= _BESSEL_SERIES_MAX
    out = np.empty_like(ax)
    # power series: sum_k (x/2)^(2k + order) / (k! (k + order)!)
    xs = ax[small]
    half_sq = (xs / 2) ** 2
    term = (xs / 2) ** order
    total = term.copy()
    for k in range(1, 120):
        term = term * half_sq / (k * (k + order))
        total += term
        if not np.any(term > 1e-17 * total):
            break
    out[small] = total * np.exp(-xs)
    # asymptotic: (2 pi x)^(-1/2) sum_k (-1)^k prod_{j<=k} (4 order^2 - (2j - 1)^2) / (k! (8x)^k)
    xl = ax[~small]
    mu = 4.0 * order * order
    term = np.ones_like(xl)
    total = term.copy()
    for k in range(1, 40):
        term = -term * (mu - (2 * k - 1) ** 2) / (k * 8 * xl)
        total += term
    out[~small] = total / np.sqrt(2 * np.pi * xl)
    return out


def _i0e(x):
    return _back(_bessel_i_scaled(0, x), x)


def _i1e(x):
    return _back(np.sign(_f64(x)) * _bessel_i_scaled(1, x), x)


def _i0(x):
    return _back(_bessel_i_scaled(0, x) * np.exp(np.abs(_f64(x))), x)


def _i1(x):
    x64 = _f64(x)
    return _back(np.sign(x64) * _bessel_i_scaled(1, x64) * np.exp(np.abs(x64)), x)


def _over_x(num, x, at_zero):
    """``num / x``, ``at_zero`` where x is 0 (the limit of I_1(x) / x is 1/2)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x == 0, at_zero, num / np.where(x == 0, 1, x))


I0Function = _unary("I0Function", _i0, lambda g, x, y: g * _i1(x),
                    doc="Modified Bessel function of the first kind, order 0.")
I0eFunction = _unary("I0eFunction", _i0e, lambda g, x, y: g * (_i1e(x) - np.sign(x) * y),
                     doc="``exp(-|x|) I_0(x)``.")
# I_1' = I_0 - I_1 / x, whose limit at 0 is 1 - 1/2; the scaled form also loses sign(x) I_1
I1Function = _unary("I1Function", _i1,
                    lambda g, x, y: g * (_i0(x) - _over_x(y, x, 0.5)).astype(y.dtype),
                    doc="Modified Bessel function of the first kind, order 1.")
I1eFunction = _unary("I1eFunction", _i1e,
                     lambda g, x, y: g * (_i0e(x) - _over_x(y, x, 0.5) - np.sign(x) * y)
                     .astype(y.dtype), doc="``exp(-|x|) I_1(x)``.")


# --- the normal distribution's log-CDF and quantile, the scaled erfc --------------------------

# Past these the logarithm of erfc's value loses its digits (or the value underflows), and
# the asymptotic series of the tail, whose k-th term is (2k - 1)!! / x^(2k), is exact.
_LOG_NDTR_TAIL = -20.0
_ERFCX_TAIL = 10.0


def _tail_series(x2_inv, terms=12):
    """``sum_k (-1)^k (2k - 1)!! t^k`` for ``t = x2_inv`` (the Mills-ratio series)."""
    total = np.ones_like(x2_inv)
    term = np.ones_like(x2_inv)
    for k in range(1, terms):
        term = -term * (2 * k - 1) * x2_inv
        total += term
    return total


def _log_ndtr64(x):
    x = _f64(x)
    out = np.empty_like(x)
    tail = x < _LOG_NDTR_TAIL
    upper = x > 0  # log(1 - q) with q the upper tail, not log of a sum near one
    mid = ~tail & ~upper
    out[mid] = np.log(0.5 * _erfc(-x[mid] / math.sqrt(2)))
    xu = x[upper]
    out[upper] = np.log1p(-0.5 * _erfc(xu / math.sqrt(2)))
    xt = x[tail]
    out[tail] = (-0.5 * xt * xt - np.log(-xt) - _LOG_SQRT_2PI
                 + np.log(_tail_series(1 / (xt * xt))))
    return out


def _log_ndtr(x):
    return _back(_log_ndtr64(x), x)


def _log_ndtr_grad(g, x, y):
    x64 = _f64(x)
    return (g * np.exp(-0.5 * x64 * x64 - _LOG_SQRT_2PI - _log_ndtr64(x64))).astype(g.dtype)


def _ndtri(p):
    """The standard normal quantile: Newton's method on ``log_ndtr(x) = log p`` from the
    tail's leading term (or from ``sqrt(2) erfinv(2p - 1)`` in the middle)."""
    p64 = _f64(p)
    q = np.minimum(p64, 1 - p64)  # solve for the lower tail, mirror the upper one
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(q < 0.02, -np.sqrt(-2 * np.log(np.where(q > 0, q, 1.0))), 0.0)
        mid = q >= 0.02
        if mid.any():
            x[mid] = math.sqrt(2) * _erfinv(2 * q[mid] - 1)
        logq = np.log(np.where(q > 0, q, 1.0))
        for _ in range(60):
            lx = _log_ndtr64(x)
            step = (lx - logq) * np.exp(lx + 0.5 * x * x + _LOG_SQRT_2PI)
            step = np.where(np.isfinite(step), step, 0.0)
            x = x - step
            if not np.any(np.abs(step) > 1e-15 * np.maximum(np.abs(x), 1.0)):
                break
    x = np.where(p64 > 0.5, -x, x)
    x = np.where(p64 == 0, -np.inf, np.where(p64 == 1, np.inf, x))
    x = np.where((p64 < 0) | (p64 > 1) | np.isnan(p64), np.nan, x)
    return _back(x, p)


def _erfcx(x):
    x64 = _f64(x)
    out = np.empty_like(x64)
    tail = x64 >= _ERFCX_TAIL
    xs = x64[~tail]
    with np.errstate(over="ignore", invalid="ignore"):
        out[~tail] = np.exp(xs * xs) * _erfc(xs)
    xt = x64[tail]
    out[tail] = _tail_series(1 / (2 * xt * xt), terms=20) / (xt * _SQRT_PI)
    return _back(out, x)


NdtriFunction = _unary("NdtriFunction", _ndtri,
                       lambda g, x, y: g * (_SQRT_2PI * np.exp(0.5 * _f64(y) ** 2))
                       .astype(g.dtype), doc="The standard normal quantile.")
LogNdtrFunction = _unary("LogNdtrFunction", _log_ndtr, _log_ndtr_grad,
                         doc="The log of the standard normal CDF.")
ErfcxFunction = _unary("ErfcxFunction", _erfcx,
                       lambda g, x, y: g * (2 * x * y - 2 / _SQRT_PI).astype(g.dtype),
                       doc="``exp(x^2) erfc(x)``.")


# --- incomplete gamma, zeta, polygamma ------------------------------------------------------

def _gammainc_pair(a, x):
    """The regularised lower and upper incomplete gamma functions ``(P(a, x), Q(a, x))``:
    the series of P where ``x < a + 1``, the continued fraction of Q (Lentz's method)
    elsewhere, the other as one minus it."""
    a, x = np.broadcast_arrays(_f64(a), _f64(x))
    p = np.full(a.shape, np.nan)
    q = np.full(a.shape, np.nan)
    ok = (a > 0) & (x >= 0)
    zero = ok & (x == 0)
    p[zero], q[zero] = 0.0, 1.0
    with np.errstate(divide="ignore", over="ignore", under="ignore", invalid="ignore"):
        log_front = a * np.log(np.where(x > 0, x, 1.0)) - x - _lgamma(np.where(ok, a, 1.0))
        use_series = ok & (x > 0) & (x < a + 1)
        if use_series.any():
            aa, xx, front = a[use_series], x[use_series], log_front[use_series]
            term = 1 / aa
            total = term.copy()
            for n in range(1, 2000):
                term = term * xx / (aa + n)
                total += term
                if not np.any(np.abs(term) > 1e-17 * np.abs(total)):
                    break
            p[use_series] = np.minimum(total * np.exp(front), 1.0)
            q[use_series] = 1 - p[use_series]
        use_fraction = ok & (x > 0) & ~use_series
        if use_fraction.any():
            aa, xx, front = a[use_fraction], x[use_fraction], log_front[use_fraction]
            tiny = 1e-300
            b = xx + 1 - aa
            c = np.full_like(b, 1 / tiny)
            d = 1 / b
            h = d.copy()
            for i in range(1, 2000):
                an = -i * (i - aa)
                b = b + 2
                d = an * d + b
                d = np.where(np.abs(d) < tiny, tiny, d)
                c = b + an / c
                c = np.where(np.abs(c) < tiny, tiny, c)
                d = 1 / d
                delta = d * c
                h = h * delta
                if not np.any(np.abs(delta - 1) > 1e-16):
                    break
            q[use_fraction] = np.minimum(np.exp(front) * h, 1.0)
            p[use_fraction] = 1 - q[use_fraction]
        inf = ok & np.isinf(x)
        p[inf], q[inf] = 1.0, 0.0
    return p, q


class GammaincFunction(ArrayFunction):
    """The regularised lower incomplete gamma function ``P(a, x)``, or with ``upper`` the
    upper one ``Q(a, x) = 1 - P(a, x)``; differentiable in ``x`` only, as in PyTorch."""

    @staticmethod
    def forward(ctx, a, x, upper):
        a, x = float_operands(a, x)
        ctx.save_for_backward(a, x)
        ctx.upper = upper
        p, q = _gammainc_pair(a, x)
        return (q if upper else p).astype(np.result_type(a, x), copy=False)

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        na, nx, _ = ctx.needs_input_grad
        name = "gammaincc" if ctx.upper else "gammainc"
        if na:
            raise NotImplementedError(f"{name}: the derivative with respect to the first "
                                      f"argument is not implemented (as in PyTorch)")
        gx = None
        if nx:
            a64, x64 = _f64(a), _f64(x)
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                density = np.exp((a64 - 1) * np.log(x64) - x64 - _lgamma(a64))
            gx = unbroadcast((grad * (-density if ctx.upper else density)).astype(grad.dtype),
                             np.shape(x))
        return None, gx, None


def _bernoulli_even(count):
    """B_2, B_4, ..., B_2count from the Akiyama-Tanigawa algorithm (exact rationals)."""
    from fractions import Fraction

    row = [Fraction(0)] * (2 * count + 1)
    numbers = []
    for m in range(2 * count + 1):
        row[m] = Fraction(1, m + 1)
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
        numbers.append(row[0])  # B_m (with B_1 = +1/2, unused)
    return [float(numbers[2 * j]) for j in range(1, count + 1)]


# Euler-Maclaurin for zeta: terms summed before the integral, and the B_2j / (2j)! weights
_EM_TERMS = 12
_EM_SHIFT = 9
_EM_COEF = [b / math.factorial(2 * j) for j, b in enumerate(_bernoulli_even(_EM_TERMS), 1)]


def _zeta(x, q):
    """Hurwitz's zeta ``sum_k (k + q)^-x`` by Euler-Maclaurin summation: the first
    ``_EM_SHIFT`` terms, the integral of the rest and the Bernoulli corrections."""
    x, q = np.broadcast_arrays(_f64(x), _f64(q))
    out = np.full(x.shape, np.nan)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        good = (x > 1) & (q > 0)
        xs, qs = x[good], q[good]
        total = np.zeros_like(xs)
        for k in range(_EM_SHIFT):
            total += (qs + k) ** -xs
        w = qs + _EM_SHIFT
        total += w ** (1 - xs) / (xs - 1) + 0.5 * w ** -xs
        rising = xs.copy()  # x (x + 1) ... (x + 2j - 2)
        power = w ** (-xs - 1)
        for j, coef in enumerate(_EM_COEF, 1):
            total += coef * rising * power
            rising = rising * (xs + 2 * j - 1) * (xs + 2 * j)
            power = power / (w * w)
        out[good] = total
        out[(x == 1) & (q > 0)] = np.inf
        pole = (q <= 0) & (q == np.floor(q)) & (x > 1)
        out[pole] = np.inf
        # q below 0 (not a pole) with an integer x: the terms before q + k turns positive
        # one by one (a negative base to an integer power), then the sum from there
        shift = (q < 0) & ~pole & (x > 1) & (x == np.floor(x))
        if shift.any():
            xs, qs = x[shift], q[shift]
            steps = np.ceil(-qs)
            head = np.zeros_like(xs)
            for k in range(int(steps.max())):
                head += np.where(k < steps, np.power(qs + k, -xs), 0.0)
            out[shift] = head + _zeta(xs, qs + steps)
    return out


class ZetaFunction(ArrayFunction):
    """Hurwitz's zeta ``sum_{k >= 0} (k + q)^-x`` (x > 1, q > 0); differentiable in q."""

    @staticmethod
    def forward(ctx, x, q):
        x, q = float_operands(x, q)
        ctx.save_for_backward(x, q)
        return _zeta(x, q).astype(np.result_type(x, q), copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, q = ctx.saved_tensors
        nx, nq = ctx.needs_input_grad
        if nx:
            raise NotImplementedError("zeta: the derivative with respect to x is not "
                                      "implemented (as in PyTorch)")
        gq = None
        if nq:
            gq = unbroadcast((grad * -_f64(x) * _zeta(_f64(x) + 1, q)).astype(grad.dtype),
                             np.shape(q))
        return None, gq


def _polygamma(n, x):
    """The ``n``-th derivative of digamma: ``(-1)^(n+1) n! zeta(n + 1, x)`` for n >= 1 (for
    negative x too: zeta's integer order takes negative q)."""
    if n == 0:
        return _digamma(x)
    sign = 1.0 if n % 2 else -1.0
    return _back(sign * math.factorial(n) * _zeta(n + 1.0, _f64(x)), x)


class PolygammaFunction(ArrayFunction):
    """``polygamma(n, x)``; its derivative is ``polygamma(n + 1, x)``."""

    @staticmethod
    def forward(ctx, x, n):
        x = as_float(x)
        ctx.save_for_backward(x)
        ctx.n = n
        return _polygamma(n, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return (grad * _polygamma(ctx.n + 1, x)).astype(grad.dtype), None

