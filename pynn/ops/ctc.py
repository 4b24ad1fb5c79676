"""Connectionist Temporal Classification loss: the alpha-beta recursions in log space.

A NumPy node with no kernel of its own, vectorised over the batch and the extended label
sequence (the targets with a blank before, between and after them); the only Python loop
is over time. Each sequence's alpha recursion is read at its own last frame and its beta
recursion starts there, so one pass serves a batch of different input lengths.

The gradient with respect to ``log_probs`` is PyTorch's: ``exp(log_probs) - posterior``,
which is the gradient with respect to the logits of a ``log_softmax`` producing them (the
op's contract: ``log_probs`` are normalised). It passes back through ``log_softmax``
unchanged (its entries sum to zero over classes), so a model trained through
``log_softmax`` gets exactly the true gradient, and each ``log_probs.grad`` matches PyTorch's.
"""

import numbers

import numpy as np

from ..autograd import ArrayFunction
from ..tensor import Tensor

__all__ = ["ctc_loss"]

_NEG_INF = -np.inf


def _logaddexp3(a, b, c):
    m = np.maximum(np.maximum(a, b), c)
    safe = np.where(np.isfinite(m), m, 0)
    with np.errstate(divide="ignore"):
        return safe + np.log(np.exp(a - safe) + np.exp(b - safe) + np.exp(c - safe))


def _extended(targets, target_lengths, blank):
    """``(N, 2 S + 1)`` extended labels; the mask of positions in use; and where a label may
    be reached by skipping the blank before it (it differs from the label two back)."""
    n, s = targets.shape
    ext = np.full((n, 2 * s + 1), blank, np.int64)
    ext[:, 1::2] = targets
    used = np.arange(2 * s + 1)[None, :] < (2 * target_lengths + 1)[:, None]
    skip = np.zeros(ext.shape, bool)
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    return ext, used, skip


def _alpha_beta(lp, ext, used, skip, input_lengths, target_lengths):
    """The forward (alpha) and backward (beta) log-variables, each ``(T, N, 2 S + 1)``, and
    each sequence's negative log-likelihood."""
    t_max, n, _ = lp.shape
    s_ext = ext.shape[1]
    rows = np.arange(n)[:, None]
    # log-probability of each extended label at each frame, -inf where not in use
    lpe = np.where(used[None], lp[:, rows, ext], _NEG_INF)  # (T, N, S')
    pad2 = np.full((n, 2), _NEG_INF)
    alpha = np.full((t_max, n, s_ext), _NEG_INF)
    alpha[0, :, 0] = lpe[0, :, 0]
    alpha[0, :, 1] = np.where(target_lengths > 0, lpe[0, :, 1], _NEG_INF) if s_ext > 1 \
        else _NEG_INF
    for t in range(1, t_max):
        prev = np.concatenate([pad2, alpha[t - 1]], axis=1)
        two_back = np.where(skip, prev[:, :-2], _NEG_INF)
        alpha[t] = _logaddexp3(prev[:, 2:], prev[:, 1:-1], two_back) + lpe[t]
    last = input_lengths - 1
    end = 2 * target_lengths  # the final blank's position
    a_last = alpha[last, np.arange(n)]  # (N, S')
    ends = np.stack([a_last[np.arange(n), end],
                     np.where(end > 0, a_last[np.arange(n), np.maximum(end - 1, 0)],
                              _NEG_INF)], axis=1)
    ll = np.logaddexp(ends[:, 0], ends[:, 1])
    beta = np.full((t_max, n, s_ext), _NEG_INF)
    skip_next = np.zeros(ext.shape, bool)
    skip_next[:, :-2] = skip[:, 2:]
    starts = np.full((n, s_ext), _NEG_INF)
    starts[np.arange(n), end] = 0.0
    has_label = end > 0
    starts[np.arange(n)[has_label], end[has_label] - 1] = 0.0
    for t in range(t_max - 1, -1, -1):
        if t + 1 < t_max:
            nxt = np.concatenate([beta[t + 1], pad2], axis=1)
            rec = _logaddexp3(nxt[:, :-2], nxt[:, 1:-1], np.where(skip_next, nxt[:, 2:],
                                                                  _NEG_INF))
        else:
            rec = np.full((n, s_ext), _NEG_INF)
        here = np.where((t == last)[:, None], starts, rec)
        here = np.where((t > last)[:, None], _NEG_INF, here)
        beta[t] = here + lpe[t]
    return alpha, beta, -ll


class CTCLossFunction(ArrayFunction):
    """Per-sequence CTC negative log-likelihood (then reduced by :func:`ctc_loss`)."""

    fresh_grads = True

    @staticmethod
    def forward(ctx, log_probs, targets, input_lengths, target_lengths, blank, zero_infinity):
        lp = log_probs.astype(np.float64)
        ext, used, skip = _extended(targets, target_lengths, blank)
        alpha, beta, nll = _alpha_beta(lp, ext, used, skip, input_lengths, target_lengths)
        infinite = ~np.isfinite(nll)
        if zero_infinity:
            nll = np.where(infinite, 0.0, nll)
        ctx.save_for_backward(lp, ext, used, alpha, beta, nll, infinite, input_lengths,
                              zero_infinity, log_probs.dtype)
        return nll.astype(log_probs.dtype)

    @staticmethod
    def backward(ctx, grad):
        lp, ext, used, alpha, beta, nll, infinite, input_lengths, zero_infinity, dtype = \
            ctx.saved_tensors
        t_max, n, c = lp.shape
        ab = np.where(used[None], alpha + beta, _NEG_INF)  # (T, N, S')
        top = ab.max(axis=2, keepdims=True)
        top = np.where(np.isfinite(top), top, 0.0)
        weights = np.exp(ab - top)
        # the posterior mass of each class: sum over the extended positions holding it
        index = (np.arange(t_max * n).reshape(t_max, n, 1) * c + ext[None]).reshape(-1)
        mass = np.bincount(index, weights=weights.reshape(-1), minlength=t_max * n * c)
        with np.errstate(divide="ignore"):
            lcab = np.log(mass.reshape(t_max, n, c)) + top
        g = np.exp(lp) - np.exp(lcab + nll[None, :, None] - lp)
        g[np.arange(t_max)[:, None] >= input_lengths[None, :]] = 0.0
        if zero_infinity:
            g[:, infinite] = 0.0
        g *= np.asarray(grad, np.float64)[None, :, None]
        return g.astype(dtype), None, None, None, None, None


def _lengths(value, n, what):
    if isinstance(value, Tensor):
        value = value._data
    arr = np.asarray(value)
    if arr.dtype.kind not in "iu" and not (arr.dtype.kind == "f" and np.all(arr == np.round(arr))):
        raise TypeError(f"ctc_loss: {what} must be integers, got {arr.dtype}")
    arr = arr.astype(np.int64).reshape(-1)
    if arr.size != n:
        raise RuntimeError(f"ctc_loss: {what} must be of size batch_size ({n}), got "
                           f"{arr.size} values")
    return arr


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    """The Connectionist Temporal Classification loss, as ``torch.nn.functional.ctc_loss``.

    The negative log-probability of each target sequence summed over all its alignments
    to the input frames (blanks between and around the labels, repeats merged).

    Parameters
    ----------
    log_probs : Tensor of shape (T, N, C) or (T, C)
        Log-probabilities over the ``C`` classes (blank included) at each of ``T`` frames,
        normally ``log_softmax(..., dim=2)``; float32 or float64. Differentiable.
    targets : Tensor of shape (N, S) or (sum(target_lengths),)
        Integer labels, padded per row, or all sequences concatenated; never ``blank``.
    input_lengths : Tensor or sequence of int, shape (N,)
        The number of frames of each sequence (at most ``T``).
    target_lengths : Tensor or sequence of int, shape (N,)
        The number of labels of each sequence.
    blank : int
        The blank class.
    reduction : {"mean", "sum", "none"}
        "mean": each loss divided by its target length, then averaged over the batch.
    zero_infinity : bool
        Give 0 loss (and zero gradient) to impossible alignments (input too short).

    Returns
    -------
    Tensor
        0-d, or of shape (N,) with ``reduction="none"`` (``()`` for unbatched input).
    """
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if not isinstance(log_probs, Tensor):
        raise TypeError(f"ctc_loss: log_probs must be a Tensor, got {type(log_probs).__name__}")
    lp = log_probs._data
    if lp.dtype not in (np.float32, np.float64):
        raise RuntimeError(f"ctc_loss: log_probs must be float32 or float64, got "
                           f"{log_probs.dtype}")
    unbatched = lp.ndim == 2
    if lp.ndim not in (2, 3):
        raise RuntimeError(f"ctc_loss: log_probs must be of shape (T, N, C) or (T, C), got "
                           f"{list(lp.shape)}")
    if unbatched:
        log_probs = log_probs.unsqueeze(1)
        lp = log_probs._data
    t_max, n, c = lp.shape
    tg = targets._data if isinstance(targets, Tensor) else np.asarray(targets)
    if tg.dtype.kind not in "iu":
        raise RuntimeError(f"ctc_loss: targets must be integers, got {tg.dtype}")
    il = _lengths(input_lengths, n, "input_lengths")
    tl = _lengths(target_lengths, n, "target_lengths")
    if unbatched and tg.ndim == 1:
        tg = tg[None, :]
    if tg.ndim == 1:
        if tg.size != tl.sum():
            raise RuntimeError(f"ctc_loss: concatenated targets hold {tg.size} labels but "
                               f"target_lengths sum to {int(tl.sum())}")
        padded = np.full((n, max(int(tl.max(initial=0)), 1)), blank, np.int64)
        offsets = np.concatenate([[0], np.cumsum(tl)[:-1]])
        for i in range(n):  # one slice per sequence
            padded[i, :tl[i]] = tg[offsets[i]:offsets[i] + tl[i]]
        tg = padded
    elif tg.ndim == 2:
        if tg.shape[0] != n:
            raise RuntimeError(f"ctc_loss: targets has batch size {tg.shape[0]}, log_probs "
                               f"{n}")
        if tl.size and tl.max() > tg.shape[1]:
            raise RuntimeError(f"Expected tensor to have size at least {int(tl.max())} at "
                               f"dimension 1, but got size {tg.shape[1]} for argument #2 "
                               f"'targets' (while checking arguments for ctc_loss_cpu)")
        tg = tg.astype(np.int64)
        if tg.shape[1] == 0:
            tg = np.full((n, 1), blank, np.int64)
    else:
        raise RuntimeError(f"ctc_loss: targets must be of shape (N, S) or (sum of "
                           f"target_lengths,), got {list(tg.shape)}")
    if (il > t_max).any() or (il < 0).any():
        bad = int(il[(il > t_max) | (il < 0)][0])
        raise RuntimeError(f"Expected input_lengths to have value at most {t_max}, but got "
                           f"value {bad} (while checking arguments for ctc_loss_cpu)")
    if (tl < 0).any():
        raise RuntimeError("ctc_loss: target_lengths must be non-negative")
    if not isinstance(blank, numbers.Integral) or not 0 <= blank < c:
        raise RuntimeError(f"blank must be in label range [0, {c}), got {blank}")
    if (il == 0).any():
        raise RuntimeError("ctc_loss: every input_lengths value must be at least 1")
    ext_ok = np.arange(tg.shape[1])[None, :] < tl[:, None]
    if ((tg < 0) | (tg >= c))[ext_ok].any():
        raise RuntimeError(f"ctc_loss: target labels must be in [0, {c})")
    losses = CTCLossFunction.apply(log_probs, tg, il, tl, int(blank), bool(zero_infinity))
    if reduction == "none":
        return losses.squeeze(0) if unbatched else losses
    if reduction == "sum":
        return losses.sum()
    divisor = np.maximum(tl, 1).astype(lp.dtype)
    from ..tensor import _wrap

    return (losses / _wrap(divisor, None)).mean()
