"""``pynn.func``: PyTorch's function transforms (``torch.func``, once functorch).

:func:`grad`, :func:`vjp`, :func:`jvp`, :func:`jacrev`, :func:`jacfwd`, :func:`hessian` and
:func:`linearize` turn a function of Tensors into one that computes derivatives;
:func:`vmap` maps a function over a batch dimension; :func:`functional_call` runs a module
with parameters and buffers passed in, and :func:`stack_module_state` stacks the state of
an ensemble of modules for it. They compose as in PyTorch, so per-sample gradients read::

    def loss_fn(params, x, y):
        out = functional_call(model, params, (x.unsqueeze(0),))
        return F.cross_entropy(out, y.unsqueeze(0))

    per_sample = vmap(grad(loss_fn), in_dims=(None, 0, 0))(params, xs, ys)

How pynn does it
----------------
The derivatives are pynn's reverse-mode autograd (:func:`pynn.autograd.grad`), run on the
function's result: the arguments being differentiated enter the function as fresh leaves
(or as views, when they already require grad, so an outer derivative still sees them).
The graph of the backward itself is recorded only when something outside needs it: an
argument that requires grad (the transform is nested inside another, or the result is
differentiated by ordinary autograd), or a captured Tensor that requires grad; then the
results stay differentiable. Forward mode (:func:`jvp`, :func:`jacfwd`, :func:`linearize`)
is computed in reverse mode: ``jvp`` by the double-backward trick (the derivative of
``u^T J`` with respect to ``u``, which needs the ops' recorded backward), ``jacfwd`` as
:func:`jacrev`; the values are those of forward mode. Where an op has no recorded backward
(the fused convolution + max-pool), ``jvp`` uses the Jacobian instead, and a gradient that
should be recorded is computed plainly with a RuntimeWarning: right, but not differentiable
again.

:func:`vmap` runs the function once per slice of the batch and stacks the results: correct
for every function (control flow on values, ``.item()``, in-place writes included), but it
costs a call per sample, where PyTorch runs one batched call. ``chunk_size`` is accepted and
changes nothing.

Arguments and results may be pytrees: Tensors in (nested) tuples, lists and dicts.
"""

import functools
import numbers
import warnings

import numpy as np

from .autograd import enable_grad, is_grad_enabled
from .autograd import grad as _autograd_grad
from .tensor import Tensor, _wrap

__all__ = [
    "functional_call",
    "functionalize",
    "grad",
    "grad_and_value",
    "hessian",
    "jacfwd",
    "jacrev",
    "jvp",
    "linearize",
    "replace_all_batch_norm_modules_",
    "stack_module_state",
    "vjp",
    "vmap",
]


# ---------------------------------------------------------------------------------------------
# Pytrees: Tensors (and other leaves) in nested tuples, lists and dicts

_LEAF = None  # the spec of a leaf


def _is_namedtuple(x):
    return isinstance(x, tuple) and hasattr(type(x), "_fields")


def _flatten(tree):
    """``(leaves, spec)``: the leaves in order, and what :func:`_unflatten` rebuilds from."""
    leaves = []

    def walk(x):
        if isinstance(x, dict):
            keys = list(x)
            return (type(x), keys, [walk(x[k]) for k in keys])
        if isinstance(x, (tuple, list)):
            return (type(x), None, [walk(v) for v in x])
        leaves.append(x)
        return _LEAF

    return leaves, walk(tree)


def _unflatten(leaves, spec):
    it = iter(leaves)

    def build(s):
        if s is _LEAF:
            return next(it)
        kind, keys, children = s
        values = [build(c) for c in children]
        if keys is not None:
            return kind(zip(keys, values))
        if kind is tuple or kind is list:
            return kind(values)
        return kind(*values)  # a namedtuple

    return build(spec)


def _spec_str(spec):
    if spec is _LEAF:
        return "*"
    kind, keys, children = spec
    inner = ", ".join(_spec_str(c) if keys is None else f"{k!r}: {_spec_str(c)}"
                      for k, c in zip(keys or children, children))
    return f"{kind.__name__}({inner})"


def _count(spec):
    return 1 if spec is _LEAF else sum(_count(c) for c in spec[2])


def _broadcast(prefix, spec, is_leaf_value):
    """The values of ``prefix`` (a pytree whose leaves satisfy ``is_leaf_value``, matching a
    prefix of ``spec``) repeated over the leaves of ``spec``; None when they do not match."""
    if is_leaf_value(prefix):
        return [prefix] * _count(spec)
    if spec is _LEAF:
        return None
    kind, keys, children = spec
    if isinstance(prefix, dict):
        if keys is None or not issubclass(kind, dict) or set(prefix) != set(keys):
            return None
        parts = [prefix[k] for k in keys]
    elif isinstance(prefix, (tuple, list)):
        if keys is not None or len(prefix) != len(children):
            return None
        if isinstance(prefix, list) != issubclass(kind, list):
            return None
        parts = list(prefix)
    else:
        return None
    out = []
    for p, c in zip(parts, children):
        sub = _broadcast(p, c, is_leaf_value)
        if sub is None:
            return None
        out.extend(sub)
    return out


def _is_dim(x):
    return x is None or (isinstance(x, numbers.Integral) and not isinstance(x, bool))


def _name(func):
    return getattr(func, "__name__", type(func).__name__)


# ---------------------------------------------------------------------------------------------
# Differentiation


def _check_argnums(argnums, nargs, who):
    if isinstance(argnums, numbers.Integral) and not isinstance(argnums, bool):
        nums = (int(argnums),)
    elif (isinstance(argnums, tuple) and argnums
          and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in argnums)):
        nums = tuple(int(a) for a in argnums)
    else:
        raise RuntimeError(f"{who}: argnums must be an int or a non-empty tuple of ints, got "
                           f"{argnums!r}")
    out = []
    for a in nums:
        if not -nargs <= a < nargs:
            raise RuntimeError(f"{who}: got argnums={a}, but there are only {nargs} "
                               "positional inputs")
        out.append(a % nargs)
    if len(set(out)) != len(out):
        raise RuntimeError(f"{who}: argnums elements must be unique, got {argnums}")
    return out


def _check_leaf(x, who, what="input"):
    if not isinstance(x, Tensor):
        raise ValueError(  # noqa: TRY004 (as torch)
            f"{who}: every {what} to differentiate must be a Tensor, got "
            f"{type(x).__name__}")
    if x._data.dtype.kind not in "fc":
        raise RuntimeError(f"{who}: only Tensors of floating point dtype can be "
                           f"differentiated, got an {what} of dtype {x.dtype}")


def _enter(x):
    """``x`` as the function sees it: a view that keeps its history when it requires grad
    (so an outer derivative reaches through), else a fresh leaf."""
    if x.requires_grad and is_grad_enabled():
        return x.view_as(x)
    return x.detach().requires_grad_(True)


def _depends_outside(roots, inner):
    """Whether the graphs of ``roots`` reach a Tensor requiring grad other than ``inner``
    (a captured Tensor: the derivative must then be recorded for it)."""
    from .autograd import AccumulateGrad

    inner_ids = {id(t) for t in inner}
    inner_nodes = {id(t.grad_fn) for t in inner if t.grad_fn is not None}
    seen = set()
    stack = []
    for r in roots:
        if isinstance(r, Tensor) and r.requires_grad:
            if r.grad_fn is None:
                if id(r) not in inner_ids:
                    return True
            else:
                stack.append(r.grad_fn)
    while stack:
        node = stack.pop()
        if id(node) in seen or id(node) in inner_nodes:
            continue
        seen.add(id(node))
        try:
            edges = node.next_functions
        except (AttributeError, TypeError):
            return True  # a node we cannot see into: assume the worst
        for parent, _ in edges:
            if parent is None:
                continue
            if isinstance(parent, AccumulateGrad):
                if id(parent.variable) not in inner_ids:
                    return True
            else:
                stack.append(parent)
    return False


class _Traced:
    """One run of a function on prepared inputs, whose graph the transforms differentiate.

    ``args`` are the positional arguments with the differentiated ones (those of
    ``argnums``) replaced by :func:`_enter`'s; ``inner[k]`` is the flat list of the
    prepared leaves of ``argnums[k]``; ``record`` says whether derivatives must carry a graph.
    """

    def __init__(self, func, args, kwargs, argnums, who, has_aux=False):
        self.argnums = argnums
        args = list(args)
        self.inner, self.specs, outer = [], [], []
        for a in argnums:
            leaves, spec = _flatten(args[a])
            for leaf in leaves:
                _check_leaf(leaf, who)
            prepared = [_enter(t) for t in leaves]
            outer.extend(leaves)
            self.inner.append(prepared)
            self.specs.append(spec)
            args[a] = _unflatten(prepared, spec)
        with enable_grad():
            out = func(*args, **kwargs)
        self.aux = None
        if has_aux:
            if not (isinstance(out, tuple) and len(out) == 2):
                raise RuntimeError(f"{who}: the function must return a tuple (output, aux) "
                                   f"when has_aux is True, got {type(out).__name__}")
            out, self.aux = out
        self.output = out
        self.out_leaves, self.out_spec = _flatten(out)
        flat_inner = [t for group in self.inner for t in group]
        self.record = is_grad_enabled() and (
            any(t.requires_grad for t in outer)
            or _depends_outside([o for o in self.out_leaves if isinstance(o, Tensor)],
                                flat_inner))

    @property
    def flat_inner(self):
        return [t for group in self.inner for t in group]

    def grads(self, outputs, cotangents, create_graph, fallback=True):
        """The gradients of ``outputs`` weighted by ``cotangents`` with respect to every
        prepared input (zeros where they do not depend on it), flat.

        With ``fallback``, an op whose backward cannot be recorded makes the gradients
        plain ones, with a warning, rather than fail."""
        inputs = self.flat_inner
        if not inputs:  # differentiating with respect to empty containers
            return []
        pairs = [(o, c) for o, c in zip(outputs, cotangents)
                 if isinstance(o, Tensor) and o.requires_grad and c is not None]
        if not pairs:
            return [_zeros_like(t) for t in inputs]
        outs, cots = [o for o, _ in pairs], [c for _, c in pairs]
        try:
            res = _autograd_grad(outs, inputs, cots, retain_graph=True,
                                 create_graph=create_graph, allow_unused=True)
        except NotImplementedError as e:
            if not (create_graph and fallback):
                raise
            warnings.warn(f"pynn.func: {e}; the derivative is computed without recording its "
                          "backward, so it cannot be differentiated again", RuntimeWarning,
                          stacklevel=4)
            res = _autograd_grad(outs, inputs, cots, retain_graph=True, allow_unused=True)
        return [_zeros_like(t) if g is None else g for g, t in zip(res, inputs)]

    def per_arg(self, flat, single):
        """Flat per-leaf values back into each argument's structure; one argument's alone
        when ``argnums`` was an int."""
        out, i = [], 0
        for group, spec in zip(self.inner, self.specs):
            out.append(_unflatten(flat[i:i + len(group)], spec))
            i += len(group)
        return out[0] if single else tuple(out)

    def finish(self, tree):
        """Results leave the transform detached unless the derivative is recorded."""
        return tree if self.record else _detach_tree(tree)


def _zeros_like(t):
    return _wrap(np.zeros(t._data.shape, t._data.dtype), None)


def _detach_tree(tree):
    leaves, spec = _flatten(tree)
    return _unflatten([t.detach() if isinstance(t, Tensor) else t for t in leaves], spec)


def _argnums_single(argnums):
    return isinstance(argnums, numbers.Integral)


def grad_and_value(func, argnums=0, has_aux=False):
    """A function returning both the gradient of ``func`` and its value.

    As ``torch.func.grad_and_value``: see :func:`grad`.

    Parameters
    ----------
    func : callable
        Returns a Tensor of one element (and an auxiliary value with ``has_aux``).
    argnums : int or tuple of int
        The positional arguments to differentiate with respect to (each a Tensor or a pytree
        of Tensors).
    has_aux : bool
        ``func`` returns ``(output, aux)``; aux is passed through.

    Returns
    -------
    callable
        Takes ``func``'s arguments and returns ``(gradient, value)``, or
        ``(gradient, (value, aux))`` with ``has_aux``.
    """

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        who = "grad_and_value(f)(*args)"
        nums = _check_argnums(argnums, len(args), who)
        run = _Traced(func, args, kwargs, nums, who, has_aux)
        out = run.output
        if not isinstance(out, Tensor):
            raise RuntimeError(  # noqa: TRY004 (as torch)
                f"{who}: expected f(*args) to return a Tensor, got "
                f"{type(out).__name__}")
        if out.ndim != 0:
            raise RuntimeError(f"{who}: expected f(*args) to return a scalar Tensor, got a "
                               f"tensor with {out.ndim} dims. Maybe you wanted to use the vjp "
                               "or jacrev APIs instead?")
        ones = _wrap(np.ones((), out._data.dtype), None)
        flat = run.grads([out], [ones], run.record)
        g = run.finish(run.per_arg(flat, _argnums_single(argnums)))
        value = run.finish(out)
        if has_aux:
            return g, (value, run.finish(run.aux))
        return g, value

    return wrapper


def grad(func, argnums=0, has_aux=False):
    """The gradient of ``func`` with respect to its arguments, as a function.

    As ``torch.func.grad``: ``grad(f)(x)`` is ``df/dx`` at ``x``, for ``f`` returning a
    Tensor of one element. Transforms nest: ``grad(grad(f))`` is the second derivative of a
    scalar function, and ``vmap(grad(f))`` gives per-sample gradients. An argument the
    output does not depend on gets zeros.

    Parameters
    ----------
    func : callable
        Takes Tensors (or pytrees of them) and returns a 0-d Tensor (and an auxiliary value
        with ``has_aux``).
    argnums : int or tuple of int
        The positional arguments to differentiate with respect to.
    has_aux : bool
        ``func`` returns ``(output, aux)``: the gradient function returns
        ``(gradient, aux)``.

    Returns
    -------
    callable
        Takes ``func``'s arguments; returns the gradient shaped like the argument (a tuple
        over ``argnums`` when it is a tuple; the argument's pytree structure for a pytree).

    Examples
    --------
    >>> import pynn
    >>> from pynn.func import grad
    >>> grad(lambda x: (x ** 3).sum())(pynn.tensor([1.0, 2.0]))
    tensor([ 3., 12.])
    """
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        g, value = gv(*args, **kwargs)
        if has_aux:
            return g, value[1]
        return g

    return wrapper


def vjp(func, *primals, has_aux=False):
    """``func``'s output at ``primals`` and a function computing vector-Jacobian products.

    As ``torch.func.vjp``. ``vjp_fn(cotangents)`` (cotangents shaped like the output, in its
    structure) returns ``v^T J`` for each primal, as a tuple; it may be called many times.

    Parameters
    ----------
    func : callable
        Takes the primals; returns a Tensor or a pytree of Tensors (and an auxiliary value
        with ``has_aux``).
    *primals : Tensor or pytree of Tensor, of any shapes
        The point to differentiate at.
    has_aux : bool
        ``func`` returns ``(output, aux)``.

    Returns
    -------
    output : Tensor or pytree of Tensor
        ``func(*primals)``.
    vjp_fn : callable
        ``vjp_fn(cotangents)`` -> tuple of the primals' gradients (each in its primal's
        structure).
    aux : any
        Only with ``has_aux``.
    """
    who = "vjp(f, *primals)"
    if not primals:
        raise RuntimeError(f"{who}: expected at least one primal")
    run = _Traced(func, primals, {}, list(range(len(primals))), who, has_aux)
    for o in run.out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(  # noqa: TRY004 (as torch)
                f"{who}: expected f(*primals) to return only Tensors, got "
                f"{type(o).__name__}")

    def vjp_fn(cotangents, *, retain_graph=True, create_graph=None):
        leaves, spec = _flatten(cotangents)
        if spec != run.out_spec:
            raise RuntimeError("vjp_fn: expected the cotangents to have the structure of "
                               f"the function's output, {_spec_str(run.out_spec)}, got "
                               f"{_spec_str(spec)}")
        for i, (c, o) in enumerate(zip(leaves, run.out_leaves)):
            if not isinstance(c, Tensor):
                raise RuntimeError(  # noqa: TRY004 (as torch)
                    f"vjp_fn: cotangent {i} must be a Tensor, got "
                    f"{type(c).__name__}")
            if tuple(c.shape) != tuple(o.shape):
                raise RuntimeError(f"vjp_fn: mismatch in shape: cotangent {i} has shape "
                                   f"{tuple(c.shape)} and output {i} has shape "
                                   f"{tuple(o.shape)}")
        record = run.record or any(c.requires_grad for c in leaves)
        if create_graph is not None:
            record = record or bool(create_graph)
        flat = run.grads(run.out_leaves, leaves, record)
        res = run.per_arg(flat, False)
        return res if record else _detach_tree(res)

    out = run.finish(run.output)
    if has_aux:
        return out, vjp_fn, run.finish(run.aux)
    return out, vjp_fn


def _linear_map(func, primals, who, has_aux=False):
    """Trace ``func`` at ``primals`` for forward products: ``(run, tangent_fn)`` where
    ``tangent_fn(tangent leaves, record)`` gives the output leaves' ``J v``.

    Through the double backward (``J v`` is the derivative of ``u^T J v`` with respect to
    ``u``) when every op has a recorded backward; otherwise from the Jacobian itself (one
    backward per output element, and the products are not differentiable again)."""
    if not isinstance(primals, tuple):
        raise RuntimeError(  # noqa: TRY004 (as torch)
            f"{who}: expected primals to be a tuple, e.g. it should be valid to "
            f"call f(*primals); got {type(primals).__name__}")
    run = _Traced(func, primals, {}, list(range(len(primals))), who, has_aux)
    for o in run.out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(  # noqa: TRY004 (as torch)
                f"{who}: expected f(*primals) to return only Tensors, got "
                f"{type(o).__name__}")
    with enable_grad():
        us = [_zeros_like(o).requires_grad_(True) if o._data.dtype.kind in "fc" else None
              for o in run.out_leaves]
        try:
            firsts = run.grads(run.out_leaves, us, True, fallback=False)
        except NotImplementedError:
            return run, _jacobian_products(run)

    def tangent_fn(tangents, record):
        with enable_grad():
            pairs = [(f, t) for f, t in zip(firsts, tangents) if f.requires_grad]
            live = [u for u, o in zip(us, run.out_leaves) if u is not None and o.requires_grad]
            if not pairs or not live:
                return [_zeros_like(o) for o in run.out_leaves]
            res = _autograd_grad([f for f, _ in pairs], live, [t for _, t in pairs],
                                 retain_graph=True, create_graph=record, allow_unused=True)
        by_id = {id(u): g for u, g in zip(live, res)}
        return [_zeros_like(o) if by_id.get(id(u)) is None else by_id[id(u)]
                for u, o in zip(us, run.out_leaves)]

    return run, tangent_fn


def _jacobian_products(run):
    """``tangent_fn`` for :func:`_linear_map` from the Jacobian blocks of ``run``."""
    from ._autograd_functional import _jacobian_rows

    inner = tuple(run.flat_inner)
    with enable_grad():
        blocks = [_jacobian_rows(o, inner, False, False) if o.requires_grad else None
                  for o in run.out_leaves]

    def tangent_fn(tangents, record):
        out = []
        for o, row in zip(run.out_leaves, blocks):
            acc = np.zeros(o._data.shape, np.result_type(o._data.dtype, np.float32))
            for j, t in zip(row or (), tangents):
                acc = acc + np.tensordot(j._data, t._data, axes=t._data.ndim)
            out.append(_wrap(acc.astype(o._data.dtype, copy=False), None))
        return out

    return tangent_fn


def _check_tangents(primals, tangents, who):
    if not isinstance(tangents, tuple):
        raise RuntimeError(  # noqa: TRY004 (as torch)
            f"{who}: expected tangents to be a tuple, got "
            f"{type(tangents).__name__}")
    p_leaves, p_spec = _flatten(primals)
    t_leaves, t_spec = _flatten(tangents)
    if p_spec != t_spec:
        raise RuntimeError(f"{who}: expected primals and tangents to have the same python "
                           f"structure, got primals {_spec_str(p_spec)} and tangents "
                           f"{_spec_str(t_spec)}")
    for i, (p, t) in enumerate(zip(p_leaves, t_leaves)):
        if not isinstance(t, Tensor):
            raise RuntimeError(  # noqa: TRY004 (as torch)
                f"{who}: tangent {i} must be a Tensor, got {type(t).__name__}")
        if isinstance(p, Tensor) and tuple(p.shape) != tuple(t.shape):
            raise RuntimeError(f"{who}: tangent {i} has shape {tuple(t.shape)} but its primal "
                               f"has shape {tuple(p.shape)}")
    return t_leaves


def jvp(func, primals, tangents, *, strict=False, has_aux=False):
    """``func``'s output at ``primals`` and its Jacobian-vector product with ``tangents``.

    As ``torch.func.jvp``; computed by the double-backward trick (see the module docstring).

    Parameters
    ----------
    func : callable
        Takes the primals; returns a Tensor or a pytree of Tensors (and an auxiliary value
        with ``has_aux``).
    primals : tuple of (Tensor or pytree of Tensor), of any shapes
        ``func(*primals)`` is the point.
    tangents : tuple, shaped like primals
        The direction, in the same structure as ``primals``.
    strict : bool
        Accepted for PyTorch's signature (PyTorch itself raises that it is not implemented).
    has_aux : bool
        ``func`` returns ``(output, aux)``.

    Returns
    -------
    output : Tensor or pytree of Tensor
        ``func(*primals)``.
    jvp_out : Tensor or pytree of Tensor
        ``J v``, in the output's structure.
    aux : any
        Only with ``has_aux``.
    """
    who = "jvp(f, primals, tangents)"
    if strict:
        raise RuntimeError(f"{who}: strict=True is not supported")
    if not isinstance(primals, tuple):
        raise RuntimeError(  # noqa: TRY004 (as torch)
            f"{who}: expected primals to be a tuple, e.g. it should be valid to "
            f"call f(*primals); got {type(primals).__name__}")
    t_leaves = _check_tangents(primals, tangents, who)
    run, tangent_fn = _linear_map(func, primals, who, has_aux)
    record = run.record or any(t.requires_grad for t in t_leaves)
    out = _unflatten(tangent_fn(t_leaves, record), run.out_spec)
    res = (run.finish(run.output), out if record else _detach_tree(out))
    return res + (run.finish(run.aux),) if has_aux else res


def linearize(func, *primals):
    """``func``'s output at ``primals`` and a function computing its Jacobian-vector products.

    As ``torch.func.linearize``: ``jvp_fn(*tangents)`` equals ``jvp(func, primals,
    tangents)[1]``, with ``func`` run once for all calls.

    Parameters
    ----------
    func : callable
        Takes the primals; returns a Tensor or a pytree of Tensors.
    *primals : Tensor or pytree of Tensor, of any shapes
        The point.

    Returns
    -------
    output : Tensor or pytree of Tensor
        ``func(*primals)``.
    jvp_fn : callable
        ``jvp_fn(*tangents)`` -> ``J v`` in the output's structure.
    """
    who = "linearize(f, *primals)"
    run, tangent_fn = _linear_map(func, primals, who)

    def jvp_fn(*tangents):
        t_leaves = _check_tangents(primals, tangents, "linearize: jvp_fn(*tangents)")
        record = run.record or any(t.requires_grad for t in t_leaves)
        out = _unflatten(tangent_fn(t_leaves, record), run.out_spec)
        return out if record else _detach_tree(out)

    return run.finish(run.output), jvp_fn


def jacrev(func, argnums=0, *, has_aux=False, chunk_size=None, _preallocate_and_copy=False):
    """The Jacobian of ``func`` with respect to the arguments ``argnums``, by reverse mode.

    As ``torch.func.jacrev``: one backward per output element. For an output of shape ``O``
    and an input of shape ``I`` the block has shape ``O + I``; the result has the output's
    structure, each leaf holding the input's structure (a tuple over ``argnums`` when it is
    a tuple).

    Parameters
    ----------
    func : callable
        Returns a Tensor or a pytree of Tensors (and an auxiliary value with ``has_aux``).
    argnums : int or tuple of int
        The positional arguments to differentiate with respect to.
    has_aux : bool
        ``func`` returns ``(output, aux)``: the Jacobian function returns
        ``(jacobian, aux)``.
    chunk_size : int, optional
        Accepted for PyTorch's signature (one backward per output element either way).
    _preallocate_and_copy : bool
        Accepted for PyTorch's signature.

    Returns
    -------
    callable
        Takes ``func``'s arguments and returns the Jacobian.
    """
    if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral)
                                   or chunk_size <= 0):
        raise ValueError(f"jacrev: chunk_size should be None or greater than 0, got "
                         f"{chunk_size!r}")
    return _jacobian(func, argnums, has_aux, "jacrev")


def jacfwd(func, argnums=0, has_aux=False, *, randomness="error"):
    """The Jacobian of ``func`` with respect to the arguments ``argnums`` (forward mode's).

    As ``torch.func.jacfwd``; pynn computes it as :func:`jacrev` does (same values, same
    structure).

    Parameters
    ----------
    func : callable
        Returns a Tensor or a pytree of Tensors (and an auxiliary value with ``has_aux``).
    argnums : int or tuple of int
        The positional arguments to differentiate with respect to.
    has_aux : bool
        ``func`` returns ``(output, aux)``.
    randomness : {"error", "different", "same"}
        Accepted for PyTorch's signature (``func`` runs once).

    Returns
    -------
    callable
        Takes ``func``'s arguments and returns the Jacobian.
    """
    _check_randomness(randomness)
    return _jacobian(func, argnums, has_aux, "jacfwd")


def _jacobian(func, argnums, has_aux, name):
    from ._autograd_functional import _jacobian_rows

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        who = f"{name}(f)(*args)"
        nums = _check_argnums(argnums, len(args), who)
        run = _Traced(func, args, kwargs, nums, who, has_aux)
        blocks = []
        for o in run.out_leaves:
            if not isinstance(o, Tensor):
                raise RuntimeError(  # noqa: TRY004 (as torch)
                    f"{who}: expected f(*args) to return only Tensors, got "
                    f"{type(o).__name__}")
            if o.requires_grad:
                with enable_grad():
                    flat = list(_jacobian_rows(o, tuple(run.flat_inner), run.record, False))
            else:
                flat = [_wrap(np.zeros(tuple(o.shape) + tuple(t.shape), t._data.dtype), None)
                        for t in run.flat_inner]
            blocks.append(run.per_arg(flat, _argnums_single(argnums)))
        jac = run.finish(_unflatten(blocks, run.out_spec))
        if has_aux:
            return jac, run.finish(run.aux)
        return jac

    return wrapper


def hessian(func, argnums=0):
    """The Hessian of the scalar function ``func``: ``jacfwd(jacrev(func, argnums), argnums)``.

    As ``torch.func.hessian``: for an input of shape ``I`` the result has shape ``I + I``.

    Parameters
    ----------
    func : callable
        Returns a Tensor of one element.
    argnums : int or tuple of int
        The positional arguments to differentiate with respect to.

    Returns
    -------
    callable
        Takes ``func``'s arguments and returns the Hessian.
    """
    return jacfwd(jacrev(func, argnums), argnums)


# ---------------------------------------------------------------------------------------------
# vmap


def _check_randomness(randomness):
    if randomness not in ("error", "different", "same"):
        raise RuntimeError(f"Only allowed values for randomness are 'error', 'different', or "
                           f"'same'. Got {randomness!r}")


def _rng_state():
    from .random import default_generator

    rng = default_generator._rng
    return rng, rng.bit_generator.state


def vmap(func, in_dims=0, out_dims=0, randomness="error", *, chunk_size=None):
    """``func`` mapped over a dimension of its inputs, as ``torch.func.vmap``.

    ``vmap(f)(x)`` stacks ``f(x[i])`` over ``i``: ``func`` is written for one sample and
    the mapped function takes a batch. pynn runs ``func`` once per slice and stacks the
    results (every function works; the cost is one call per sample). Nested ``vmap`` maps
    over several dimensions, and it composes with :func:`grad` and the other transforms.

    Parameters
    ----------
    func : callable
        Takes Tensors (or pytrees of them) and other values; returns a Tensor or a pytree of
        Tensors.
    in_dims : int, None or tuple
        The mapped dimension of each input: an int for all of them, or a tuple with one
        entry per positional argument, each an int, None (not mapped: passed whole to every
        call) or a nested structure matching that argument's. Keyword arguments are never
        mapped.
    out_dims : int, None or tuple
        Where the mapped dimension goes in each output (an int for all, or one per output of
        a tuple); None for an output that does not depend on the mapped inputs (returned
        once; ValueError if it differs between samples).
    randomness : {"error", "different", "same"}
        What random operations in ``func`` do: raise RuntimeError, draw differently for
        each sample, or draw the same values for every sample.
    chunk_size : int, optional
        Accepted for PyTorch's signature (pynn runs one sample at a time).

    Returns
    -------
    callable
        The batched function.

    Examples
    --------
    >>> import pynn
    >>> from pynn.func import vmap
    >>> vmap(pynn.dot)(pynn.ones(3, 2), pynn.ones(3, 2))
    tensor([2., 2., 2.])
    """
    _check_randomness(randomness)
    if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral)
                                   or chunk_size <= 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got "
                         f"{chunk_size})")

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        who = f"vmap({_name(func)}, in_dims={in_dims}, ...)(<inputs>)"
        if not args:
            raise ValueError(f"vmap({_name(func)})(<inputs>): got no inputs. Maybe you forgot "
                             "to add inputs, or you are trying to vmap over a function with no "
                             "inputs. The latter is unsupported.")
        if not (_is_dim(in_dims) and in_dims is not None or isinstance(in_dims, tuple)):
            raise ValueError(f"{who}: expected `in_dims` to be int or a (potentially nested) "
                             "tuple matching the structure of inputs, got: "
                             f"{type(in_dims)}.")
        leaves, spec = _flatten(tuple(args))
        dims = _broadcast(in_dims, spec, _is_dim)
        if dims is None:
            raise ValueError(f"{who}: in_dims is not compatible with the structure of "
                             f"`inputs`. in_dims has structure {_spec_str(_flatten(in_dims)[1])} "
                             f"but inputs has structure {_spec_str(spec)}.")
        mapped, sizes = [], []
        for x, d in zip(leaves, dims):
            if d is None:
                mapped.append(None)
                continue
            if not isinstance(x, Tensor):
                raise ValueError(  # noqa: TRY004 (as torch)
                    f"{who}: got in_dim={d} for an input but the input is of type "
                    f"{type(x)}. We cannot vmap over non-Tensor arguments, please "
                    "use None as the respective in_dim")
            n = x.ndim
            if not -n <= d < n:
                raise ValueError(f"{who}: got in_dim={d} for some input, but that input is a "
                                 f"Tensor of dimensionality {n} so expected in_dim to satisfy "
                                 f"-{n} <= in_dim < {n}.")
            mapped.append(d % n)
            sizes.append(x.shape[d % n])
        if not sizes:
            raise ValueError(f"{who}: at least one input must be mapped (in_dims is None for "
                             "every Tensor input)")
        if len(set(sizes)) != 1:
            raise ValueError(f"vmap: expected all tensors to have the same size in the mapped "
                             f"dimension, got sizes {sizes} for the mapped dimension")
        size = sizes[0]

        def call(i):
            flat = [x if d is None else (x.select(d, i) if i is not None else _empty_slice(x, d))
                    for x, d in zip(leaves, mapped)]
            return func(*_unflatten(flat, spec), **kwargs)

        if size == 0:
            return _empty_result(call, out_dims, func)
        results = []
        if randomness == "same":
            rng, state = _rng_state()
        for i in range(size):
            if randomness == "same":
                rng.bit_generator.state = state
            elif randomness == "error":
                before = _rng_state()
            results.append(call(i))
            if randomness == "error":
                after = _rng_state()
                if after[0] is not before[0] or after[1] != before[1]:
                    raise RuntimeError("vmap: called random operation while in randomness "
                                       "error mode. Please either use the 'same' or "
                                       "'different' randomness flags on vmap or perform the "
                                       "randomness operation out of vmap")
        return _stack_results(results, out_dims, func)

    return wrapper


def _empty_slice(x, d):
    shape = tuple(x.shape[:d]) + tuple(x.shape[d + 1:])
    return _wrap(np.zeros(shape, x._data.dtype), None)


def _out_dims_for(out_dims, spec, func):
    dims = _broadcast(out_dims, spec, _is_dim)
    if dims is None:
        raise ValueError(f"vmap({_name(func)}, ..., out_dims={out_dims})(<inputs>): out_dims is "
                         "not compatible with the structure of `outputs`. out_dims has "
                         f"structure {_spec_str(_flatten(out_dims)[1])} but outputs has "
                         f"structure {_spec_str(spec)}.")
    return dims


def _stack_results(results, out_dims, func):
    from .tensor import stack

    leaves0, spec = _flatten(results[0])
    dims = _out_dims_for(out_dims, spec, func)
    columns = [leaves0]
    for r in results[1:]:
        leaves, s = _flatten(r)
        if s != spec:
            raise ValueError(f"vmap({_name(func)}, ...): the function returned outputs of "
                             f"different structures for different samples: {_spec_str(spec)} "
                             f"and {_spec_str(s)}")
        columns.append(leaves)
    out = []
    for k, d in enumerate(dims):
        if d is None:
            # an output that differs between samples depended on the mapped inputs
            if any(not _same_value(leaves0[k], c[k]) for c in columns[1:]):
                raise ValueError(f"vmap({_name(func)}, ...): `{_name(func)}` can not return a "
                                 "batched output when out_dim is None (it differs between "
                                 "samples)")
            out.append(leaves0[k])
            continue
        if not isinstance(leaves0[k], Tensor):
            raise ValueError(  # noqa: TRY004 (as torch)
                f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                f"Tensors, got type {type(leaves0[k])}. Did you mean to set "
                "out_dims= to None for output?")
        out.append(stack([c[k] for c in columns], dim=d))
    return _unflatten(out, spec)


def _same_value(a, b):
    if isinstance(a, Tensor) and isinstance(b, Tensor):
        return a._data.shape == b._data.shape and np.array_equal(a._data, b._data,
                                                                 equal_nan=a._data.dtype.kind
                                                                 in "fc")
    return a is b or a == b


def _empty_result(call, out_dims, func):
    """A batch of zero samples: ``func`` runs once on zeros for the outputs' shapes."""
    from .autograd import no_grad

    with no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sample = call(None)
    leaves, spec = _flatten(sample)
    dims = _out_dims_for(out_dims, spec, func)
    out = []
    for x, d in zip(leaves, dims):
        if d is None:
            out.append(x)
            continue
        if not isinstance(x, Tensor):
            raise ValueError(  # noqa: TRY004 (as torch)
                f"vmap({_name(func)}, ...): `{_name(func)}` must only return "
                f"Tensors, got type {type(x)}. Did you mean to set out_dims= to "
                "None for output?")
        shape = list(x.shape)
        n = len(shape) + 1
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, "
                             f"{n - 1}], but got {d})")
        shape.insert(d % n, 0)
        out.append(_wrap(np.zeros(shape, x._data.dtype), None))
    return _unflatten(out, spec)


# ---------------------------------------------------------------------------------------------
# Modules as functions


def _param_groups(module):
    """``{dotted name: [names sharing that Tensor]}`` over parameters and buffers."""
    by_id, order = {}, []
    for name, t in list(module.named_parameters(remove_duplicate=False)) + list(
            module.named_buffers(remove_duplicate=False)):
        if id(t) not in by_id:
            by_id[id(t)] = []
            order.append(id(t))
        by_id[id(t)].append(name)
    return {name: group for key in order for group in [by_id[key]] for name in group}


def _swap(module, name, value):
    """Put ``value`` at the dotted ``name``; return how to undo it."""
    path, _, attr = name.rpartition(".")
    owner = module.get_submodule(path)
    for reg in ("_parameters", "_buffers"):
        table = owner.__dict__[reg]
        if attr in table:
            old = table[attr]
            table[attr] = value
            return lambda: table.__setitem__(attr, old)
    d = owner.__dict__
    if attr in d:
        old = d[attr]
        d[attr] = value
        return lambda: d.__setitem__(attr, old)
    d[attr] = value
    return lambda: d.pop(attr, None)


def functional_call(module, parameter_and_buffer_dicts, args=None, kwargs=None, *,
                    tie_weights=True, strict=False):
    """Run ``module`` with the parameters and buffers given in place of its own.

    As ``torch.func.functional_call``: the module's own are put back afterwards, and
    gradients flow to the Tensors passed in.

    Parameters
    ----------
    module : Module
        The module to call.
    parameter_and_buffer_dicts : dict or sequence of dict
        ``{dotted name: Tensor}`` (as ``named_parameters`` names them); several dicts must not
        share a key. Names not given keep the module's own.
    args : any or tuple, optional
        The positional arguments of the call (a value that is not a tuple is the only one).
    kwargs : dict, optional
        The keyword arguments of the call.
    tie_weights : bool
        A Tensor the module uses under several names (tied weights) is replaced under all of
        them when one is given; giving several of them different values is a ValueError.
    strict : bool
        The dicts must give every parameter and buffer and nothing else (RuntimeError).

    Returns
    -------
    any
        What ``module(*args, **kwargs)`` returns.
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        given = dict(parameter_and_buffer_dicts)
    elif isinstance(parameter_and_buffer_dicts, (tuple, list)):
        given, seen = {}, set()
        dup = []
        for d in parameter_and_buffer_dicts:
            if not isinstance(d, dict):
                raise TypeError("functional_call: expected parameter_and_buffer_dicts to be a "
                                f"dict or a sequence of dicts, got an entry of type "
                                f"{type(d).__name__}")
            dup.extend(k for k in d if k in seen)
            seen.update(d)
            given.update(d)
        if dup:
            raise ValueError(f"{sorted(set(dup))} appeared in multiple dictionaries; behavior "
                             "of functional call is ambiguous")
    else:
        raise TypeError("functional_call: expected parameter_and_buffer_dicts to be a dict or "
                        f"a sequence of dicts, got {type(parameter_and_buffer_dicts).__name__}")
    groups = _param_groups(module)
    if tie_weights:
        tied = {}
        for name, value in list(given.items()):
            for other in groups.get(name, ()):
                if other in given and given[other] is not value:
                    raise ValueError(f"functional_call got multiple values for keys "
                                     f"{sorted(k for k in groups[name] if k in given)}, which "
                                     "are tied. Consider using tie_weights=False")
                tied.setdefault(other, value)
        for other, value in tied.items():
            given.setdefault(other, value)
    if strict:
        names = set(groups)
        unexpected = [k for k in given if k not in names]
        missing = [k for k in groups if k not in given]
        if unexpected or missing:
            lines = []
            if unexpected:
                lines.append("Unexpected key(s): " + ", ".join(f"'{k}'" for k in unexpected)
                             + ".")
            if missing:
                lines.append("Missing key(s): " + ", ".join(f"'{k}'" for k in missing) + ".")
            raise RuntimeError(f"Error(s) in reparametrizing for {type(module).__name__}:\n\t"
                               + "\n\t".join(lines))
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    undo = []
    try:
        for name, value in given.items():
            undo.append(_swap(module, name, value))
        return module(*args, **(kwargs or {}))
    finally:
        for restore in reversed(undo):
            restore()


def stack_module_state(models):
    """The parameters and buffers of same-shaped modules, stacked along a new first dim.

    As ``torch.func.stack_module_state``, for running an ensemble with :func:`vmap` over
    :func:`functional_call`. The stacked parameters are new leaves (they require grad when
    the models' do); the buffers are stacked plainly.

    Parameters
    ----------
    models : sequence of Module
        Modules of one class, all in training or all in evaluation mode.

    Returns
    -------
    params : dict of str to Tensor
        ``{name: Tensor of shape (len(models), *param.shape)}``.
    buffers : dict of str to Tensor
        The same for the buffers.
    """
    from .tensor import stack

    models = list(models)
    if not models:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if len({m.training for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to have the same "
                           "training/eval mode.")
    if len({type(m) for m in models}) != 1:
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")

    def stacked(named, kind):
        out = {}
        for name, _ in named(models[0]):
            ts = [dict(named(m))[name] for m in models]
            flags = {t.requires_grad for t in ts}
            if len(flags) != 1:
                raise RuntimeError(f"stack_module_state: expected {kind} {name} of every model "
                                   "to have the same .requires_grad")
            s = stack([t.detach() for t in ts])
            out[name] = s.requires_grad_(True) if flags.pop() else s
        return out

    return (stacked(lambda m: m.named_parameters(), "parameter"),
            stacked(lambda m: m.named_buffers(), "buffer"))


def replace_all_batch_norm_modules_(root):
    """Make every batch norm in ``root`` use batch statistics only, in place.

    As ``torch.func.replace_all_batch_norm_modules_``: the running statistics are removed
    and ``track_running_stats`` is turned off, so that :func:`vmap` does not write them.

    Parameters
    ----------
    root : Module
        The model; its batch-norm layers are changed.

    Returns
    -------
    Module
        ``root``.
    """
    from .nn.normalization import _BatchNorm

    for m in root.modules():
        if isinstance(m, _BatchNorm):
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
            m.track_running_stats = False
    return root


def functionalize(func, *, remove="mutations"):
    """``func`` itself: pynn runs eagerly, and in-place writes are fine under its transforms.

    As ``torch.func.functionalize``, whose purpose (removing mutations from traced
    programs) pynn has no use for.

    Parameters
    ----------
    func : callable
        The function.
    remove : {"mutations", "mutations_and_views"}
        Checked and otherwise ignored.

    Returns
    -------
    callable
        ``func``.
    """
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument "
                           f"for remove={remove!r}; expected 'mutations' or "
                           "'mutations_and_views'")
    return func
