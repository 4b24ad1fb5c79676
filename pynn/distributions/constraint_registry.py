"""Transforms from unconstrained space onto constrained sets (``biject_to``, ``transform_to``).

``biject_to(c)`` is a bijection from the reals (of the right event shape) onto ``c``, for
reparameterising a constrained parameter in optimisation or HMC; ``transform_to(c)`` need
only map onto ``c`` (the simplex is reached by softmax rather than stick breaking).
"""

import numbers

from . import constraints, transforms

__all__ = ["ConstraintRegistry", "biject_to", "transform_to"]


class ConstraintRegistry:
    """A table from constraints to factories ``factory(constraint) -> Transform``.

    Called with a constraint, it returns the Transform for it. A factory registered for a
    constraint object serves that object; one registered for a constraint class serves every
    instance of it (``greater_than(3.0)``).

    Parameters
    ----------
    constraint : Constraint
        (of a call) The constraint to reach; NotImplementedError if none is registered.
    """

    def __init__(self):
        self._by_object = {}
        self._by_type = {}

    def register(self, constraint, factory=None):
        """Register ``factory`` for ``constraint`` (an object or a class); a decorator when
        ``factory`` is omitted.

        Parameters
        ----------
        constraint : Constraint or type
            What the factory serves.
        factory : callable, optional
            ``factory(constraint) -> Transform``.

        Returns
        -------
        callable
            The factory (or the decorator).
        """
        if factory is None:
            return lambda f: self.register(constraint, f)
        if isinstance(constraint, type):
            if not issubclass(constraint, constraints.Constraint):
                raise TypeError("Expected constraint to be either a Constraint subclass or "
                                f"instance, but got {constraint}")
            self._by_type[constraint] = factory
        elif isinstance(constraint, constraints.Constraint):
            self._by_object[id(constraint)] = (constraint, factory)
        else:
            raise TypeError("Expected constraint to be either a Constraint subclass or "
                            f"instance, but got {constraint}")
        return factory

    def __call__(self, constraint):
        hit = self._by_object.get(id(constraint))
        if hit is not None and hit[0] is constraint:
            return hit[1](constraint)
        for cls in type(constraint).__mro__:
            if cls in self._by_type:
                return self._by_type[cls](constraint)
        raise NotImplementedError(f"Cannot transform {type(constraint).__name__} constraints")


#: Bijections from unconstrained space onto a constraint's set: ``biject_to(constraint)``.
biject_to = ConstraintRegistry()
#: Maps from unconstrained space onto a constraint's set: ``transform_to(constraint)``.
transform_to = ConstraintRegistry()


def _both(constraint):
    def decorator(factory):
        biject_to.register(constraint, factory)
        transform_to.register(constraint, factory)
        return factory
    return decorator


@_both(constraints.real)
def _to_real(constraint):
    return transforms.identity_transform


@_both(type(constraints.real_vector))
def _to_independent(constraint):
    inner = biject_to(constraint.base_constraint)
    return transforms.IndependentTransform(inner, constraint.reinterpreted_batch_ndims)


@_both(constraints.positive)
@_both(constraints.nonnegative)
def _to_positive(constraint):
    return transforms.ExpTransform()


def _is_zero(bound):
    return isinstance(bound, numbers.Number) and bound == 0


@_both(constraints.greater_than)
@_both(constraints.greater_than_eq)
def _to_greater_than(constraint):
    if _is_zero(constraint.lower_bound):
        return transforms.ExpTransform()
    return transforms.ComposeTransform([transforms.ExpTransform(),
                                        transforms.AffineTransform(constraint.lower_bound, 1)])


@_both(constraints.less_than)
def _to_less_than(constraint):
    return transforms.ComposeTransform([transforms.ExpTransform(),
                                        transforms.AffineTransform(constraint.upper_bound, -1)])


@_both(constraints.unit_interval)
@_both(constraints.interval)
@_both(constraints.half_open_interval)
def _to_interval(constraint):
    lo, hi = constraint.lower_bound, constraint.upper_bound
    if isinstance(lo, numbers.Number) and isinstance(hi, numbers.Number) and lo == 0 and hi == 1:
        return transforms.SigmoidTransform()
    return transforms.ComposeTransform([transforms.SigmoidTransform(),
                                        transforms.AffineTransform(lo, hi - lo)])


@biject_to.register(constraints.simplex)
def _biject_to_simplex(constraint):
    return transforms.StickBreakingTransform()


@transform_to.register(constraints.simplex)
def _transform_to_simplex(constraint):
    return transforms.SoftmaxTransform()


@transform_to.register(constraints.lower_cholesky)
def _to_lower_cholesky(constraint):
    return transforms.LowerCholeskyTransform()


@_both(constraints.corr_cholesky)
def _to_corr_cholesky(constraint):
    return transforms.CorrCholeskyTransform()


@transform_to.register(constraints.positive_definite)
def _transform_to_positive_definite(constraint):
    return transforms.PositiveDefiniteTransform()
