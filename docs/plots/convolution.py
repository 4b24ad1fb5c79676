"""Figure of page 7: an image, a vertical-edge kernel, the feature map pynn's conv2d computes
from them, and that map after 2 x 2 max pooling."""

from pathlib import Path

import numpy as np

import pynn
from pynn import functional as F


def _image():
    """A 16 x 16 picture: a bright disc on a dark background."""
    yy, xx = np.mgrid[0:16, 0:16]
    return (((yy - 7.5) ** 2 + (xx - 7.5) ** 2) <= 36).astype(np.float32)


def make(outdir):
    import matplotlib.pyplot as plt

    image = _image()
    kernel = np.array([[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]], np.float32)
    x = pynn.tensor(image[None, None])
    fmap = F.conv2d(x, pynn.tensor(kernel[None, None]), padding=1)
    pooled = F.max_pool2d(fmap, 2)

    panels = [
        (image, "input image (16 x 16)", "gray"),
        (kernel, "kernel (3 x 3)", "RdBu_r"),
        (fmap.detach().numpy()[0, 0], "feature map: conv2d, padding 1", "RdBu_r"),
        (pooled.detach().numpy()[0, 0], "after MaxPool2d(2) (8 x 8)", "RdBu_r"),
    ]
    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    for ax, (data, title, cmap) in zip(axes, panels):
        if cmap == "gray":
            im = ax.imshow(data, cmap=cmap, vmin=0, vmax=1)
        else:
            bound = float(np.abs(data).max())
            im = ax.imshow(data, cmap=cmap, vmin=-bound, vmax=bound)
        ax.set_title(title, fontsize=10)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    for (i, j), v in np.ndenumerate(kernel):
        axes[1].text(j, i, f"{v:g}", ha="center", va="center", fontsize=12,
                     color="white" if abs(v) == 2 else "black")
    fig.suptitle("A vertical-edge kernel slid over an image: positive at dark-to-bright "
                 "edges, negative at bright-to-dark", fontsize=11)
    fig.tight_layout()
    path = Path(outdir) / "convolution.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return [path]
