"""``torch.special``: the special functions, by the names PyTorch gives them there.

Each is the namespace function of the same maths (``special.expit`` is :func:`pynn.sigmoid`),
so values and gradients are those of :mod:`pynn`'s math.
"""

from . import _math
from .nn import functional as _F

__all__ = [
    "digamma", "entr", "erf", "erfc", "erfinv", "exp2", "expit", "expm1", "gammaln", "log1p",
    "log_softmax", "logit", "logsumexp", "ndtr", "psi", "round", "sinc", "softmax", "xlogy",
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
