"""Normalisation layers: batch and instance (1-D, 2-D, 3-D, and their lazy forms), layer, group,
RMS and local response."""

import numbers

import numpy as np

from ..tensor import Tensor, _wrap
from . import functional as F
from . import init
from .lazy import LazyModuleMixin, uninitialized_like
from .linear import _input_error, _layer_dtype
from .module import Module
from .parameter import Parameter

__all__ = [
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "GroupNorm", "InstanceNorm1d", "InstanceNorm2d",
    "InstanceNorm3d", "LayerNorm", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d", "LocalResponseNorm",
    "RMSNorm", "SyncBatchNorm",
]


class _NormBase(Module):
    """What BatchNorm and InstanceNorm share: the affine parameters and the running
    statistics, created and reset alike (their defaults differ, not their layout)."""

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, device=None, dtype=None, *, bias=True):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        self.num_features = int(num_features)
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if affine:
            self.weight = Parameter(np.empty(self.num_features, dtype))
            if bias:
                self.bias = Parameter(np.empty(self.num_features, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", np.zeros(self.num_features, dtype))
            self.register_buffer("running_var", np.ones(self.num_features, dtype))
            self.register_buffer("num_batches_tracked", np.array(0, dtype=np.int64))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self):
        if self.track_running_stats:
            self.running_mean._data.fill(0)
            self.running_var._data.fill(1)
            self.num_batches_tracked._data.fill(0)

    def reset_parameters(self):
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)


class _BatchNorm(_NormBase):
    """Shared by BatchNorm1d / BatchNorm2d (which differ only in the input ranks they take)."""

    _ranks = ()
    _rank_text = ""

    def _check_input(self, input):
        x = input._data if isinstance(input, Tensor) else input
        if not isinstance(x, np.ndarray) or x.ndim not in self._ranks:
            got = f"{x.ndim}D input" if isinstance(x, np.ndarray) else type(x).__name__
            raise ValueError(f"{self._layer_name()}: expected {self._rank_text} input (got "
                             f"{got}{', shape ' + str(x.shape) if hasattr(x, 'shape') else ''})")
        if x.shape[1] != self.num_features:
            raise _input_error(self, x, f"input with {self.num_features} channels "
                                        f"(dimension 1)")
        if self.training and x.size // max(x.shape[1], 1) <= 1:
            raise ValueError(f"{self._layer_name()}: expected more than 1 value per channel "
                             f"when training, got input of shape {x.shape}")
        ref = self.weight if self.weight is not None else self.running_mean
        if ref is not None and x.dtype != ref._data.dtype:
            raise _input_error(self, x, None)

    def forward(self, input):
        self._check_input(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            tracked = self.num_batches_tracked._data
            np.add(tracked, 1, out=tracked)
            if self.momentum is None:  # cumulative moving average
                factor = 1.0 / float(self.num_batches_tracked)
        batch_stats = self.training or self.running_mean is None
        update = not self.training or self.track_running_stats
        return F.batch_norm(input, self.running_mean if update else None,
                            self.running_var if update else None, self.weight, self.bias,
                            batch_stats, factor, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalisation over (N, C) or (N, C, L) input, per channel C.

    In train mode the batch's mean and biased variance normalise the input, and the running
    statistics are updated with the *unbiased* variance; in eval mode the running statistics
    are used. Both as PyTorch. ``reset_running_stats()`` and ``reset_parameters()`` restore
    the initial values.

    Parameters
    ----------
    num_features : int
        C, the size of dim 1 of the input.
    eps : float
        Added to the variance.
    momentum : float or None
        Weight of the new batch in the running statistics; None: a cumulative (equal-weight)
        average over all batches seen.
    affine : bool
        Learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
    track_running_stats : bool
        Keep ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
        (int64) buffers, and use them in eval mode; if False, batch statistics are used in
        both modes and the three buffers are None.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters and buffers (default float32).
    bias : bool, keyword-only
        With ``affine``, whether to learn the bias.

    Shape
    -----
    - Input: (N, C) or (N, C, L).
    - Output: the input's shape.
    """

    _ranks = (2, 3)
    _rank_text = "2D or 3D"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation over (N, C, H, W) input, per channel C.

    In train mode the batch's mean and biased variance normalise the input, and the running
    statistics are updated with the *unbiased* variance; in eval mode the running statistics
    are used. Both as PyTorch. ``reset_running_stats()`` and ``reset_parameters()`` restore
    the initial values.

    Parameters
    ----------
    num_features : int
        C, the size of dim 1 of the input.
    eps : float
        Added to the variance.
    momentum : float or None
        Weight of the new batch in the running statistics; None: a cumulative (equal-weight)
        average over all batches seen.
    affine : bool
        Learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
    track_running_stats : bool
        Keep ``running_mean`` (zeros), ``running_var`` (ones) and ``num_batches_tracked``
        (int64) buffers, and use them in eval mode; if False, batch statistics are used in
        both modes and the three buffers are None.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters and buffers (default float32).
    bias : bool, keyword-only
        With ``affine``, whether to learn the bias.

    Shape
    -----
    - Input: (N, C, H, W).
    - Output: the input's shape.
    """

    _ranks = (4,)
    _rank_text = "4D"


class BatchNorm3d(_BatchNorm):
    """Batch normalisation over (N, C, D, H, W) input, per channel.

    Batch normalisation over (N, C, D, H, W) input, per channel C (see :class:`BatchNorm2d` for the
    parameters).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
        Added to the variance for numerical stability.
    momentum : float or None
        The running averages' update factor (None: a cumulative average).
    affine : bool
        Whether to learn a per-channel scale and shift.
    track_running_stats : bool
        Whether to keep running mean and variance for eval mode.
    device : str or pynn.device, optional
        Only the CPU is supported.
    dtype : pynn.dtype, optional
        The dtype of the parameters (by default the default float dtype).
    bias : bool
        Whether to learn an additive bias.

    Shape
    -----
    - Input: (N, C, D, H, W).
    - Output: the input's shape.
    """

    _ranks = (5,)
    _rank_text = "5D"


class LayerNorm(Module):
    """Normalise over the trailing ``normalized_shape`` dimensions of each sample.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float
        Added to the variance.
    elementwise_affine : bool
        Learn ``weight`` (ones) and ``bias`` (zeros) of shape ``normalized_shape``.
    bias : bool
        With ``elementwise_affine``, whether to learn the bias.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the parameters (default float32).

    Shape
    -----
    - Input: ``(*, *normalized_shape)``.
    - Output: the input's shape.
    """

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.normalized_shape, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """Reset ``weight`` to ones and ``bias`` to zeros."""
        if self.elementwise_affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        x = input._data if isinstance(input, Tensor) else input
        k = len(self.normalized_shape)
        if not isinstance(x, np.ndarray) or x.shape[x.ndim - k:] != self.normalized_shape \
                or x.ndim < k:
            raise _input_error(self, x, f"input whose trailing dimensions are "
                                        f"{self.normalized_shape}")
        if self.weight is not None and x.dtype != self.weight.dtype:
            raise _input_error(self, x, None)
        return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}, bias={self.bias is not None}")


class GroupNorm(Module):
    """Group normalisation.

    Normalise each sample over groups of channels (and all positions), then scale and shift per
    channel.

    Parameters
    ----------
    num_groups : int
        Divides ``num_channels``.
    num_channels : int
    eps : float
    affine : bool
        Learn a per-channel ``weight`` (ones) and ``bias`` (zeros).
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.
    bias : bool
        Whether to learn an additive bias.

    Shape
    -----
    - Input: ``(N, C, *)``.
    - Output: the input's shape.
    """

    def __init__(self, num_groups, num_channels, eps=1e-5, affine=True, device=None,
                 dtype=None, *, bias=True):
        super().__init__()
        if num_channels % num_groups:
            raise ValueError("num_channels must be divisible by num_groups")
        dtype = _layer_dtype(dtype, device)
        self.num_groups = int(num_groups)
        self.num_channels = int(num_channels)
        self.eps = eps
        self.affine = affine
        if affine:
            self.weight = Parameter(np.ones(self.num_channels, dtype))
            if bias:
                self.bias = Parameter(np.zeros(self.num_channels, dtype))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self):
        """Weight to ones, bias to zeros."""
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def forward(self, input):
        x = input._data if isinstance(input, Tensor) else input
        if x.ndim < 2 or x.shape[1] != self.num_channels:
            raise _input_error(self, x, f"(N, {self.num_channels}, *) input")
        return F.group_norm(input, self.num_groups, self.weight, self.bias, self.eps)

    def extra_repr(self):
        return (f"{self.num_groups}, {self.num_channels}, eps={self.eps}, affine={self.affine}, "
                f"bias={self.bias is not None}")


class _InstanceNorm(_NormBase):
    _ranks = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=False,
                 track_running_stats=False, device=None, dtype=None, *, bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)

    def forward(self, input):
        x = input._data if isinstance(input, Tensor) else input
        if x.ndim not in self._ranks:
            raise _input_error(self, x, f"{self._ranks[0]}D (unbatched) or {self._ranks[1]}D "
                                        f"(batched) input")
        unbatched = x.ndim == self._ranks[0]
        if unbatched:
            input = (input if isinstance(input, Tensor) else _wrap(x, None)).unsqueeze(0)
        use_input_stats = self.training or not self.track_running_stats
        out = F.instance_norm(input, self.running_mean, self.running_var, self.weight,
                              self.bias, use_input_stats, self.momentum or 0.0, self.eps)
        return out.squeeze(0) if unbatched else out

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, "
                f"affine={self.affine}, bias={self.bias is not None}, "
                f"track_running_stats={self.track_running_stats}")


class InstanceNorm1d(_InstanceNorm):
    """Normalise each channel of each sample over its positions.

    Parameters
    ----------
    num_features : int
    eps : float
    momentum : float
        The running averages' update factor (None: a cumulative average).
    affine : bool
        Learn a per-channel ``weight`` and ``bias`` (default False, as PyTorch).
    track_running_stats : bool
        Keep running statistics and use them in eval mode.
    device : str or pynn.device, optional
        Only ``"cpu"``.
    dtype : pynn.dtype, optional
        The dtype of the parameters: float32 (default) or float64.
    bias : bool
        Whether to learn an additive bias.

    Shape
    -----
    - Input: (N, C, L) or (C, L).
    - Output: the input's shape.
    """

    _ranks = (2, 3)


class InstanceNorm2d(_InstanceNorm):
    """Instance normalisation over (N, C, H, W) input.

    Normalise each channel of each sample over its (H, W) positions (see :class:`InstanceNorm1d` for
    the parameters).

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
        Added to the variance for numerical stability.
    momentum : float or None
        The running averages' update factor (None: a cumulative average).
    affine : bool
        Whether to learn a per-channel scale and shift.
    track_running_stats : bool
        Whether to keep running mean and variance for eval mode.
    device : str or pynn.device, optional
        Only the CPU is supported.
    dtype : pynn.dtype, optional
        The dtype of the parameters (by default the default float dtype).
    bias : bool
        Whether to learn an additive bias.

    Shape
    -----
    - Input: (N, C, H, W) or (C, H, W).
    - Output: the input's shape.
    """

    _ranks = (3, 4)


class InstanceNorm3d(_InstanceNorm):
    """Instance normalisation over (N, C, D, H, W) input.

    Normalise each channel of each sample over its (D, H, W) positions.

    Parameters
    ----------
    num_features : int
        C, the number of channels.
    eps : float
        Added to the variance for numerical stability.
    momentum : float or None
        The running averages' update factor (None: a cumulative average).
    affine : bool
        Whether to learn a per-channel scale and shift.
    track_running_stats : bool
        Whether to keep running mean and variance for eval mode.
    device : str or pynn.device, optional
        Only the CPU is supported.
    dtype : pynn.dtype, optional
        The dtype of the parameters (by default the default float dtype).
    bias : bool
        Whether to learn an additive bias.

    Shape
    -----
    - Input: (N, C, D, H, W) or (C, D, H, W).
    - Output: the input's shape.
    """

    _ranks = (4, 5)


class _LazyNorm(LazyModuleMixin):
    """A batch or instance norm whose ``num_features`` is the first input's channel count:
    its weight and bias are uninitialised and its statistics empty until then."""

    def _lazy_size(self):
        return self.num_features

    def _input_size(self, input):
        x = input._data if isinstance(input, Tensor) else np.asarray(input)
        ranks = self._ranks
        if x.ndim not in ranks:
            raise ValueError(f"{self._layer_name()}: expected "
                             f"{' or '.join(f'{r}D' for r in ranks)} input, got shape {x.shape}")
        unbatched = issubclass(self._eager, _InstanceNorm) and x.ndim == ranks[0]
        return int(x.shape[0 if unbatched else 1])

    def _state_size(self, prefix, state_dict):
        for name in ("weight", "bias", "running_mean", "running_var"):
            value = state_dict.get(prefix + name)
            if value is not None and len(np.shape(value)) == 1:
                return int(np.shape(value)[0])
        return None

    def _materialize(self, n):
        self.num_features = n
        for p in (self.weight, self.bias):
            if p is not None:
                p.materialize((n,))
        if self.track_running_stats:
            for buffer in (self.running_mean, self.running_var):
                buffer._data = np.empty(n, buffer._data.dtype)
        self.reset_parameters()


def _lazy_norm(eager):
    # PyTorch's lazy instance norms are affine and track statistics by default, unlike the
    # eager ones
    def __init__(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                 device=None, dtype=None, *, bias=True):
        self._eager.__init__(self, 0, eps, momentum, affine, track_running_stats, device, dtype,
                             bias=bias)
        if self.weight is not None:
            self.weight = uninitialized_like(self.weight)
        if self.bias is not None:
            self.bias = uninitialized_like(self.bias)

    name = "Lazy" + eager.__name__
    doc = f"""A :class:`{eager.__name__}` whose ``num_features`` is taken from the first input.

    The weight and bias are uninitialised parameters, and the running statistics empty,
    until the first call (or a ``load_state_dict``) gives them their size, in place, so an
    optimiser built before then trains them; the layer is then a :class:`{eager.__name__}`.

    Parameters
    ----------
    eps : float
    momentum : float or None
        As :class:`{eager.__name__}`.
    device : str or pynn.device, optional
    dtype : pynn.dtype, optional
    affine, track_running_stats : bool
        True by default (as PyTorch's lazy layers, instance norms included).
    bias : bool
        Whether to learn an additive bias (with ``affine``).

    Shape
    -----
    - Input and output: as :class:`{eager.__name__}`.
    """
    return type(name, (_LazyNorm, eager), {"__init__": __init__, "_eager": eager,
                                           "__module__": __name__, "__qualname__": name,
                                           "__doc__": doc})


class LocalResponseNorm(Module):
    """Normalise by the squares of ``size`` neighbouring channels (AlexNet's LRN).

    Parameters
    ----------
    size : int
    alpha, beta, k : float

    Shape
    -----
    - Input: ``(N, C, *)``.
    - Output: the input's shape.
    """

    def __init__(self, size, alpha=1e-4, beta=0.75, k=1.0):
        super().__init__()
        self.size = size
        self.alpha = alpha
        self.beta = beta
        self.k = k

    def forward(self, input):
        return F.local_response_norm(input, self.size, self.alpha, self.beta, self.k)

    def extra_repr(self):
        return f"{self.size}, alpha={self.alpha}, beta={self.beta}, k={self.k}"


class RMSNorm(Module):
    """Root-mean-square normalisation over the trailing ``normalized_shape`` dimensions.

    ``x / sqrt(mean(x ** 2) + eps) * weight`` (no centring, no bias), as in LLaMA-style
    transformers.

    Parameters
    ----------
    normalized_shape : int or tuple of int
    eps : float, optional
        Added to the mean square; by default the machine epsilon of the input's dtype.
    elementwise_affine : bool
        Learn ``weight`` (ones) of shape ``normalized_shape``.
    device : None or "cpu"
    dtype : float dtype, optional
        Of the weight (default float32).

    Shape
    -----
    - Input: ``(*, *normalized_shape)``.
    - Output: the input's shape.
    """

    def __init__(self, normalized_shape, eps=None, elementwise_affine=True, device=None,
                 dtype=None):
        super().__init__()
        dtype = _layer_dtype(dtype, device)
        if isinstance(normalized_shape, numbers.Integral):
            normalized_shape = (normalized_shape,)
        self.normalized_shape = tuple(int(n) for n in normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        if elementwise_affine:
            self.weight = Parameter(np.ones(self.normalized_shape, dtype))
        else:
            self.register_parameter("weight", None)

    def reset_parameters(self):
        """Reset ``weight`` to ones."""
        if self.weight is not None:
            init.ones_(self.weight)

    def forward(self, input):
        return F.rms_norm(input, self.normalized_shape, self.weight, self.eps)

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")


class SyncBatchNorm(_BatchNorm):
    """Batch norm for inputs of any rank from 2 (``torch.nn.SyncBatchNorm``).

    PyTorch averages the batch statistics over the processes of a distributed job. pynn's
    statistics are each process's own: the same as PyTorch's in one process, and with
    ``DistributedDataParallel`` each replica normalises by its own
    batch (the running statistics of rank 0 are the ones saved).

    Parameters
    ----------
    num_features : int
        C, the number of channels (dimension 1).
    eps : float
    momentum : float or None
    affine : bool
    track_running_stats : bool
    process_group : optional
        Accepted for PyTorch's signature.
    device : None or "cpu"
    dtype : float dtype, optional
    bias : bool
        Whether to learn an additive bias (with ``affine``).

    Shape
    -----
    - Input: ``(N, C, *)``.
    - Output: the input's shape.
    """

    _ranks = (2, 3, 4, 5)
    _rank_text = "at least 2D"

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        self.process_group = process_group

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with each BatchNorm layer replaced by a SyncBatchNorm holding its state.

        Parameters
        ----------
        module : Module
        process_group : optional
            Accepted for PyTorch's signature.

        Returns
        -------
        Module
            ``module`` itself, or a new SyncBatchNorm when ``module`` is a BatchNorm.
        """
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            ref = module.weight if module.weight is not None else module.running_mean
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group,
                      dtype=None if ref is None else ref.dtype)
            out.load_state_dict(module.state_dict())
            out.train(module.training)
            for name in ("weight", "bias"):
                old = getattr(module, name)
                if old is not None:
                    getattr(out, name).requires_grad = old.requires_grad
        for name, child in module.named_children():
            out.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        return out


LazyBatchNorm1d = _lazy_norm(BatchNorm1d)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d)
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d)
