"""What PyTorch's lazy layers share (``torch.nn.modules.lazy.LazyModuleMixin``).

A lazy layer is built before its input size is known: its weights are
:class:`~pynn.nn.parameter.UninitializedParameter` objects until the first call (or a
``load_state_dict``, which takes the sizes from the state dict) gives them their shapes,
in place, so that an optimiser built before then trains them. The layer then becomes its
eager class (``LazyConv2d`` a ``Conv2d``), as PyTorch's do.
"""

from .parameter import UninitializedParameter

__all__ = ["LazyModuleMixin"]


class LazyModuleMixin:
    """The lazy layers' shared behaviour; a layer defines ``_materialize(size)`` (the input
    size it takes), ``_input_size(input)`` and ``_state_size(prefix, state_dict)``, and sets
    ``_eager``, the class it becomes."""

    _eager = None

    def has_uninitialized_params(self):
        """Whether some parameter still waits for the input size.

        Returns
        -------
        bool
        """
        return any(isinstance(p, UninitializedParameter) for p in self._parameters.values()) \
            or self._lazy_size() == 0

    def initialize_parameters(self, *args, **kwargs):
        """Give the parameters their shapes from the first input (``args[0]``).

        Parameters
        ----------
        *args, **kwargs
            The arguments of the first call.
        """
        if self.has_uninitialized_params():
            eager = self._eager
            self._materialize(self._input_size(args[0]))
            self.__class__ = eager

    def _load_sizes(self, prefix, state_dict):
        """Materialise from the shapes in ``state_dict`` (called by ``load_state_dict``
        before it checks them), when the state dict has this layer's entries."""
        size = self._state_size(prefix, state_dict)
        if size is not None and self.has_uninitialized_params():
            eager = self._eager
            self._materialize(size)
            self.__class__ = eager

    def forward(self, input, *args, **kwargs):
        eager = self._eager  # the class attribute is gone once the layer is eager
        self.initialize_parameters(input)
        return eager.forward(self, input, *args, **kwargs)


def uninitialized_like(param):
    """An :class:`UninitializedParameter` of ``param``'s dtype and ``requires_grad``."""
    return UninitializedParameter(param.requires_grad, dtype=param._data.dtype)
