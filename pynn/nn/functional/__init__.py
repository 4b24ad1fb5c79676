"""Differentiable functions with the names and signatures of ``torch.nn.functional``.

``pynn.nn.functional``: differentiable functions with ``torch.nn.functional``'s names and
signatures (``pynn.functional`` is the same module under an older name)::

    import pynn.nn.functional as F
    loss = F.cross_entropy(F.linear(F.relu(F.linear(x, w1, b1)), w2, b2), labels)

One private module per family, next to the autograd nodes of ``pynn/ops/``: ``_linear``,
``_conv`` (with ``unfold``/``fold``), ``_pooling``, ``_activation`` (with the softmax family),
``_dropout``, ``_normalization``, ``_loss``, ``_distance``, ``_attention``, ``_sparse``
(embedding, ``one_hot``), ``_shape`` (``flatten``, ``pad``, pixel shuffle) and
``_resampling`` (``interpolate``, ``grid_sample``); ``_utils`` holds what they share. Import
the functions from here, not from those modules.

Inputs are :class:`pynn.Tensor` (ndarrays are accepted as constants). Hot paths run on the
active backend's kernels (``gemm``, convolution, pooling, the softmax family, activations,
``bias_grad``); kernel-backed ops need float32 or float64 operands of one dtype and raise a
TypeError naming the op otherwise. PyTorch's deprecated ``size_average``/``reduce`` are
turned into ``reduction`` with PyTorch's warning.

Not implemented (NotImplementedError): ``dilation`` in pooling, ``ceil_mode`` in average
pooling, ``divisor_override``, bicubic interpolation, bicubic ``grid_sample``.
"""

# The "_name as _name" imports are the layers' fused paths and shared argument rules, which
# pynn.nn calls as F._name.
from ._activation import (
    celu,
    celu_,
    elu,
    elu_,
    gelu,
    glu,
    gumbel_softmax,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    hardtanh_,
    leaky_relu,
    leaky_relu_,
    log_softmax,
    logsigmoid,
    mish,
    prelu,
    relu,
    relu6,
    relu_,
    rrelu,
    rrelu_,
    selu,
    selu_,
    sigmoid,
    silu,
    softmax,
    softmin,
    softplus,
    softshrink,
    softsign,
    tanh,
    tanhshrink,
    threshold,
    threshold_,
)
from ._attention import _multi_head_attention as _multi_head_attention
from ._attention import multi_head_attention_forward, scaled_dot_product_attention
from ._conv import _conv2d_maxpool as _conv2d_maxpool
from ._conv import _conv2d_relu as _conv2d_relu
from ._conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d, fold, unfold
from ._distance import cosine_similarity, normalize, pairwise_distance, pdist
from ._dropout import alpha_dropout, dropout, dropout1d, dropout2d, dropout3d, feature_alpha_dropout
from ._linear import _linear_relu as _linear_relu
from ._linear import bilinear, linear
from ._loss import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    ctc_loss,
    gaussian_nll_loss,
    hinge_embedding_loss,
    hinge_loss,
    huber_loss,
    kl_div,
    l1_loss,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
)
from ._normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    rms_norm,
)
from ._pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    avg_pool1d,
    avg_pool2d,
    max_pool1d,
    max_pool2d,
    max_unpool1d,
    max_unpool2d,
)
from ._resampling import affine_grid, grid_sample, interpolate, upsample
from ._shape import flatten, pad, pixel_shuffle, pixel_unshuffle
from ._sparse import _embedding as _embedding
from ._sparse import _padding_idx as _padding_idx
from ._sparse import embedding, embedding_bag, one_hot
from ._utils import _legacy as _legacy

__all__ = [
    "adaptive_avg_pool1d",
    "adaptive_avg_pool2d",
    "adaptive_max_pool1d",
    "adaptive_max_pool2d",
    "affine_grid",
    "alpha_dropout",
    "avg_pool1d",
    "avg_pool2d",
    "batch_norm",
    "bilinear",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "celu",
    "celu_",
    "conv1d",
    "conv2d",
    "conv_transpose1d",
    "conv_transpose2d",
    "cosine_embedding_loss",
    "cosine_similarity",
    "cross_entropy",
    "ctc_loss",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "elu_",
    "embedding",
    "embedding_bag",
    "feature_alpha_dropout",
    "flatten",
    "fold",
    "gaussian_nll_loss",
    "gelu",
    "glu",
    "grid_sample",
    "group_norm",
    "gumbel_softmax",
    "hardshrink",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "hardtanh_",
    "hinge_embedding_loss",
    "hinge_loss",
    "huber_loss",
    "instance_norm",
    "interpolate",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "leaky_relu",
    "leaky_relu_",
    "linear",
    "local_response_norm",
    "log_softmax",
    "logsigmoid",
    "margin_ranking_loss",
    "max_pool1d",
    "max_pool2d",
    "max_unpool1d",
    "max_unpool2d",
    "mish",
    "mse_loss",
    "multi_head_attention_forward",
    "multi_margin_loss",
    "multilabel_soft_margin_loss",
    "nll_loss",
    "normalize",
    "one_hot",
    "pad",
    "pairwise_distance",
    "pdist",
    "pixel_shuffle",
    "pixel_unshuffle",
    "poisson_nll_loss",
    "prelu",
    "relu",
    "relu6",
    "relu_",
    "rms_norm",
    "rrelu",
    "rrelu_",
    "scaled_dot_product_attention",
    "selu",
    "selu_",
    "sigmoid",
    "silu",
    "smooth_l1_loss",
    "soft_margin_loss",
    "softmax",
    "softmin",
    "softplus",
    "softshrink",
    "softsign",
    "tanh",
    "tanhshrink",
    "threshold",
    "threshold_",
    "triplet_margin_loss",
    "unfold",
    "upsample",
]
