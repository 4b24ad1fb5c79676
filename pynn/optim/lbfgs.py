"""L-BFGS, with an optional strong-Wolfe line search."""

import numpy as np

from ..autograd import enable_grad
from .optimizer import Optimizer

__all__ = ["LBFGS"]


def _cubic_minimum(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through ``(x1, f1)`` and ``(x2, f2)`` with slopes ``g1``,
    ``g2``, clipped to ``bounds`` (default: the interval between the points); the middle of
    the bounds when the cubic has no minimum."""
    lo, hi = bounds if bounds is not None else (min(x1, x2), max(x1, x2))
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    disc = d1 * d1 - g1 * g2
    if disc < 0:
        return (lo + hi) / 2.0
    d2 = float(np.sqrt(disc))
    if x1 <= x2:
        x = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
    else:
        x = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
    return min(max(x, lo), hi)


def _strong_wolfe(evaluate, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9,
                  max_ls=25):
    """A step ``t`` along ``d`` meeting the strong Wolfe conditions (sufficient decrease with
    ``c1``, curvature with ``c2``): extrapolate until a bracket holds a minimum, then zoom
    into it with safeguarded cubic interpolation.

    ``evaluate(t)`` returns ``(loss, flat gradient)`` at ``x + t d``. Returns
    ``(loss, flat gradient, t, evaluations)`` at the accepted step.
    """
    d_norm = float(np.abs(d).max())
    f_new, g_new = evaluate(t)
    evals = 1
    gtd_new = float(g_new @ d)
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    it = 0
    bracket = bracket_f = bracket_g = bracket_gtd = None
    while it < max_ls:
        no_decrease = f_new > f + c1 * t * gtd or (it > 1 and f_new >= f_prev)
        if not no_decrease and abs(gtd_new) <= -c2 * gtd:  # both conditions hold: accept
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if no_decrease or gtd_new >= 0:  # a minimum lies between t_prev and t
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new], [gtd_prev, gtd_new]
            break
        # Extrapolate: the cubic's minimum, at least a little past t and at most 10 t.
        t_next = _cubic_minimum(t_prev, f_prev, gtd_prev, t, f_new, gtd_new,
                                bounds=(t + 0.01 * (t - t_prev), t * 10))
        t_prev, f_prev, g_prev, gtd_prev = t, f_new, g_new, gtd_new
        t = t_next
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
    if it == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    # Zoom: shrink the bracket, keeping at its "low" end the best point so far.
    insufficient = False
    low, high = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and it < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            break
        t = _cubic_minimum(bracket[0], bracket_f[0], bracket_gtd[0],
                           bracket[1], bracket_f[1], bracket_gtd[1])
        # A point too close to an end makes little progress: move it inside, unless the
        # previous step was already close and this one is strictly inside.
        b_lo, b_hi = min(bracket), max(bracket)
        margin = 0.1 * (b_hi - b_lo)
        if min(b_hi - t, t - b_lo) < margin:
            if insufficient or t >= b_hi or t <= b_lo:
                t = b_hi - margin if abs(t - b_hi) < abs(t - b_lo) else b_lo + margin
                insufficient = False
            else:
                insufficient = True
        else:
            insufficient = False
        f_new, g_new = evaluate(t)
        evals += 1
        gtd_new = float(g_new @ d)
        it += 1
        if f_new > f + c1 * t * gtd or f_new >= bracket_f[low]:
            bracket[high], bracket_f[high] = t, f_new
            bracket_g[high], bracket_gtd[high] = g_new, gtd_new
            low, high = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high] - bracket[low]) >= 0:
                bracket[high], bracket_f[high] = bracket[low], bracket_f[low]
                bracket_g[high], bracket_gtd[high] = bracket_g[low], bracket_gtd[low]
            bracket[low], bracket_f[low] = t, f_new
            bracket_g[low], bracket_gtd[low] = g_new, gtd_new
    return bracket_f[low], bracket_g[low], bracket[low], evals


class LBFGS(Optimizer):
    """L-BFGS, a quasi-Newton method (``torch.optim.LBFGS``).

    L-BFGS, as ``torch.optim.LBFGS``: a quasi-Newton method that keeps the last
    ``history_size`` steps and gradient changes to approximate the inverse Hessian.

    :meth:`step` needs a ``closure`` that clears the gradients, computes the loss, calls
    ``backward()`` and returns the loss; it may call it up to ``max_eval`` times. All
    parameters form one group (flattened into one vector).

    Parameters
    ----------
    params : iterable of Parameter
    lr : float
        Step length (the first iteration scales it by ``min(1, 1 / |g|_1)``).
    max_iter : int
        Iterations per :meth:`step`.
    max_eval : int, optional
        Closure evaluations per :meth:`step` (default ``max_iter * 5 // 4``).
    tolerance_grad : float
        Stop when the largest gradient entry is at most this.
    tolerance_change : float
        Stop when the loss or the step changes by less than this.
    history_size : int
    line_search_fn : None or "strong_wolfe"
    """

    _state_shaped_like_param = False  # flat vectors and lists of them

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7,
                 tolerance_change=1e-9, history_size=100, line_search_fn=None):
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        if line_search_fn not in (None, "strong_wolfe"):
            raise RuntimeError("only 'strong_wolfe' is supported")
        defaults = {"lr": lr, "max_iter": max_iter, "max_eval": max_eval,
                    "tolerance_grad": tolerance_grad, "tolerance_change": tolerance_change,
                    "history_size": history_size, "line_search_fn": line_search_fn}
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError("LBFGS doesn't support per-parameter options (parameter groups)")
        self._params = self.param_groups[0]["params"]

    # -- the flat vector view of the parameters --------------------------------------------

    def _dtype(self):
        return np.result_type(*[p._data.dtype for p in self._params])

    def _flat_grad(self):
        parts = [np.zeros(p._data.size, self._dtype()) if p._grad is None
                 else p._grad._data.reshape(-1) for p in self._params]
        return np.concatenate(parts).astype(self._dtype(), copy=False)

    def _add_step(self, t, d):
        offset = 0
        for p in self._params:
            n = p._data.size
            p._data += (t * d[offset:offset + n]).reshape(p._data.shape).astype(
                p._data.dtype, copy=False)
            offset += n

    def _get_params(self):
        return [p._data.copy() for p in self._params]

    def _set_params(self, values):
        for p, v in zip(self._params, values):
            p._data[...] = v

    def _evaluate(self, closure):
        with enable_grad():
            return float(closure())

    # -- the step ------------------------------------------------------------------------------

    def step(self, closure):
        """Run up to ``max_iter`` L-BFGS iterations; returns the loss of the first closure call.

        Parameters
        ----------
        closure : callable
            Re-evaluates the model (clearing and recomputing the gradients) and returns the
            loss.
        """
        if closure is None:
            raise RuntimeError("LBFGS.step needs a closure that recomputes the loss")
        group = self.param_groups[0]
        lr = group["lr"]
        max_iter, max_eval = group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        history_size = group["history_size"]
        state = self.state[self._params[0]]
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)

        with enable_grad():
            orig_loss = closure()
        loss = float(orig_loss)
        evals = 1
        state["func_evals"] += 1
        flat_grad = self._flat_grad()
        if np.abs(flat_grad).max() <= tol_grad:
            return orig_loss

        d, t = state.get("d"), state.get("t")
        old_dirs, old_stps, ro = state.get("old_dirs"), state.get("old_stps"), state.get("ro")
        h_diag = state.get("H_diag")
        prev_flat_grad, prev_loss = state.get("prev_flat_grad"), state.get("prev_loss")

        n_iter = 0
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                h_diag = 1.0
            else:
                # Update the curvature pairs, skipping those that break positivity.
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y @ s)
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    h_diag = ys / float(y @ y)
                # The two-loop recursion: d = -H g.
                alphas = [0.0] * len(old_dirs)
                q = -flat_grad
                for i in range(len(old_dirs) - 1, -1, -1):
                    alphas[i] = float(old_stps[i] @ q) * ro[i]
                    q = q - alphas[i] * old_dirs[i]
                d = q * h_diag
                for i in range(len(old_dirs)):
                    beta = float(old_dirs[i] @ d) * ro[i]
                    d = d + (alphas[i] - beta) * old_stps[i]
            prev_flat_grad = flat_grad.copy()
            prev_loss = loss

            t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr \
                if state["n_iter"] == 1 else lr
            gtd = float(flat_grad @ d)
            if gtd > -tol_change:  # not a descent direction
                break

            ls_evals = 0
            if group["line_search_fn"] == "strong_wolfe":
                x0 = self._get_params()

                def evaluate(step, x0=x0, d=d):
                    self._add_step(step, d)
                    value = self._evaluate(closure)
                    g = self._flat_grad()
                    self._set_params(x0)
                    return value, g

                loss, flat_grad, t, ls_evals = _strong_wolfe(evaluate, t, d, loss, flat_grad,
                                                             gtd)
                self._add_step(t, d)
                opt_cond = np.abs(flat_grad).max() <= tol_grad
            else:
                self._add_step(t, d)
                opt_cond = False
                if n_iter != max_iter:
                    loss = self._evaluate(closure)
                    flat_grad = self._flat_grad()
                    opt_cond = np.abs(flat_grad).max() <= tol_grad
                    ls_evals = 1
            evals += ls_evals
            state["func_evals"] += ls_evals

            if n_iter == max_iter or evals >= max_eval or opt_cond:
                break
            if np.abs(d * t).max() <= tol_change or abs(loss - prev_loss) < tol_change:
                break

        state.update({"d": d, "t": t, "old_dirs": old_dirs, "old_stps": old_stps, "ro": ro,
                      "H_diag": h_diag, "prev_flat_grad": prev_flat_grad,
                      "prev_loss": prev_loss})
        return orig_loss
