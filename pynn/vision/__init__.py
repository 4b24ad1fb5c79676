"""torchvision's everyday names on pynn: datasets, transforms, image files and ResNets.

::

    from pynn.vision import datasets, transforms
    from pynn.vision.utils import save_image

    ds = datasets.MNIST("../data", train=True, download=True,
                        transform=transforms.Compose([transforms.ToTensor(),
                                                      transforms.Normalize((0.1307,), (0.3081,))]))

Images are NumPy arrays until :class:`~pynn.vision.transforms.ToTensor` (torchvision uses PIL
images there; Pillow is not needed), PNG files are written with zlib only.
"""

from . import datasets, models, transforms, utils

__all__ = ["datasets", "models", "transforms", "utils"]
