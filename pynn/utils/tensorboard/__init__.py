"""TensorBoard logging with PyTorch's ``torch.utils.tensorboard`` names.

::

    from pynn.utils.tensorboard import SummaryWriter

    with SummaryWriter("runs/mnist") as writer:
        for epoch in range(epochs):
            ...
            writer.add_scalar("loss/train", loss, epoch)
            writer.add_histogram("fc1.weight", model.fc1.weight, epoch)

then ``tensorboard --logdir runs``. The event files are written by tensorboardX, a pure
Python package that needs neither TensorFlow nor PyTorch: ``pip install
"pynn[tensorboard]"``. (Viewing them needs the ``tensorboard`` package, anywhere the files
can be read.) :class:`pynn.train.TensorBoard` is the callback that logs a :func:`pynn.train.fit`
run.
"""

import numpy as np

from ...tensor import Tensor

try:
    import tensorboardX as _tbx
except ImportError as exc:  # as torch.utils.tensorboard does without tensorboard
    raise ImportError("pynn.utils.tensorboard needs the tensorboardX package: "
                      "pip install \"pynn[tensorboard]\" (or pip install tensorboardX)") from exc

__all__ = ["SummaryWriter"]


def _np(x):
    """A Tensor's values as an ndarray (no graph, no copy); anything else as it is."""
    if isinstance(x, Tensor):
        return x._data
    return x


def _scalar(x):
    if isinstance(x, Tensor):
        if x._data.size != 1:
            raise ValueError(f"SummaryWriter: a scalar must have one element, got a Tensor "
                             f"of shape {tuple(x.shape)}")
        return x._data.item()
    if isinstance(x, np.ndarray) and x.size == 1:
        return x.item()
    return x


class SummaryWriter(_tbx.SummaryWriter):
    """Write TensorBoard event files (``torch.utils.tensorboard.SummaryWriter``).

    Accepts pynn Tensors wherever PyTorch's writer takes a tensor (scalars, histograms,
    images, embeddings, PR curves, ...), as well as ndarrays and numbers. Writes are
    queued and flushed every ``flush_secs`` seconds, by ``flush()``, and by ``close()``
    (also on leaving a ``with`` block). The methods not listed here are tensorboardX's
    (``add_text``, ``add_figure``, ``add_hparams``, ``add_custom_scalars``, ...).

    Parameters
    ----------
    log_dir : str, optional
        The folder of the event files (default ``runs/<date>_<time>_<host><comment>``).
    comment : str
        Appended to the default ``log_dir``.
    purge_step : int, optional
        When reopening a run that stopped at a later step, hide its events from this step
        on (TensorBoard shows the new ones).
    max_queue : int
        Events kept in memory before a write.
    flush_secs : float
        Seconds between automatic flushes.
    filename_suffix : str
        Appended to the event file's name.
    """

    def __init__(self, log_dir=None, comment="", purge_step=None, max_queue=10,
                 flush_secs=120, filename_suffix=""):
        super().__init__(logdir=None if log_dir is None else str(log_dir), comment=comment,
                         purge_step=purge_step, max_queue=max_queue, flush_secs=flush_secs,
                         filename_suffix=filename_suffix)

    @property
    def log_dir(self):
        """The folder the event files are written to."""
        return self.logdir

    def add_scalar(self, tag, scalar_value, global_step=None, walltime=None,
                   new_style=False, double_precision=False):
        """Record one number.

        Parameters
        ----------
        tag : str
            The series' name (``"loss/train"``: a ``/`` groups series in TensorBoard).
        scalar_value : float, or Tensor or ndarray of shape () or (1,)
        global_step : int, optional
            The x coordinate (step or epoch).
        walltime : float, optional
            Seconds since the epoch (default: now).
        new_style, double_precision : bool
            Accepted for PyTorch compatibility (tensorboardX decides the encoding).
        """
        super().add_scalar(tag, _scalar(scalar_value), global_step, walltime)

    def add_scalars(self, main_tag, tag_scalar_dict, global_step=None, walltime=None):
        """Record several numbers in one chart (each series in its own sub-folder).

        Parameters
        ----------
        main_tag : str
            The chart's name.
        tag_scalar_dict : dict of str -> float or one-element Tensor
            The series' names and values.
        global_step : int, optional
        walltime : float, optional
        """
        super().add_scalars(main_tag, {k: _scalar(v) for k, v in tag_scalar_dict.items()},
                            global_step, walltime)

    def add_histogram(self, tag, values, global_step=None, bins="tensorflow", walltime=None,
                      max_bins=None):
        """Record the distribution of ``values``.

        Parameters
        ----------
        tag : str
        values : Tensor or ndarray of any shape
            Flattened.
        global_step : int, optional
        bins : str or int
            ``"tensorflow"`` (TensorBoard's exponential bins), a NumPy bins rule
            (``"auto"``, ``"fd"``, ...) or a number of bins.
        walltime : float, optional
        max_bins : int, optional
        """
        super().add_histogram(tag, np.asarray(_np(values)), global_step, bins, walltime,
                              max_bins)

    def add_image(self, tag, img_tensor, global_step=None, walltime=None, dataformats="CHW"):
        """Record an image.

        Parameters
        ----------
        tag : str
        img_tensor : Tensor or ndarray of shape (C, H, W) (``dataformats``)
            Floats in [0, 1] or uint8 in [0, 255]; C is 1, 3 or 4.
        global_step : int, optional
        walltime : float, optional
        dataformats : str
            The axes' order: ``"CHW"``, ``"HWC"``, ``"HW"``.
        """
        super().add_image(tag, np.asarray(_np(img_tensor)), global_step, walltime,
                          dataformats)

    def add_images(self, tag, img_tensor, global_step=None, walltime=None,
                   dataformats="NCHW"):
        """Record a batch of images as one grid.

        Parameters
        ----------
        tag : str
        img_tensor : Tensor or ndarray of shape (N, C, H, W) (``dataformats``)
        global_step : int, optional
        walltime : float, optional
        dataformats : str
            ``"NCHW"`` or ``"NHWC"``.
        """
        super().add_images(tag, np.asarray(_np(img_tensor)), global_step, walltime,
                           dataformats)

    def add_pr_curve(self, tag, labels, predictions, global_step=None, num_thresholds=127,
                     weights=None, walltime=None):
        """Record a precision-recall curve of a binary classifier.

        Parameters
        ----------
        tag : str
        labels : Tensor or ndarray of shape (N,)
            True (1) or false (0).
        predictions : Tensor or ndarray of shape (N,)
            Probabilities of the positive class, in [0, 1].
        global_step : int, optional
        num_thresholds : int
        weights : Tensor or ndarray of shape (N,), optional
        walltime : float, optional
        """
        super().add_pr_curve(tag, np.asarray(_np(labels)), np.asarray(_np(predictions)),
                             global_step, num_thresholds,
                             None if weights is None else np.asarray(_np(weights)), walltime)

    def add_embedding(self, mat, metadata=None, label_img=None, global_step=None,
                      tag="default", metadata_header=None):
        """Record points for TensorBoard's projector.

        Parameters
        ----------
        mat : Tensor or ndarray of shape (N, D)
        metadata : list, optional
            One label per point (or rows of labels with ``metadata_header``).
        label_img : Tensor or ndarray of shape (N, C, H, W), optional
        global_step : int, optional
        tag : str
        metadata_header : list of str, optional
        """
        super().add_embedding(np.asarray(_np(mat)), metadata,
                              None if label_img is None else np.asarray(_np(label_img)),
                              global_step, tag, metadata_header)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
