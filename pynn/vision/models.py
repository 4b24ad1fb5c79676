"""Residual networks with torchvision's names and layer names (``resnet18`` ...).

The architectures only: there are no pretrained weights to download (``weights=None``).
Parameter names match torchvision's, so a torchvision ``state_dict`` (converted with
:func:`pynn.load`) loads into these models.
"""

from .. import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "ResNet18_Weights", "ResNet34_Weights",
           "ResNet50_Weights", "ResNet101_Weights", "ResNet152_Weights", "resnet18", "resnet34",
           "resnet50", "resnet101", "resnet152"]


def _conv3x3(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=3, stride=stride, padding=1, bias=False)


def _conv1x1(cin, cout, stride=1):
    return nn.Conv2d(cin, cout, kernel_size=1, stride=stride, bias=False)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (ResNet-18/34).

    Parameters
    ----------
    inplanes : int
        Input channels.
    planes : int
        Output channels.
    stride : int
        Of the first convolution.
    downsample : Module, optional
        Applied to the shortcut when shapes change.

    Shape
    -----
    - Input: (N, inplanes, H, W)
    - Output: (N, planes, H / stride, W / stride)
    """

    expansion = 1

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv3x3(inplanes, planes, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.relu = nn.ReLU(inplace=True)
        self.conv2 = _conv3x3(planes, planes)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        """The block's output: ``relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x))``."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand (x4), with a shortcut (ResNet-50 and deeper).

    Parameters
    ----------
    inplanes : int
        Input channels.
    planes : int
        Channels of the 3x3 convolution; the output has ``4 * planes``.
    stride : int
        Of the 3x3 convolution.
    downsample : Module, optional
        Applied to the shortcut when shapes change.

    Shape
    -----
    - Input: (N, inplanes, H, W)
    - Output: (N, 4 * planes, H / stride, W / stride)
    """

    expansion = 4

    def __init__(self, inplanes, planes, stride=1, downsample=None):
        super().__init__()
        self.conv1 = _conv1x1(inplanes, planes)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv3x3(planes, planes, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv1x1(planes, planes * self.expansion)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        """The block's output (three convolutions plus the shortcut, then ReLU)."""
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """A residual network: a 7x7 stem, four stages of blocks, global pooling, a classifier.

    Parameters
    ----------
    block : type
        :class:`BasicBlock` or :class:`Bottleneck`.
    layers : list of 4 int
        Blocks per stage.
    num_classes : int
    zero_init_residual : bool
        Start each block's last batch-norm scale at 0 (each block begins as the identity).

    Shape
    -----
    - Input: (N, 3, H, W)
    - Output: (N, num_classes)
    """

    def __init__(self, block, layers, num_classes=1000, zero_init_residual=False):
        super().__init__()
        self.inplanes = 64
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, 64, layers[0])
        self.layer2 = self._make_layer(block, 128, layers[1], stride=2)
        self.layer3 = self._make_layer(block, 256, layers[2], stride=2)
        self.layer4 = self._make_layer(block, 512, layers[3], stride=2)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(512 * block.expansion, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if zero_init_residual:
            for m in self.modules():
                last = getattr(m, "bn3" if isinstance(m, Bottleneck) else "bn2", None)
                if isinstance(m, (BasicBlock, Bottleneck)) and last is not None:
                    nn.init.zeros_(last.weight)

    def _make_layer(self, block, planes, blocks, stride=1):
        downsample = None
        if stride != 1 or self.inplanes != planes * block.expansion:
            downsample = nn.Sequential(_conv1x1(self.inplanes, planes * block.expansion, stride),
                                       nn.BatchNorm2d(planes * block.expansion))
        layers = [block(self.inplanes, planes, stride, downsample)]
        self.inplanes = planes * block.expansion
        layers += [block(self.inplanes, planes) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x):
        """Class scores (N, num_classes) of images (N, 3, H, W)."""
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def _resnet(block, layers, weights, progress, kwargs):
    if weights is not None or kwargs.pop("pretrained", False):
        raise ValueError("pynn.vision.models has no pretrained weights: pass weights=None "
                         "and load a state_dict of your own with model.load_state_dict")
    return ResNet(block, layers, **kwargs)


def resnet18(*, weights=None, progress=True, **kwargs):
    """ResNet-18 (BasicBlock, [2, 2, 2, 2]).

    Parameters
    ----------
    weights : None
        No pretrained weights are available.
    progress : bool
        Accepted for torchvision's signature.
    **kwargs : any
        :class:`ResNet`'s (``num_classes`` ...).

    Returns
    -------
    ResNet
    """
    return _resnet(BasicBlock, [2, 2, 2, 2], weights, progress, kwargs)


def resnet34(*, weights=None, progress=True, **kwargs):
    """ResNet-34 (BasicBlock, [3, 4, 6, 3]).

    Parameters
    ----------
    weights : None
        No pretrained weights are available.
    progress : bool
        Accepted for torchvision's signature.
    **kwargs : any
        :class:`ResNet`'s (``num_classes`` ...).

    Returns
    -------
    ResNet
    """
    return _resnet(BasicBlock, [3, 4, 6, 3], weights, progress, kwargs)


def resnet50(*, weights=None, progress=True, **kwargs):
    """ResNet-50 (Bottleneck, [3, 4, 6, 3]).

    Parameters
    ----------
    weights : None
        No pretrained weights are available.
    progress : bool
        Accepted for torchvision's signature.
    **kwargs : any
        :class:`ResNet`'s (``num_classes`` ...).

    Returns
    -------
    ResNet
    """
    return _resnet(Bottleneck, [3, 4, 6, 3], weights, progress, kwargs)


def resnet101(*, weights=None, progress=True, **kwargs):
    """ResNet-101 (Bottleneck, [3, 4, 23, 3]).

    Parameters
    ----------
    weights : None
        No pretrained weights are available.
    progress : bool
        Accepted for torchvision's signature.
    **kwargs : any
        :class:`ResNet`'s (``num_classes`` ...).

    Returns
    -------
    ResNet
    """
    return _resnet(Bottleneck, [3, 4, 23, 3], weights, progress, kwargs)


def resnet152(*, weights=None, progress=True, **kwargs):
    """ResNet-152 (Bottleneck, [3, 8, 36, 3]).

    Parameters
    ----------
    weights : None
        No pretrained weights are available.
    progress : bool
        Accepted for torchvision's signature.
    **kwargs : any
        :class:`ResNet`'s (``num_classes`` ...).

    Returns
    -------
    ResNet
    """
    return _resnet(Bottleneck, [3, 8, 36, 3], weights, progress, kwargs)


class _Weights:
    """One of torchvision's weight names (``ResNet18_Weights.DEFAULT``): accepted as the
    ``weights`` argument, where it raises the error that says no weights ship with pynn."""

    def __init__(self, owner, name):
        self._owner, self.name = owner, name

    def __repr__(self):
        return f"{self._owner}.{self.name}"


class _WeightsEnum(type):
    def __getattr__(cls, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return _Weights(cls.__name__, name)


class ResNet18_Weights(metaclass=_WeightsEnum):
    """torchvision's weight names for resnet18 (``DEFAULT``, ``IMAGENET1K_V1``).

    None ship with pynn, so passing one raises an error saying so."""


class ResNet34_Weights(metaclass=_WeightsEnum):
    """torchvision's weight names for resnet34: none ship with pynn."""


class ResNet50_Weights(metaclass=_WeightsEnum):
    """torchvision's weight names for resnet50: none ship with pynn."""


class ResNet101_Weights(metaclass=_WeightsEnum):
    """torchvision's weight names for resnet101: none ship with pynn."""


class ResNet152_Weights(metaclass=_WeightsEnum):
    """torchvision's weight names for resnet152: none ship with pynn."""
