"""The sets a distribution's parameters and samples live in (``torch.distributions.constraints``).

A :class:`Constraint` answers :meth:`Constraint.check` with a boolean Tensor (one answer per
event); distributions name theirs in ``arg_constraints`` and ``support``, which
``validate_args`` checks, and ``pynn.distributions.biject_to`` maps to a transform from
the real numbers.
"""

import numbers

from .. import _dtype
from .. import _factory as _f
from .. import linalg as _linalg
from ..tensor import Tensor

__all__ = [
    "Constraint", "boolean", "corr_cholesky", "dependent", "dependent_property",
    "greater_than", "greater_than_eq", "half_open_interval", "independent",
    "integer_interval", "interval", "is_dependent", "less_than", "lower_cholesky",
    "lower_triangular", "multinomial", "nonnegative", "nonnegative_integer", "one_hot",
    "positive", "positive_definite", "positive_integer", "positive_semidefinite", "real",
    "real_vector", "simplex", "square", "symmetric", "unit_interval",
]


class Constraint:
    """A set of values: :meth:`check` says which values are in it.

    ``is_discrete`` says whether the set is countable, ``event_dim`` how many rightmost
    dimensions make one element (0 for a set of numbers, 1 for vectors, 2 for matrices).
    """

    is_discrete = False
    event_dim = 0

    def check(self, value):
        """Which elements (events) of ``value`` lie in the set.

        Parameters
        ----------
        value : Tensor of shape ``(..., *event)``
            Values to test.

        Returns
        -------
        Tensor of bool, of shape ``(...)``
        """
        raise NotImplementedError

    def __repr__(self):
        return type(self).__name__.lstrip("_") + "()"


def _t(value):
    return value if isinstance(value, Tensor) else _f.tensor(value)


class _Dependent(Constraint):
    """A constraint that depends on other parameters: it cannot be checked on its own.

    Parameters
    ----------
    is_discrete, event_dim : bool, int, optional
        What the placeholder claims, when a caller needs it.
    """

    def __init__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    @property
    def is_discrete(self):
        if self._is_discrete is NotImplemented:
            raise NotImplementedError(".is_discrete cannot be determined statically")
        return self._is_discrete

    @property
    def event_dim(self):
        if self._event_dim is NotImplemented:
            raise NotImplementedError(".event_dim cannot be determined statically")
        return self._event_dim

    def __call__(self, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        return _Dependent(is_discrete=is_discrete, event_dim=event_dim)

    def check(self, value):
        raise ValueError("Cannot determine validity of dependent constraint")


def is_dependent(constraint):
    """Whether ``constraint`` is a dependent placeholder (checked elsewhere, if at all).

    Parameters
    ----------
    constraint : Constraint
        The constraint to test.

    Returns
    -------
    bool
    """
    return isinstance(constraint, _Dependent)


class dependent_property:
    """A read-only attribute whose constraint depends on the instance (``support``).

    Read on the class it is the :data:`dependent` placeholder; read on an instance it is the
    getter's value.

    Parameters
    ----------
    fn : callable
        The getter.
    is_discrete, event_dim : bool, int, optional
        What the class-level placeholder claims.
    """

    def __init__(self, fn=None, *, is_discrete=NotImplemented, event_dim=NotImplemented):
        self.fget = fn
        self._is_discrete = is_discrete
        self._event_dim = event_dim

    def __get__(self, instance, owner=None):
        if instance is None:
            return _Dependent(is_discrete=self._is_discrete, event_dim=self._event_dim)
        return self.fget(instance)

    def __set__(self, instance, value):
        raise AttributeError("can't set a dependent property")

    def __call__(self, fn):
        return dependent_property(fn, is_discrete=self._is_discrete, event_dim=self._event_dim)


class _Boolean(Constraint):
    is_discrete = True

    def check(self, value):
        return (value == 0) | (value == 1)


class _OneHot(Constraint):
    is_discrete = True
    event_dim = 1

    def check(self, value):
        return ((value == 0) | (value == 1)).all(-1) & (value.sum(-1) == 1)


class _IntegerInterval(Constraint):
    """The integers in ``[lower_bound, upper_bound]``.

    Parameters
    ----------
    lower_bound : int or Tensor
        The smallest value (broadcast).
    upper_bound : int or Tensor
        The largest value (broadcast).
    """

    is_discrete = True

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound) & (value <= self.upper_bound)

    def __repr__(self):
        return f"IntegerInterval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _IntegerGreaterThan(Constraint):
    is_discrete = True

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return (value % 1 == 0) & (value >= self.lower_bound)

    def __repr__(self):
        return f"IntegerGreaterThan(lower_bound={self.lower_bound})"


class _Real(Constraint):
    def check(self, value):
        # NaN is the one real-typed value outside the reals
        return value == value  # noqa: PLR0124


class _GreaterThan(Constraint):
    """The reals above ``lower_bound``.

    Parameters
    ----------
    lower_bound : float or Tensor
        The excluded bound (broadcast).
    """

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound < value

    def __repr__(self):
        return f"GreaterThan(lower_bound={self.lower_bound})"


class _GreaterThanEq(Constraint):
    """The reals at or above ``lower_bound``.

    Parameters
    ----------
    lower_bound : float or Tensor
        The included bound (broadcast).
    """

    def __init__(self, lower_bound):
        self.lower_bound = lower_bound

    def check(self, value):
        return self.lower_bound <= value

    def __repr__(self):
        return f"GreaterThanEq(lower_bound={self.lower_bound})"


class _LessThan(Constraint):
    """The reals below ``upper_bound``.

    Parameters
    ----------
    upper_bound : float or Tensor
        The excluded bound (broadcast).
    """

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return value < self.upper_bound

    def __repr__(self):
        return f"LessThan(upper_bound={self.upper_bound})"


class _Interval(Constraint):
    """The closed interval ``[lower_bound, upper_bound]``.

    Parameters
    ----------
    lower_bound : float or Tensor
        The lower end (broadcast).
    upper_bound : float or Tensor
        The upper end (broadcast).
    """

    def __init__(self, lower_bound, upper_bound):
        self.lower_bound, self.upper_bound = lower_bound, upper_bound

    def check(self, value):
        return (self.lower_bound <= value) & (value <= self.upper_bound)

    def __repr__(self):
        return f"Interval(lower_bound={self.lower_bound}, upper_bound={self.upper_bound})"


class _HalfOpenInterval(_Interval):
    """The interval ``[lower_bound, upper_bound)``.

    Parameters
    ----------
    lower_bound : float or Tensor
        The included lower end (broadcast).
    upper_bound : float or Tensor
        The excluded upper end (broadcast).
    """

    def check(self, value):
        return (self.lower_bound <= value) & (value < self.upper_bound)

    def __repr__(self):
        return (f"HalfOpenInterval(lower_bound={self.lower_bound}, "
                f"upper_bound={self.upper_bound})")


class _Independent(Constraint):
    """A constraint on events of ``reinterpreted_batch_ndims`` more rightmost dimensions.

    Parameters
    ----------
    base_constraint : Constraint
        The constraint each element satisfies.
    reinterpreted_batch_ndims : int
        How many more dimensions one event spans.
    """

    def __init__(self, base_constraint, reinterpreted_batch_ndims):
        if not isinstance(reinterpreted_batch_ndims, numbers.Integral) or \
                reinterpreted_batch_ndims < 0:
            raise ValueError("independent: reinterpreted_batch_ndims must be a non-negative "
                             f"int, got {reinterpreted_batch_ndims!r}")
        self.base_constraint = base_constraint
        self.reinterpreted_batch_ndims = int(reinterpreted_batch_ndims)

    @property
    def is_discrete(self):
        return self.base_constraint.is_discrete

    @property
    def event_dim(self):
        return self.base_constraint.event_dim + self.reinterpreted_batch_ndims

    def check(self, value):
        result = self.base_constraint.check(value)
        for _ in range(self.reinterpreted_batch_ndims):
            result = result.all(-1)
        return result

    def __repr__(self):
        return f"Independent({self.base_constraint!r}, {self.reinterpreted_batch_ndims})"


class _Simplex(Constraint):
    event_dim = 1

    def check(self, value):
        return (value >= 0).all(-1) & ((value.sum(-1) - 1).abs() < 1e-6)


class _Multinomial(Constraint):
    """Non-negative integer vectors summing to at most ``upper_bound``.

    Parameters
    ----------
    upper_bound : int or Tensor
        The largest total (broadcast).
    """

    is_discrete = True
    event_dim = 1

    def __init__(self, upper_bound):
        self.upper_bound = upper_bound

    def check(self, value):
        return (value >= 0).all(-1) & (value.sum(-1) <= _t(self.upper_bound))


class _LowerTriangular(Constraint):
    event_dim = 2

    def check(self, value):
        return (value.tril() == value).flatten(-2).all(-1)


class _LowerCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        lower = (value.tril() == value).flatten(-2).all(-1)
        return lower & (value.diagonal(dim1=-2, dim2=-1) > 0).all(-1)


class _CorrCholesky(Constraint):
    event_dim = 2

    def check(self, value):
        tol = 10 * float(_dtype.finfo(value.dtype).eps) * value.shape[-1]
        unit_rows = ((value.pow(2).sum(-1).sqrt() - 1).abs() <= tol).all(-1)
        return _LowerCholesky().check(value) & unit_rows


class _Square(Constraint):
    event_dim = 2

    def check(self, value):
        ok = value.shape[-1] == value.shape[-2]
        return _f.full(tuple(value.shape[:-2]), ok, dtype=_dtype.bool)


class _Symmetric(_Square):
    def check(self, value):
        if value.shape[-1] != value.shape[-2]:
            return super().check(value)
        tol = 1e-6 * (1 + value.abs().amax((-2, -1), keepdim=True))
        return ((value - value.mT).abs() <= tol).flatten(-2).all(-1)


class _PositiveSemidefinite(_Symmetric):
    def check(self, value):
        sym = super().check(value)
        if not sym.all():
            return sym
        return _linalg.eigvalsh(value).ge(0).all(-1)


class _PositiveDefinite(_Symmetric):
    def check(self, value):
        sym = super().check(value)
        if not sym.all():
            return sym
        return _linalg.eigvalsh(value).gt(0).all(-1)


#: A placeholder for a constraint that depends on other parameters.
dependent = _Dependent()
#: ``{0, 1}``.
boolean = _Boolean()
#: One-hot vectors.
one_hot = _OneHot()
#: The non-negative integers.
nonnegative_integer = _IntegerGreaterThan(0)
#: The positive integers.
positive_integer = _IntegerGreaterThan(1)
#: The integers in ``[lower_bound, upper_bound]``: ``integer_interval(lower, upper)``.
integer_interval = _IntegerInterval
#: The real numbers (anything but NaN).
real = _Real()
#: Vectors of real numbers.
real_vector = _Independent(real, 1)
#: The positive reals.
positive = _GreaterThan(0.0)
#: The non-negative reals.
nonnegative = _GreaterThanEq(0.0)
#: ``(lower_bound, inf)``: ``greater_than(lower_bound)``.
greater_than = _GreaterThan
#: ``[lower_bound, inf)``: ``greater_than_eq(lower_bound)``.
greater_than_eq = _GreaterThanEq
#: ``(-inf, upper_bound)``: ``less_than(upper_bound)``.
less_than = _LessThan
#: ``[0, 1]``.
unit_interval = _Interval(0.0, 1.0)
#: ``[lower_bound, upper_bound]``: ``interval(lower_bound, upper_bound)``.
interval = _Interval
#: ``[lower_bound, upper_bound)``: ``half_open_interval(lower_bound, upper_bound)``.
half_open_interval = _HalfOpenInterval
#: ``independent(constraint, n)``: ``constraint`` on events of its rightmost ``n`` more dims.
independent = _Independent
#: Non-negative vectors summing to 1.
simplex = _Simplex()
#: Non-negative integer vectors summing to at most ``upper_bound``: ``multinomial(n)``.
multinomial = _Multinomial
#: Lower-triangular matrices.
lower_triangular = _LowerTriangular()
#: Lower-triangular matrices with a positive diagonal.
lower_cholesky = _LowerCholesky()
#: Cholesky factors of correlation matrices (unit-norm rows).
corr_cholesky = _CorrCholesky()
#: Square matrices.
square = _Square()
#: Symmetric matrices.
symmetric = _Symmetric()
#: Symmetric positive semi-definite matrices.
positive_semidefinite = _PositiveSemidefinite()
#: Symmetric positive definite matrices.
positive_definite = _PositiveDefinite()
