"""``torch.special``: the special functions, by the names PyTorch gives them there.

Each is the namespace function of the same maths (``special.expit`` is :func:`pynn.sigmoid`),
so values and gradients are those of :mod:`pynn`'s math.
"""

from . import _math
from .nn import functional as _F
from .ops import special as _sp

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfcx", "erfinv", "exp2", "expit", "expm1",
    "gammainc", "gammaincc", "gammaln", "i0", "i0e", "i1", "i1e", "log1p", "log_ndtr",
    "log_softmax", "logit", "logsumexp", "multigammaln", "ndtr", "ndtri", "polygamma", "psi",
    "round", "sinc", "softmax", "spherical_bessel_j0", "xlog1py", "xlogy", "zeta",
]

digamma = psi = _math.digamma
erf = _math.erf
erfc = _math.erfc
erfinv = _math.erfinv
exp2 = _math.exp2
expit = _math.sigmoid
expm1 = _math.expm1
gammaln = _math.lgamma
log1p = _math.log1p
logit = _math.logit
logsumexp = _math.logsumexp
round = _math.round
sinc = _math.sinc
xlogy = _math.xlogy
softmax = _F.softmax
log_softmax = _F.log_softmax
i0 = _math.i0
polygamma = _math.polygamma
multigammaln = _math.mvlgamma
gammainc = _math.igamma
gammaincc = _math.igammac


def _elementwise(function, name, doc):
    def fn(input):
        return function.apply(input)

    fn.__name__ = fn.__qualname__ = name
    fn.__doc__ = (f"{doc}\n\nParameters\n----------\ninput : Tensor of any shape\n\n"
                  f"Returns\n-------\nTensor of the same shape\n    Differentiable.\n")
    return fn


i0e = _elementwise(_sp.I0eFunction, "i0e", "The exponentially scaled modified Bessel function "
                   "of order 0, ``exp(-|x|) I_0(x)``.")
i1 = _elementwise(_sp.I1Function, "i1", "The modified Bessel function of the first kind of "
                  "order 1.")
i1e = _elementwise(_sp.I1eFunction, "i1e", "The exponentially scaled modified Bessel function "
                   "of order 1, ``exp(-|x|) I_1(x)``.")
ndtri = _elementwise(_sp.NdtriFunction, "ndtri", "The standard normal quantile, the inverse "
                     "of :func:`ndtr`.")
log_ndtr = _elementwise(_sp.LogNdtrFunction, "log_ndtr", "The log of the standard normal CDF, "
                        "accurate in both tails.")
erfcx = _elementwise(_sp.ErfcxFunction, "erfcx", "The scaled complementary error function "
                     "``exp(x^2) erfc(x)``, without overflow for large x.")


def xlog1py(input, other):
    """Elementwise ``input * log1p(other)``, 0 where ``input`` is 0 (unless other is NaN).

    Parameters
    ----------
    input : Tensor or number, broadcastable with other
    other : Tensor or number, broadcastable with input

    Returns
    -------
    Tensor of the broadcast shape
    """
    return _math.xlogy(input, _math.add(other, 1))


def zeta(input, other):
    """Hurwitz's zeta function ``sum_{k >= 0} (k + q)^-x`` (``x = input``, ``q = other``).

    Parameters
    ----------
    input : Tensor or number, broadcastable with other
        ``x``, above 1 (1 gives inf).
    other : Tensor or number, broadcastable with input
        ``q``, positive.

    Returns
    -------
    Tensor of the broadcast shape
        Differentiable in ``other`` only (as PyTorch).
    """
    return _sp.ZetaFunction.apply(input, other)


def spherical_bessel_j0(input):
    """The spherical Bessel function of the first kind of order 0, ``sin(x) / x``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor of the same shape
        1 at 0, 0 at infinity; differentiable.
    """
    x = _math._as_float_tensor(_math._tensor(input))
    zero = x == 0
    safe = _math.where(zero | _math.isinf(x), 1.0, x)
    return _math.where(zero, 1.0, _math.where(_math.isinf(x), 0.0, _math.sin(safe) / safe))


def entr(input):
    """Elementwise entropy term ``-x log x`` (0 at 0, -inf below 0), as ``torch.special.entr``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        The same shape; differentiable where ``x > 0``.
    """
    return _math.where(input < 0, float("-inf"), -_math.xlogy(input, input))


def ndtr(input):
    """The standard normal CDF, ``(1 + erf(x / sqrt(2))) / 2``, as ``torch.special.ndtr``.

    Parameters
    ----------
    input : Tensor of any shape

    Returns
    -------
    Tensor
        The same shape; differentiable.
    """
    return 0.5 * (1 + _math.erf(input * 0.7071067811865476))
