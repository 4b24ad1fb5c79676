"""``pynn.autograd.functional``: PyTorch's higher-level differentiation of a function of
Tensors, ``vjp``, ``jvp``, ``jacobian``, ``hessian``, ``vhp`` and ``hvp``.

All are reverse mode, built on :func:`pynn.autograd.grad`: a Jacobian costs one backward
walk per output element, a Hessian one per input element, and ``jvp`` / ``hvp`` use the
double-backward trick (the gradient of a vector-Jacobian product with respect to the vector),
so they need ops with a recorded backward (``pynn.ops.graph_backward``).

As in PyTorch, ``inputs`` is a Tensor or a tuple of Tensors and the results follow its form
(a Tensor for a Tensor, tuples for tuples); the inputs are used detached unless
``create_graph=True`` and they require grad, in which case the results stay differentiable
with respect to them. An input the outputs do not depend on gets zeros (``strict=True``
raises instead).
"""

import numpy as np

from .autograd import enable_grad, grad
from .tensor import Tensor, _wrap

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]


def _as_tuple(x, what, fn):
    if isinstance(x, Tensor):
        return False, (x,)
    if isinstance(x, (tuple, list)) and all(isinstance(t, Tensor) for t in x):
        return True, tuple(x)
    raise TypeError(f"{fn}: the {what} must be a Tensor or a tuple of Tensors, got "
                    f"{type(x).__name__}")


def _prepare(inputs, create_graph):
    """Leaves to differentiate with respect to; with ``create_graph``, inputs that require
    grad keep their history (a view of each), so results stay differentiable in them."""
    out = []
    for t in inputs:
        if create_graph and t.requires_grad:
            out.append(t.view_as(t))
        else:
            out.append(t.detach().requires_grad_(True))
    return tuple(out)


def _check_like(vs, ts, fn, what):
    if len(vs) != len(ts):
        raise RuntimeError(f"{fn}: v has {len(vs)} Tensors but the {what} have {len(ts)}")
    for i, (v, t) in enumerate(zip(vs, ts)):
        if tuple(v.shape) != tuple(t.shape):
            raise RuntimeError(f"{fn}: entry {i} of v has shape {tuple(v.shape)} but the "
                               f"matching entry of the {what} has shape {tuple(t.shape)}")


def _grads(outputs, inputs, grad_outputs, create_graph, strict, fn):
    """The gradients of ``outputs`` (weighted by ``grad_outputs``) with respect to each
    input: zeros for an input they do not depend on, unless ``strict``."""
    pairs = [(o, g) for o, g in zip(outputs, grad_outputs) if o.requires_grad]
    if pairs:
        res = grad([o for o, _ in pairs], inputs, [g for _, g in pairs],
                   retain_graph=True, create_graph=create_graph, allow_unused=True)
    else:
        res = (None,) * len(inputs)
    out = []
    for i, (g, t) in enumerate(zip(res, inputs)):
        if g is None:
            if strict:
                raise RuntimeError(f"{fn}: the output of the function is independent of "
                                   f"input {i}, which is not allowed in strict mode")
            g = _wrap(np.zeros(t._data.shape, t._data.dtype), None)
        out.append(g)
    return tuple(out)


def _post(ts, create_graph, as_tuple):
    if not create_graph:
        ts = tuple(t.detach() for t in ts)
    return ts if as_tuple else ts[0]


def _single_output(fn, inputs, who):
    out = fn(*inputs)
    if not isinstance(out, Tensor):
        raise TypeError(f"{who}: the function must return a Tensor, got "
                        f"{type(out).__name__}")
    if out._data.size != 1:
        raise RuntimeError(f"{who}: the Tensor returned by the function should contain a "
                           f"single element, got shape {tuple(out.shape)}")
    return out


def vjp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Jacobian product ``v^T J`` of ``func`` at ``inputs``.

    Parameters
    ----------
    func : callable
        Takes the inputs (as positional Tensors), returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor, of any shapes
    v : Tensor or tuple of Tensor, optional
        Shaped like the outputs; may be omitted when the single output has one element.
    create_graph : bool
        Record the computation, so the result can be differentiated again.
    strict : bool
        Raise when an input does not influence the outputs (otherwise its result is zeros).

    Returns
    -------
    func_output : Tensor or tuple of Tensor
        ``func(*inputs)``.
    vjp : Tensor or tuple of Tensor
        Shaped like the inputs.
    """
    is_tuple, inputs = _as_tuple(inputs, "inputs", "vjp")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", "vjp")
        if v is None:
            if len(outputs) != 1 or outputs[0]._data.size != 1:
                raise RuntimeError("vjp: v can be omitted only when the function returns a "
                                   "single Tensor of one element")
            vs = (_wrap(np.ones(outputs[0]._data.shape, outputs[0]._data.dtype), None),)
        else:
            _, vs = _as_tuple(v, "v", "vjp")
            _check_like(vs, outputs, "vjp", "outputs")
        res = _grads(outputs, inputs, vs, create_graph, strict, "vjp")
    return _post(outputs, create_graph, out_tuple), _post(res, create_graph, is_tuple)


def jvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Jacobian-vector product ``J v`` of ``func`` at ``inputs``.

    Computed through the double backward: the gradient of ``u^T J`` with respect to ``u``.

    Parameters
    ----------
    func : callable
        Takes the inputs (as positional Tensors), returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor, of any shapes
    v : Tensor or tuple of Tensor, optional
        Shaped like the inputs; may be omitted when the single input has one element.
    create_graph : bool
        Record the computation, so the result can be differentiated again.
    strict : bool
        Raise when an input does not influence the outputs.

    Returns
    -------
    func_output : Tensor or tuple of Tensor
        ``func(*inputs)``.
    jvp : Tensor or tuple of Tensor
        Shaped like the outputs.
    """
    _, inputs = _as_tuple(inputs, "inputs", "jvp")
    if v is None:
        if len(inputs) != 1 or inputs[0]._data.size != 1:
            raise RuntimeError("jvp: v can be omitted only when the input is a single Tensor "
                               "of one element")
        vs = (_wrap(np.ones(inputs[0]._data.shape, inputs[0]._data.dtype), None),)
    else:
        _, vs = _as_tuple(v, "v", "jvp")
        _check_like(vs, inputs, "jvp", "inputs")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", "jvp")
        us = tuple(_wrap(np.zeros(o._data.shape, o._data.dtype), None).requires_grad_(True)
                   for o in outputs)
        firsts = _grads(outputs, inputs, us, True, strict, "jvp")
        res = _grads(firsts, us, vs, create_graph, strict, "jvp")
    return _post(outputs, create_graph, out_tuple), _post(res, create_graph, out_tuple)


def jacobian(func, inputs, create_graph=False, strict=False, vectorize=False,
             strategy="reverse-mode"):
    """The Jacobian of ``func`` at ``inputs``.

    ``J[i][j]`` has shape ``outputs[i].shape + inputs[j].shape``.

    Parameters
    ----------
    func : callable
        Takes the inputs (as positional Tensors), returns a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple of Tensor, of any shapes
    create_graph : bool
        Record the computation, so the result can be differentiated again.
    strict : bool
        Raise when an input does not influence an output.
    vectorize : bool
        Accepted for PyTorch's signature; pynn runs one backward per output element.
    strategy : {"reverse-mode", "forward-mode"}
        Accepted for PyTorch's signature; both compute the same Jacobian in reverse mode.

    Returns
    -------
    Tensor or tuple
        A Tensor when ``inputs`` and the output are single Tensors; a tuple over the inputs
        (or the outputs) when one of them is a tuple; a tuple of tuples (outputs, then
        inputs) when both are.
    """
    if strategy not in ("reverse-mode", "forward-mode"):
        raise ValueError(f'jacobian: strategy must be "reverse-mode" or "forward-mode", got '
                         f"{strategy!r}")
    is_tuple, inputs = _as_tuple(inputs, "inputs", "jacobian")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out_tuple, outputs = _as_tuple(func(*inputs), "outputs of the function", "jacobian")
        rows = [_jacobian_rows(o, inputs, create_graph, strict) for o in outputs]
    if not create_graph:
        rows = [tuple(j.detach() for j in r) for r in rows]
    rows = [r if is_tuple else r[0] for r in rows]
    return tuple(rows) if out_tuple else rows[0]


def _jacobian_rows(out, inputs, create_graph, strict):
    """``d out / d inputs[j]`` for every j, shaped ``out.shape + inputs[j].shape``."""
    from .ops.shape import StackFunction

    n = out._data.size
    per_input = [[] for _ in inputs]
    for k in range(n):
        seed = np.zeros(n, out._data.dtype)
        seed[k] = 1
        seed = _wrap(seed.reshape(out._data.shape), None)
        gs = _grads((out,), inputs, (seed,), create_graph, strict, "jacobian")
        for j, g in enumerate(gs):
            per_input[j].append(g)
    res = []
    for t, gs in zip(inputs, per_input):
        shape = tuple(out.shape) + tuple(t.shape)
        if not gs:
            res.append(_wrap(np.zeros(shape, t._data.dtype), None))
        else:
            res.append(StackFunction.apply(0, *gs).reshape(shape))
    return tuple(res)


def hessian(func, inputs, create_graph=False, strict=False, vectorize=False,
            outer_jacobian_strategy="reverse-mode"):
    """The Hessian of the scalar function ``func`` at ``inputs``.

    ``H[i][j]`` has shape ``inputs[i].shape + inputs[j].shape``.

    Parameters
    ----------
    func : callable
        Takes the inputs (as positional Tensors), returns a Tensor of one element.
    inputs : Tensor or tuple of Tensor, of any shapes
    create_graph : bool
        Record the computation, so the result can be differentiated again.
    strict : bool
        Raise when an input does not influence the output.
    vectorize : bool
        Accepted for PyTorch's signature (one backward per input element either way).
    outer_jacobian_strategy : {"reverse-mode", "forward-mode"}
        Accepted for PyTorch's signature.

    Returns
    -------
    Tensor or tuple of tuple of Tensor
        A Tensor for a single input Tensor, else a tuple of tuples.
    """
    is_tuple, inputs = _as_tuple(inputs, "inputs", "hessian")

    def gradient(*xs):
        out = _single_output(func, xs, "hessian")
        return _grads((out,), xs, (_wrap(np.ones(out._data.shape, out._data.dtype), None),),
                      True, strict, "hessian")

    res = jacobian(gradient, inputs, create_graph=create_graph, strict=strict,
                   strategy=outer_jacobian_strategy)
    return res if is_tuple else res[0][0]


def vhp(func, inputs, v=None, create_graph=False, strict=False):
    """The vector-Hessian product ``v^T H`` of the scalar function ``func`` at ``inputs``.

    Parameters
    ----------
    func : callable
        Takes the inputs (as positional Tensors), returns a Tensor of one element.
    inputs : Tensor or tuple of Tensor, of any shapes
    v : Tensor or tuple of Tensor, optional
        Shaped like the inputs; may be omitted when the single input has one element.
    create_graph : bool
        Record the computation, so the result can be differentiated again.
    strict : bool
        Raise when an input does not influence the output.

    Returns
    -------
    func_output : Tensor
        ``func(*inputs)``.
    vhp : Tensor or tuple of Tensor
        Shaped like the inputs.
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "vhp")


def hvp(func, inputs, v=None, create_graph=False, strict=False):
    """The Hessian-vector product ``H v`` of the scalar function ``func`` at ``inputs``.

    Equal to :func:`vhp` for a twice continuously differentiable function, whose Hessian is
    symmetric.

    Parameters
    ----------
    func : callable
        Takes the inputs (as positional Tensors), returns a Tensor of one element.
    inputs : Tensor or tuple of Tensor, of any shapes
    v : Tensor or tuple of Tensor, optional
        Shaped like the inputs; may be omitted when the single input has one element.
    create_graph : bool
        Record the computation, so the result can be differentiated again.
    strict : bool
        Raise when an input does not influence the output.

    Returns
    -------
    func_output : Tensor
        ``func(*inputs)``.
    hvp : Tensor or tuple of Tensor
        Shaped like the inputs.
    """
    return _hessian_product(func, inputs, v, create_graph, strict, "hvp")


def _hessian_product(func, inputs, v, create_graph, strict, who):
    is_tuple, inputs = _as_tuple(inputs, "inputs", who)
    if v is None:
        if len(inputs) != 1 or inputs[0]._data.size != 1:
            raise RuntimeError(f"{who}: v can be omitted only when the input is a single "
                               "Tensor of one element")
        vs = (_wrap(np.ones(inputs[0]._data.shape, inputs[0]._data.dtype), None),)
    else:
        _, vs = _as_tuple(v, "v", who)
        _check_like(vs, inputs, who, "inputs")
    with enable_grad():
        inputs = _prepare(inputs, create_graph)
        out = _single_output(func, inputs, who)
        ones = _wrap(np.ones(out._data.shape, out._data.dtype), None)
        firsts = _grads((out,), inputs, (ones,), True, strict, who)
        res = _grads(firsts, inputs, vs, create_graph, strict, who)
    return _post((out,), create_graph, False), _post(res, create_graph, is_tuple)
