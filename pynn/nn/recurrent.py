"""Recurrent layers: ``RNN``, ``LSTM``, ``GRU`` over whole sequences, and the single-step
``RNNCell``, ``LSTMCell``, ``GRUCell``, with PyTorch's arguments, parameter names, shapes,
gate layout and initialisation, so that a PyTorch ``state_dict`` loads key for key.

Each layer and direction is one autograd node over the whole sequence (see
:mod:`pynn.ops.recurrent`); a cell is the same node over a sequence of length one.
"""

import math
import numbers
import warnings

import numpy as np

from ..ops.recurrent import GRUFunction, LSTMFunction, RNNFunction, _bias_sum
from ..tensor import Tensor, _wrap, cat, stack
from . import functional as F
from . import init
from .linear import _COMPUTED_DTYPES, _input_error, _layer_dtype
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence, pad_sequence

__all__ = ["GRU", "LSTM", "RNN", "GRUCell", "LSTMCell", "RNNBase", "RNNCell", "RNNCellBase"]

_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _as_tensor(x):
    return x if isinstance(x, Tensor) else _wrap(np.asarray(x), None)


def _check_size(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{name} must be greater than zero")
    return int(value)


def _check_input(module, input, input_size, ranks, expected):
    """The input's ndarray, after checking rank, feature count and dtype (errors name the
    layer, as :class:`pynn.nn.Linear` does)."""
    x = input._data if isinstance(input, Tensor) else input
    if not isinstance(x, np.ndarray) or x.ndim not in ranks:
        raise _input_error(module, x, expected)
    if x.shape[-1] != input_size:
        raise _input_error(module, x, f"input with {input_size} features (last dimension)")
    if x.dtype != module.weight_ih_dtype() or x.dtype not in _COMPUTED_DTYPES:
        raise _input_error(module, x, None)
    return x


def _check_proj_size(proj_size, hidden_size):
    if isinstance(proj_size, bool) or not isinstance(proj_size, numbers.Integral):
        raise TypeError(f"proj_size should be of type int, got: {type(proj_size).__name__}")
    if proj_size < 0:
        raise ValueError("proj_size should be a positive integer or zero to disable projections")
    if proj_size >= hidden_size:
        raise ValueError("proj_size has to be smaller than hidden_size")
    return int(proj_size)


def _check_state(module, name, state, expected_shape, layout, dtype):
    """A hidden/cell state argument: a Tensor of ``expected_shape`` and the layer's dtype."""
    s = state._data if isinstance(state, Tensor) else state
    if not isinstance(s, np.ndarray):
        raise TypeError(f"{module._layer_name()}: {name} must be a pynn.Tensor, got "
                        f"{type(state).__name__}")
    if s.shape != tuple(expected_shape):
        raise ValueError(f"{module._layer_name()}: expected {name} of shape "
                         f"{tuple(expected_shape)} {layout}, got shape {s.shape}")
    if s.dtype != dtype:
        raise TypeError(f"{module._layer_name()}: {name} has dtype {s.dtype} but the layer's "
                        f"parameters are {dtype}")
    return _as_tensor(state)


# ---------------------------------------------------------------------------------------------
# Sequence layers


class RNNBase(Module):
    """Base class of :class:`RNN`, :class:`LSTM` and :class:`GRU` (PyTorch's ``RNNBase``).

    Parameters
    ----------
    mode : {"RNN_TANH", "RNN_RELU", "LSTM", "GRU"}
    input_size, hidden_size : int
        H_in and H.
    num_layers : int
        Stacked layers; layer k > 0 reads the output of layer k-1.
    bias : bool
        With ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool
        Inputs and outputs are ``(N, L, *)`` instead of ``(L, N, *)`` (the states are not
        affected).
    dropout : float in [0, 1]
        Dropout on the output of every layer but the last, in training mode.
    bidirectional : bool
        A second, reversed pass per layer (parameters with the suffix ``_reverse``); the
        outputs of both directions are concatenated.
    proj_size : int
        LSTM only: with P > 0 (less than H), h is projected to P values at every step (see
        :class:`LSTM`).
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight_ih_l{k}{_reverse} : Parameter of shape (G*hidden_size, input_size) for k = 0
        Else (G*hidden_size, D*hidden_size), or (G*hidden_size, D*proj_size) for an LSTM
        with proj_size P > 0; G = 4 (LSTM, gates i|f|g|o), 3 (GRU, r|z|n), 1 (RNN), D = 2
        if bidirectional else 1.
    weight_hh_l{k}{_reverse} : Parameter of shape (G*hidden_size, hidden_size)
        Or (G*hidden_size, proj_size) with P > 0.
    bias_ih_l{k}{_reverse}, bias_hh_l{k}{_reverse} : Parameter of shape (G*hidden_size,)
        Every parameter starts U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    weight_hr_l{k}{_reverse} : Parameter of shape (proj_size, hidden_size)
        Only with P > 0, after the biases (PyTorch's order).
    """

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0, device=None,
                 dtype=None):
        super().__init__()
        if mode not in _GATES:
            raise ValueError(f"Unrecognized RNN mode: {mode}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) \
                or not 0 <= dropout <= 1:
            raise ValueError("dropout should be a number in range [0, 1] representing the "
                             "probability of an element being zeroed")
        if dropout > 0 and num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, so "
                          "non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        for name, flag in (("bias", bias), ("batch_first", batch_first),
                           ("bidirectional", bidirectional)):
            if not isinstance(flag, bool):
                raise TypeError(f"{name} should be of type bool, got: {type(flag).__name__}")
        dtype = _layer_dtype(dtype, device)
        self.mode = mode
        self.input_size = _check_size("input_size", input_size)
        self.hidden_size = _check_size("hidden_size", hidden_size)
        self.num_layers = _check_size("num_layers", num_layers)
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        self.bidirectional = bidirectional
        self.proj_size = _check_proj_size(proj_size, self.hidden_size)
        gate_size = _GATES[mode] * self.hidden_size
        num_directions = 2 if bidirectional else 1
        state_size = self._state_size()
        self._flat_weights_names = []
        self._all_weights = []
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else state_size * num_directions
            for direction in range(num_directions):
                suffix = "_reverse" if direction == 1 else ""
                shapes = [("weight_ih", (gate_size, layer_input)),
                          ("weight_hh", (gate_size, state_size))]
                if bias:
                    shapes += [("bias_ih", (gate_size,)), ("bias_hh", (gate_size,))]
                if self.proj_size:
                    shapes.append(("weight_hr", (self.proj_size, self.hidden_size)))
                names = []
                for stem, shape in shapes:
                    name = f"{stem}_l{layer}{suffix}"
                    setattr(self, name, Parameter(np.empty(shape, dtype)))
                    names.append(name)
                self._flat_weights_names.extend(names)
                self._all_weights.append(names)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    @property
    def all_weights(self):
        """Per layer and direction, ``[weight_ih, weight_hh(, bias_ih, bias_hh)]``."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def weight_ih_dtype(self):
        """The dtype of the parameters (that of ``weight_ih_l0``)."""
        return self.weight_ih_l0._data.dtype

    def flatten_parameters(self):
        """No-op (PyTorch uses it to make cuDNN's weight buffer contiguous)."""

    def _state_size(self):
        """The size of h: ``proj_size`` when the LSTM projects it, else ``hidden_size``."""
        return self.proj_size or self.hidden_size

    def _layer_weights(self, index):
        """``(w_ih, w_hh, b_ih, b_hh)`` of layer and direction ``index`` (biases None without
        bias), and ``w_hr`` after them when the LSTM projects its state."""
        names = self._all_weights[index]
        w_ih, w_hh = getattr(self, names[0]), getattr(self, names[1])
        weights = (w_ih, w_hh, getattr(self, names[2]), getattr(self, names[3])) if self.bias \
            else (w_ih, w_hh, None, None)
        if self.proj_size:
            weights += (getattr(self, names[-1]),)
        return weights

    def _run_direction(self, x, states, index, reverse):
        """One layer and direction over ``x`` (L, N, H_in); returns (output, final states)."""
        raise NotImplementedError

    def _forward(self, input, hx):
        """The shared forward: checks, layout, the stack of layers. ``hx`` is a tuple of
        state Tensors (h0, or h0 and c0), or None. Returns ``(output, final_states)``."""
        if isinstance(input, PackedSequence):
            return self._forward_packed(input, hx)
        layout = "(N, L, H_in)" if self.batch_first else "(L, N, H_in)"
        self._check_input_arg(input, layout)
        x = input._data if isinstance(input, Tensor) else input
        dtype = self.weight_ih_dtype()
        batched = x.ndim == 3
        input = _as_tensor(input)
        if not batched:
            input = input.unsqueeze(1)
        elif self.batch_first:
            input = input.transpose(0, 1)
        L, N = input.shape[:2]
        if L == 0:
            raise ValueError(f"{self._layer_name()}: expected a sequence of length > 0, got "
                             f"input shape {x.shape}")
        num_directions = 2 if self.bidirectional else 1
        names = ("h0", "c0") if self.mode == "LSTM" else ("h0",)
        if hx is not None:
            hx = tuple(_check_state(self, name, s, *self._state_shape(name, N, batched), dtype)
                       for name, s in zip(names, hx))
            if not batched:
                hx = tuple(s.unsqueeze(1) for s in hx)

        layer_input = input
        finals = [[] for _ in names]
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(num_directions):
                index = layer * num_directions + direction
                states = None if hx is None else tuple(s[index] for s in hx)
                out, final = self._run_direction(layer_input, states, index, direction == 1)
                outputs.append(out)
                for acc, f in zip(finals, final):
                    acc.append(f)
            layer_input = outputs[0] if num_directions == 1 else cat(outputs, dim=2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                layer_input = F.dropout(layer_input, self.dropout, True)

        output = layer_input
        finals = [stack(f, 0) for f in finals]
        if not batched:
            output = output.squeeze(1)
            finals = [f.squeeze(1) for f in finals]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, finals

    def _state_shape(self, name, N, batched):
        """The expected shape of state ``name`` ("h0" or "c0") and its layout, for messages:
        c has ``hidden_size`` values, h ``proj_size`` when the LSTM projects it."""
        num_directions = 2 if self.bidirectional else 1
        size, size_name = self.hidden_size, "hidden_size"
        if name == "h0" and self.proj_size:
            size, size_name = self.proj_size, "proj_size"
        if not batched:
            return ((self.num_layers * num_directions, size),
                    f"(num_layers * num_directions, {size_name})")
        return ((self.num_layers * num_directions, N, size),
                f"(num_layers * num_directions, N, {size_name})")

    def _forward_packed(self, packed, hx):
        """A :class:`PackedSequence` input: the sequences of each length run as one padded
        batch (so no step past a sequence's end reaches its output or final state); the
        output is packed in the input's order, the final states are in the original batch
        order, as PyTorch's."""
        padded, lengths = pad_packed_sequence(packed)
        lens = lengths._data
        n = lens.size
        outs = [None] * n
        finals = None
        batch_first = self.batch_first
        self.__dict__["batch_first"] = False  # the groups below are built time-major
        try:
            for length in np.unique(lens):
                idx = np.flatnonzero(lens == length).tolist()
                x = stack([padded[: int(length), i] for i in idx], 1)
                h = None if hx is None else tuple(stack([s[:, i] for i in idx], 1) for s in hx)
                out, fin = self._forward(x, h)
                if finals is None:
                    finals = [[None] * n for _ in fin]
                for j, i in enumerate(idx):
                    outs[i] = out[:, j]
                    for acc, f in zip(finals, fin):
                        acc[i] = f[:, j]
        finally:
            self.__dict__["batch_first"] = batch_first
        output = pack_padded_sequence(pad_sequence(outs), lens,
                                      enforce_sorted=packed.sorted_indices is None)
        return output, [stack(f, 1) for f in finals]

    def _check_input_arg(self, input, layout):
        _check_input(self, input, self.input_size, (2, 3),
                     f"a 3-D input {layout} or a 2-D unbatched input (L, H_in)")

    def _layer_name(self):
        return f"{self._get_name()}({self.extra_repr()})"

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size != 0:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first is not False:
            s += f", batch_first={self.batch_first}"
        if self.dropout != 0:
            s += f", dropout={self.dropout}"
        if self.bidirectional is not False:
            s += f", bidirectional={self.bidirectional}"
        return s


def _last(out, L, reverse):
    """The final hidden state of a direction: its output at the last step it ran."""
    return out[0] if reverse else out[L - 1]


class RNN(RNNBase):
    """Elman RNN: ``h_t = act(x_t W_ih^T + b_ih + h_(t-1) W_hh^T + b_hh)``, act tanh or relu.

    Call ``rnn(input, hx=None)``; returns ``(output, h_n)``.

    Parameters
    ----------
    input_size, hidden_size : int
        H_in and H.
    num_layers : int
        Stacked layers; layer k > 0 reads the output of layer k-1.
    nonlinearity : {"tanh", "relu"}
    bias : bool
        With ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool
        Inputs and outputs are ``(N, L, *)`` instead of ``(L, N, *)`` (the states are not
        affected).
    dropout : float in [0, 1]
        Dropout on the output of every layer but the last, in training mode.
    bidirectional : bool
        A second, reversed pass per layer (parameters with the suffix ``_reverse``); the
        outputs of both directions are concatenated.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    D = 2 if ``bidirectional`` else 1.

    - input: (L, N, H_in), (N, L, H_in) with ``batch_first``, or (L, H_in) unbatched.
    - hx, h_n: (num_layers * D, N, H), or (num_layers * D, H) unbatched; ``hx`` None means
      zeros.
    - output: (L, N, D*H), (N, L, D*H) with ``batch_first``, or (L, D*H) unbatched.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None, dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(mode, input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _run_direction(self, x, states, index, reverse):
        h0 = None if states is None else states[0]
        out = RNNFunction.apply(x, h0, *self._layer_weights(index), reverse, self.nonlinearity)
        return out, (_last(out, x.shape[0], reverse),)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, None if hx is None else (hx,))
        return output, h_n


class GRU(RNNBase):
    """Gated recurrent unit, with PyTorch's equations and gate order r, z, n.

    ::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)
        z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))
        h' = (1 - z) * n + z * h

    Call ``gru(input, hx=None)``; returns ``(output, h_n)``.

    Parameters
    ----------
    input_size, hidden_size : int
        H_in and H.
    num_layers : int
        Stacked layers; layer k > 0 reads the output of layer k-1.
    bias : bool
        With ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool
        Inputs and outputs are ``(N, L, *)`` instead of ``(L, N, *)`` (the states are not
        affected).
    dropout : float in [0, 1]
        Dropout on the output of every layer but the last, in training mode.
    bidirectional : bool
        A second, reversed pass per layer (parameters with the suffix ``_reverse``); the
        outputs of both directions are concatenated.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    D = 2 if ``bidirectional`` else 1.

    - input: (L, N, H_in), (N, L, H_in) with ``batch_first``, or (L, H_in) unbatched.
    - hx, h_n: (num_layers * D, N, H), or (num_layers * D, H) unbatched; ``hx`` None means
      zeros.
    - output: (L, N, D*H), (N, L, D*H) with ``batch_first``, or (L, D*H) unbatched.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, device=device, dtype=dtype)

    def _run_direction(self, x, states, index, reverse):
        h0 = None if states is None else states[0]
        out = GRUFunction.apply(x, h0, *self._layer_weights(index), reverse)
        return out, (_last(out, x.shape[0], reverse),)

    def forward(self, input, hx=None):
        output, (h_n,) = self._forward(input, None if hx is None else (hx,))
        return output, h_n


class LSTM(RNNBase):
    """Long short-term memory, with PyTorch's equations and gate order i, f, g, o.

    ::

        i, f, o = sigmoid(...), g = tanh(...)   (each x W_i*^T + b_i* + h W_h*^T + b_h*)
        c' = f * c + i * g,  h' = o * tanh(c')

    Call ``lstm(input, (h0, c0))`` (the states optional, together); returns
    ``(output, (h_n, c_n))``.

    Parameters
    ----------
    input_size, hidden_size : int
        H_in and H.
    num_layers : int
        Stacked layers; layer k > 0 reads the output of layer k-1.
    bias : bool
        With ``bias_ih_l{k}`` and ``bias_hh_l{k}``.
    batch_first : bool
        Inputs and outputs are ``(N, L, *)`` instead of ``(L, N, *)`` (the states are not
        affected).
    dropout : float in [0, 1]
        Dropout on the output of every layer but the last, in training mode.
    bidirectional : bool
        A second, reversed pass per layer (parameters with the suffix ``_reverse``); the
        outputs of both directions are concatenated.
    proj_size : int
        With P = ``proj_size`` > 0 (less than H), h is projected to P values at every step,
        ``h' = (o * tanh(c')) W_hr^T`` (``weight_hr_l{k}``, (P, H)): h, the outputs and
        ``weight_hh`` have P features where they had H; c keeps H. Those layers run step by
        step in Python, not in the one-call sequence kernel.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    D = 2 if ``bidirectional`` else 1; below, h0, h_n and output have P in place of H when
    ``proj_size`` is P > 0.

    - input: (L, N, H_in), (N, L, H_in) with ``batch_first``, or (L, H_in) unbatched.
    - h0, c0, h_n, c_n: (num_layers * D, N, H), or (num_layers * D, H) unbatched; no states
      means zeros.
    - output: (L, N, D*H), (N, L, D*H) with ``batch_first``, or (L, D*H) unbatched.
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device=device, dtype=dtype)

    def _run_direction(self, x, states, index, reverse):
        h0, c0 = (None, None) if states is None else states
        if self.proj_size:
            return self._run_projected(x, h0, c0, index, reverse)
        out, c_n = LSTMFunction.apply(x, h0, c0, *self._layer_weights(index), reverse)
        return out, (out[0 if reverse else -1], c_n)

    def _run_projected(self, x, h, c, index, reverse):
        """One layer and direction with a projected state, step by step with the tensor ops:
        the input's projection of every step in one GEMM, then per step the recurrent
        product, the gates, the cell and the projection."""
        w_ih, w_hh, b_ih, b_hh, w_hr = self._layer_weights(index)
        L, N = x.shape[:2]
        dtype = x.dtype
        if h is None:
            h = _wrap(np.zeros((N, self.proj_size), dtype), None)
        if c is None:
            c = _wrap(np.zeros((N, self.hidden_size), dtype), None)
        projected = F.linear(x, w_ih, _bias_sum(b_ih, b_hh))  # both biases in one pass
        outputs = [None] * L
        for t in range(L - 1, -1, -1) if reverse else range(L):
            i, f, g, o = (projected[t] + F.linear(h, w_hh)).chunk(4, 1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            h = F.linear(o.sigmoid() * c.tanh(), w_hr)
            outputs[t] = h
        return stack(outputs, 0), (h, c)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._layer_name()}: hx must be a tuple (h0, c0), got "
                            f"{type(hx).__name__}")
        output, (h_n, c_n) = self._forward(input, hx)
        return output, (h_n, c_n)


# ---------------------------------------------------------------------------------------------
# Cells


class RNNCellBase(Module):
    """Base class of the cells :class:`RNNCell`, :class:`LSTMCell` and :class:`GRUCell`.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool
        With ``bias_ih`` and ``bias_hh``.
    num_chunks : int
        G, the number of gate blocks: 1 (RNN), 4 (LSTM), 3 (GRU).
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Attributes
    ----------
    weight_ih : Parameter of shape (G*hidden_size, input_size)
    weight_hh : Parameter of shape (G*hidden_size, hidden_size)
    bias_ih, bias_hh : Parameter of shape (G*hidden_size,) or None
        All four start U(-1/sqrt(hidden_size), 1/sqrt(hidden_size)).
    """

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.input_size = _check_size("input_size", input_size)
        self.hidden_size = _check_size("hidden_size", hidden_size)
        self.bias = bias
        gates = num_chunks * self.hidden_size
        self.weight_ih = Parameter(np.empty((gates, self.input_size), dtype))
        self.weight_hh = Parameter(np.empty((gates, self.hidden_size), dtype))
        if bias:
            self.bias_ih = Parameter(np.empty(gates, dtype))
            self.bias_hh = Parameter(np.empty(gates, dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        """Every weight and bias from U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))."""
        stdv = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            init.uniform_(weight, -stdv, stdv)

    def weight_ih_dtype(self):
        """The dtype of the parameters (that of ``weight_ih``)."""
        return self.weight_ih._data.dtype

    def _weights(self):
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def _prepare(self, input, hx, names):
        """Check the arguments; returns ``(x (1, N, H_in), states (N, H) or None, batched)``."""
        x = _check_input(self, input, self.input_size, (1, 2),
                         "an input (N, input_size) or unbatched (input_size,)")
        batched = x.ndim == 2
        input = _as_tensor(input)
        input = input.unsqueeze(0) if batched else input.reshape(1, 1, -1)
        N = input.shape[1]
        expected = (N, self.hidden_size) if batched else (self.hidden_size,)
        layout = "(N, hidden_size)" if batched else "(hidden_size,)"
        if hx is not None:
            hx = tuple(_check_state(self, name, s, expected, layout, self.weight_ih_dtype())
                       for name, s in zip(names, hx))
            if not batched:
                hx = tuple(s.unsqueeze(0) for s in hx)
        return input, hx, batched

    def _layer_name(self):
        return f"{self._get_name()}({self.extra_repr()})"

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


def _cell_out(h, batched, hidden):
    return h.reshape(-1, hidden) if batched else h.reshape(hidden)


class RNNCell(RNNCellBase):
    """One Elman RNN step: ``h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh)``.

    Call ``cell(input, hx=None)``; returns h'.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool
    nonlinearity : {"tanh", "relu"}
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    - input: (N, input_size), or (input_size,) unbatched.
    - hx, h': (N, hidden_size), or (hidden_size,) unbatched; ``hx`` None means zeros.
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or "
                             "'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        x, hx, batched = self._prepare(input, None if hx is None else (hx,), ("hx",))
        h0 = None if hx is None else hx[0]
        out = RNNFunction.apply(x, h0, *self._weights(), False, self.nonlinearity)
        return _cell_out(out, batched, self.hidden_size)


class GRUCell(RNNCellBase):
    """One GRU step (equations as :class:`GRU`).

    Call ``cell(input, hx=None)``; returns h'.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    - input: (N, input_size), or (input_size,) unbatched.
    - hx, h': (N, hidden_size), or (hidden_size,) unbatched; ``hx`` None means zeros.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 3, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        x, hx, batched = self._prepare(input, None if hx is None else (hx,), ("hx",))
        h0 = None if hx is None else hx[0]
        out = GRUFunction.apply(x, h0, *self._weights(), False)
        return _cell_out(out, batched, self.hidden_size)


class LSTMCell(RNNCellBase):
    """One LSTM step (equations as :class:`LSTM`).

    Call ``cell(input, (h, c))`` (the states optional, together); returns ``(h', c')``.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    - input: (N, input_size), or (input_size,) unbatched.
    - h, c, h', c': (N, hidden_size), or (hidden_size,) unbatched; no states means zeros.
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, 4, device=device, dtype=dtype)

    def forward(self, input, hx=None):
        if hx is not None and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
            raise TypeError(f"{self._layer_name()}: hx must be a tuple (h, c), got "
                            f"{type(hx).__name__}")
        x, hx, batched = self._prepare(input, hx, ("h", "c"))
        h0, c0 = (None, None) if hx is None else hx
        out, c = LSTMFunction.apply(x, h0, c0, *self._weights(), False)  # out: (1, N, H)
        return (_cell_out(out[0], batched, self.hidden_size),
                _cell_out(c, batched, self.hidden_size))
