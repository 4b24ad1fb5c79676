"""Invertible maps between constraint sets (``torch.distributions.transforms``).

A :class:`Transform` maps ``x`` to ``y = t(x)``, inverts it (``t.inv(y)``) and gives
``log |dy/dx|`` (:meth:`Transform.log_abs_det_jacobian`), which is what
:class:`~pynn.distributions.TransformedDistribution` needs to turn a base density into the
density of the transformed variable. All are built from Tensor operations, so gradients flow
through them.
"""

import math
import numbers
import weakref

import numpy as np

from .. import _dtype
from .. import _factory as _f
from .. import linalg as _linalg
from ..nn import functional as _F
from ..tensor import Tensor
from . import constraints
from .utils import sum_rightmost

__all__ = [
    "AbsTransform",
    "AffineTransform",
    "ComposeTransform",
    "CorrCholeskyTransform",
    "CumulativeDistributionTransform",
    "ExpTransform",
    "IndependentTransform",
    "LowerCholeskyTransform",
    "PositiveDefiniteTransform",
    "PowerTransform",
    "ReshapeTransform",
    "SigmoidTransform",
    "SoftmaxTransform",
    "SoftplusTransform",
    "StickBreakingTransform",
    "TanhTransform",
    "Transform",
    "identity_transform",
]


class Transform:
    """An invertible (or at least right-invertible) map with a log-Jacobian.

    ``domain`` and ``codomain`` are the constraints of ``x`` and ``y``; ``bijective`` says
    whether ``inv`` is a true inverse; ``sign`` is the sign of a monotone map's derivative.

    Parameters
    ----------
    cache_size : int
        0, or 1 to remember the last ``(x, y)`` pair so that ``inv`` of a computed ``y``
        gives back exactly that ``x`` (the inverse of ``tanh`` near 1 is not exact otherwise).
    """

    bijective = False
    domain = constraints.real
    codomain = constraints.real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError(f"Transform: cache_size must be 0 or 1, got {cache_size!r}")
        self._cache_size = cache_size
        self._cached = None
        self._inv = None

    @property
    def event_dim(self):
        """How many rightmost dimensions make one event (domain and codomain agreeing)."""
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self):
        """The inverse transform (``inv(t)(y) == t.inv(y)``)."""
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = weakref.ref(inv)
        return inv

    @property
    def sign(self):
        """``+1`` or ``-1``: whether the map increases or decreases (monotone maps only)."""
        raise NotImplementedError(f"{type(self).__name__} has no sign")

    def with_cache(self, cache_size=1):
        """This transform with the given cache size.

        Parameters
        ----------
        cache_size : int
            0 or 1.

        Returns
        -------
        Transform
        """
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    __hash__ = object.__hash__

    def __call__(self, x):
        if self._cache_size == 0:
            return self._call(x)
        if self._cached is not None and self._cached[0] is x:
            return self._cached[1]
        y = self._call(x)
        self._cached = (x, y)
        return y

    def _inv_call(self, y):
        if self._cache_size == 0:
            return self._inverse(y)
        if self._cached is not None and self._cached[1] is y:
            return self._cached[0]
        x = self._inverse(y)
        self._cached = (x, y)
        return x

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x, y):
        """``log |det dy/dx|`` for ``y = self(x)``, one value per event.

        Parameters
        ----------
        x : Tensor of the domain's shape
            The input.
        y : Tensor of the codomain's shape
            ``self(x)``.

        Returns
        -------
        Tensor of shape ``x.shape`` less the domain's event dimensions
        """
        raise NotImplementedError(f"{type(self).__name__} has no log_abs_det_jacobian")

    def forward_shape(self, shape):
        """The shape of ``self(x)`` for ``x`` of ``shape``.

        Parameters
        ----------
        shape : tuple of int
            The input's shape.

        Returns
        -------
        tuple of int
        """
        return shape

    def inverse_shape(self, shape):
        """The shape of ``self.inv(y)`` for ``y`` of ``shape``.

        Parameters
        ----------
        shape : tuple of int
            The output's shape.

        Returns
        -------
        tuple of int
        """
        return shape

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """The inverse of a transform, swapping its directions."""

    def __init__(self, transform):
        super().__init__(cache_size=transform._cache_size)
        self._inverted = transform

    @property
    def domain(self):
        return self._inverted.codomain

    @property
    def codomain(self):
        return self._inverted.domain

    @property
    def bijective(self):
        return self._inverted.bijective

    @property
    def sign(self):
        return self._inverted.sign

    @property
    def inv(self):
        return self._inverted

    def with_cache(self, cache_size=1):
        return self._inverted.with_cache(cache_size).inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inverted == other._inverted

    __hash__ = object.__hash__

    def __call__(self, x):
        return self._inverted._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inverted.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inverted.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inverted.forward_shape(shape)

    def __repr__(self):
        return f"{self._inverted!r}.inv"


class ComposeTransform(Transform):
    """Several transforms applied in order: ``parts[-1](...parts[0](x))``.

    Parameters
    ----------
    parts : list of Transform
        The transforms, first applied first. An empty list is the identity.
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    def __init__(self, parts, cache_size=0):
        if cache_size:
            parts = [p.with_cache(cache_size) for p in parts]
        super().__init__(cache_size=cache_size)
        self.parts = list(parts)

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    __hash__ = object.__hash__

    @property
    def domain(self):
        if not self.parts:
            return constraints.real
        domain = self.parts[0].domain
        # the event dims the first part must see for the last part's codomain to be events
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        if event_dim > domain.event_dim:
            domain = constraints.independent(domain, event_dim - domain.event_dim)
        return domain

    @property
    def codomain(self):
        if not self.parts:
            return constraints.real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        if event_dim > codomain.event_dim:
            codomain = constraints.independent(codomain, event_dim - codomain.event_dim)
        return codomain

    @property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @property
    def sign(self):
        s = 1
        for p in self.parts:
            s = s * p.sign
        return s

    @property
    def inv(self):
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = weakref.ref(inv)
            inv._inv = weakref.ref(self)
        return inv

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return _f.zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total = 0.0
        event_dim = self.domain.event_dim
        for part, a, b in zip(self.parts, xs[:-1], xs[1:]):
            term = part.log_abs_det_jacobian(a, b)
            total = total + sum_rightmost(term, event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self):
        return "ComposeTransform(" + ", ".join(repr(p) for p in self.parts) + ")"


#: The identity map (an empty :class:`ComposeTransform`).
identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """A transform whose rightmost ``reinterpreted_batch_ndims`` batch dims join the event.

    The log-Jacobian is summed over those dimensions.

    Parameters
    ----------
    base_transform : Transform
        The elementwise (or lower event-rank) transform.
    reinterpreted_batch_ndims : int
        How many batch dimensions become event dimensions.
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    def __init__(self, base_transform, reinterpreted_batch_ndims, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims,
                                    cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(self.base_transform.domain,
                                       self.reinterpreted_batch_ndims)

    @property
    def codomain(self):
        return constraints.independent(self.base_transform.codomain,
                                       self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        return self.base_transform(x)

    def _inverse(self, y):
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        return sum_rightmost(self.base_transform.log_abs_det_jacobian(x, y),
                             self.reinterpreted_batch_ndims)

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)

    def __eq__(self, other):
        return (isinstance(other, IndependentTransform)
                and self.base_transform == other.base_transform
                and self.reinterpreted_batch_ndims == other.reinterpreted_batch_ndims)

    __hash__ = object.__hash__

    def __repr__(self):
        return f"IndependentTransform({self.base_transform!r}, {self.reinterpreted_batch_ndims})"


def _same_kind(self, other):
    return type(self) is type(other)


class ExpTransform(Transform):
    """``y = exp(x)``, from the reals onto the positive reals.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """``y = x ** exponent`` on the positive reals.

    Parameters
    ----------
    exponent : Tensor or float
        The power (broadcasting with ``x``).
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.exponent = exponent if isinstance(exponent, Tensor) else _f.tensor(float(exponent))

    def with_cache(self, cache_size=1):
        return self if self._cache_size == cache_size else PowerTransform(self.exponent,
                                                                            cache_size)

    @property
    def sign(self):
        return self.exponent.sign()

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and bool(self.exponent.eq(other.exponent).all())

    __hash__ = object.__hash__

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return tuple(np.broadcast_shapes(tuple(shape), tuple(self.exponent.shape)))

    inverse_shape = forward_shape


def _clipped_sigmoid(x):
    finfo = _dtype.finfo(x.dtype)
    return x.sigmoid().clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))


class SigmoidTransform(Transform):
    """``y = sigmoid(x)``, from the reals onto the unit interval.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        finfo = _dtype.finfo(y.dtype)
        y = y.clamp(min=float(finfo.tiny), max=1.0 - float(finfo.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        # log(s (1 - s)) = -softplus(-x) - softplus(x)
        return -_F.softplus(-x) - _F.softplus(x)


class TanhTransform(Transform):
    """``y = tanh(x)``, from the reals onto ``(-1, 1)`` (a squashed Gaussian policy's map).

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`); use 1 to invert samples near ±1 exactly.
    """

    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return 0.5 * ((1 + y).log() - (1 - y).log())

    def log_abs_det_jacobian(self, x, y):
        # log(1 - tanh(x)^2) written without tanh, stable for large |x|
        return 2.0 * (math.log(2.0) - x - _F.softplus(-2.0 * x))


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))``, from the reals onto the positive reals.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return _F.softplus(x)

    def _inverse(self, y):
        return y + (-(-y).expm1()).log()

    def log_abs_det_jacobian(self, x, y):
        return -_F.softplus(-x)


class AbsTransform(Transform):
    """``y = |x|`` (not injective: ``inv`` gives the non-negative preimage).

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real
    codomain = constraints.positive
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    """``y = loc + scale * x``.

    Parameters
    ----------
    loc : Tensor or float
        The shift (broadcasting with ``x``).
    scale : Tensor or float
        The scale (broadcasting with ``x``; non-zero).
    event_dim : int
        How many rightmost dimensions make one event (the log-Jacobian sums over them).
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, event_dim

    @property
    def event_dim(self):
        return self._event_dim

    @property
    def domain(self):
        if self._event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self._event_dim)

    codomain = domain

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if isinstance(a, numbers.Number) and isinstance(b, numbers.Number):
                if a != b:
                    return False
            elif not bool((_f.as_tensor(a) == _f.as_tensor(b)).all()):
                return False
        return self._event_dim == other._event_dim

    __hash__ = object.__hash__

    @property
    def sign(self):
        if isinstance(self.scale, numbers.Real):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        scale = self.scale
        if isinstance(scale, numbers.Real):
            result = _f.full_like(x, math.log(abs(scale)))
        else:
            result = scale.abs().log()
            if tuple(result.shape) != tuple(x.shape):
                result = result.expand(*np.broadcast_shapes(tuple(result.shape),
                                                            tuple(x.shape)))
        return sum_rightmost(result, self._event_dim)

    def forward_shape(self, shape):
        return tuple(np.broadcast_shapes(tuple(shape), tuple(getattr(self.loc, "shape", ())),
                                         tuple(getattr(self.scale, "shape", ()))))

    inverse_shape = forward_shape

    def __repr__(self):
        return f"AffineTransform(loc={self.loc}, scale={self.scale})"


class SoftmaxTransform(Transform):
    """``y = softmax(x)`` over the last dimension, onto the simplex (not injective).

    ``inv`` gives ``log y``, one of the preimages; there is no log-Jacobian.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return x.softmax(-1)

    def _inverse(self, y):
        return y.log()


class StickBreakingTransform(Transform):
    """A bijection from ``K - 1`` reals onto the ``K``-simplex by stick breaking.

    Each coordinate, shifted so that zero input gives the uniform point, takes the sigmoid
    fraction of the stick that is left.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True
    __eq__ = _same_kind
    __hash__ = object.__hash__

    @staticmethod
    def _offset(k, like):
        # log of (k, k-1, ..., 1): makes x = 0 the simplex's centre
        return _f.tensor(np.log(np.arange(k, 0, -1, dtype=np.float64)), dtype=like.dtype)

    def _call(self, x):
        z = _clipped_sigmoid(x - self._offset(x.shape[-1], x))
        left = (1 - z).cumprod(-1)
        return _F.pad(z, (0, 1), value=1.0) * _F.pad(left, (1, 0), value=1.0)

    def _inverse(self, y):
        head = y[..., :-1]
        rest = (1 - head.cumsum(-1)).clamp(min=float(_dtype.finfo(y.dtype).tiny))
        return head.log() - rest.log() + self._offset(head.shape[-1], y)

    def log_abs_det_jacobian(self, x, y):
        x = x - self._offset(x.shape[-1], x)
        return (-x - _F.softplus(-x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("StickBreakingTransform: expected at least one dimension")
        return tuple(shape[:-1]) + (shape[-1] + 1,)

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("StickBreakingTransform: expected at least one dimension")
        return tuple(shape[:-1]) + (shape[-1] - 1,)


class LowerCholeskyTransform(Transform):
    """Square matrices to lower-triangular ones with a positive diagonal.

    Keeps the strictly lower triangle and exponentiates the diagonal (not injective on full
    matrices; no log-Jacobian).

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    """Square matrices to positive definite ones: ``L L^T`` of :class:`LowerCholeskyTransform`.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite
    __eq__ = _same_kind
    __hash__ = object.__hash__

    def _call(self, x):
        low = LowerCholeskyTransform()(x)
        return low @ low.mT

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(_linalg.cholesky(y))


class ReshapeTransform(Transform):
    """Events of ``in_shape`` reshaped to ``out_shape`` (a bijection, log-Jacobian 0).

    Parameters
    ----------
    in_shape : tuple of int
        The event shape of the input.
    out_shape : tuple of int
        The event shape of the output, of the same number of elements.
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    bijective = True

    def __init__(self, in_shape, out_shape, cache_size=0):
        self.in_shape, self.out_shape = tuple(in_shape), tuple(out_shape)
        if math.prod(self.in_shape) != math.prod(self.out_shape):
            raise ValueError("in_shape, out_shape have different numbers of elements: "
                             f"{self.in_shape} vs {self.out_shape}")
        super().__init__(cache_size=cache_size)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    @property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def __eq__(self, other):
        return (isinstance(other, ReshapeTransform) and self.in_shape == other.in_shape
                and self.out_shape == other.out_shape)

    __hash__ = object.__hash__

    def _call(self, x):
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.reshape(*batch, *self.out_shape)

    def _inverse(self, y):
        batch = tuple(y.shape[:y.dim() - len(self.out_shape)])
        return y.reshape(*batch, *self.in_shape)

    def log_abs_det_jacobian(self, x, y):
        batch = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return _f.zeros(batch, dtype=x.dtype)

    def forward_shape(self, shape):
        cut = len(shape) - len(self.in_shape)
        if cut < 0 or tuple(shape[cut:]) != self.in_shape:
            raise ValueError(f"Shape mismatch: expected {tuple(shape[cut:])} but got "
                             f"{self.in_shape}")
        return tuple(shape[:cut]) + self.out_shape

    def inverse_shape(self, shape):
        cut = len(shape) - len(self.out_shape)
        if cut < 0 or tuple(shape[cut:]) != self.out_shape:
            raise ValueError(f"Shape mismatch: expected {tuple(shape[cut:])} but got "
                             f"{self.out_shape}")
        return tuple(shape[:cut]) + self.in_shape


class CumulativeDistributionTransform(Transform):
    """``y = distribution.cdf(x)``: a distribution's support onto the unit interval.

    Its inverse is ``icdf`` and its log-Jacobian ``log_prob`` (a copula's building block).

    Parameters
    ----------
    distribution : Distribution
        A univariate distribution with ``cdf``, ``icdf`` and ``log_prob``.
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)


class CorrCholeskyTransform(Transform):
    """Unconstrained vectors to Cholesky factors of correlation matrices.

    A vector of ``D (D - 1) / 2`` reals becomes, through ``tanh``, the partial correlations of
    the strictly lower triangle (row by row); each row is then stick-broken onto the unit
    sphere, so ``L L^T`` has a unit diagonal.

    Parameters
    ----------
    cache_size : int
        0 or 1 (see :class:`Transform`).
    """

    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True
    __eq__ = _same_kind
    __hash__ = object.__hash__

    @staticmethod
    def _size(n):
        d = round((1 + math.sqrt(1 + 8 * n)) / 2)
        if d * (d - 1) // 2 != n:
            raise ValueError(f"CorrCholeskyTransform: {n} is not a triangular number "
                             "D (D - 1) / 2")
        return d

    @staticmethod
    def _lower(d):
        rows, cols = np.tril_indices(d, -1)
        return rows * d + cols

    def _call(self, x):
        n = x.shape[-1]
        d = self._size(n)
        eps = float(_dtype.finfo(x.dtype).eps)
        z = x.tanh().clamp(min=-1 + eps, max=1 - eps)
        # slot n holds 0: every position outside the strict lower triangle reads it
        where = np.full(d * d, n)
        where[self._lower(d)] = np.arange(n)
        flat = _F.pad(z, (0, 1)).index_select(-1, _f.tensor(where))
        r = flat.reshape(*x.shape[:-1], d, d)
        left = (1 - r.pow(2)).sqrt().cumprod(-1)
        left = _F.pad(left[..., :-1], (1, 0), value=1.0)
        return (r + _f.eye(d, dtype=x.dtype)) * left

    def _inverse(self, y):
        d = y.shape[-1]
        left = 1 - y.pow(2).cumsum(-1)
        left = _F.pad(left[..., :-1], (1, 0), value=1.0)
        eps = float(_dtype.finfo(y.dtype).eps)
        z = (y / left.clamp(min=eps).sqrt()).reshape(*y.shape[:-2], d * d)
        z = z.index_select(-1, _f.tensor(self._lower(d))).clamp(min=-1 + eps, max=1 - eps)
        return 0.5 * (z.log1p() - (-z).log1p())

    def log_abs_det_jacobian(self, x, y):
        d = y.shape[-1]
        left = 1 - y.pow(2).cumsum(-1)
        left = _F.pad(left[..., :-1], (1, 0), value=1.0)
        left = left.reshape(*y.shape[:-2], d * d).index_select(-1, _f.tensor(self._lower(d)))
        stick = 0.5 * left.log().sum(-1)
        squash = 2.0 * (math.log(2.0) - x - _F.softplus(-2.0 * x))
        return stick + squash.sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("CorrCholeskyTransform: expected at least one dimension")
        d = self._size(shape[-1])
        return tuple(shape[:-1]) + (d, d)

    def inverse_shape(self, shape):
        if len(shape) < 2 or shape[-1] != shape[-2]:
            raise ValueError("CorrCholeskyTransform: expected square matrices")
        d = shape[-1]
        return tuple(shape[:-2]) + (d * (d - 1) // 2,)
