"""The colour and noise transforms (ColorJitter, RandomGrayscale, GaussianBlur,
RandomErasing, ToPILImage) against their definitions: torchvision's formulas, written out
here with NumPy and colorsys on fixed factors."""

import colorsys

import numpy as np
import pytest

import pynn
from pynn.vision import transforms

RNG = np.random.default_rng(0)
IMG = RNG.random((3, 5, 6)).astype(np.float32)
PICTURE = (RNG.random((5, 6, 3)) * 255).astype(np.uint8)


def grey(x):
    return 0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]


@pytest.mark.parametrize("kwargs, expected", [
    ({"brightness": (1.4, 1.4)}, lambda x: np.clip(x * 1.4, 0, 1)),
    ({"contrast": (0.6, 0.6)}, lambda x: np.clip(0.6 * x + 0.4 * grey(x).mean(), 0, 1)),
    ({"saturation": (1.7, 1.7)}, lambda x: np.clip(1.7 * x - 0.7 * grey(x), 0, 1)),
    ({"hue": (0.2, 0.2)}, lambda x: np.stack([
        np.array([colorsys.hsv_to_rgb((h + 0.2) % 1, s, v) for h, s, v in
                  (colorsys.rgb_to_hsv(*px) for px in x.reshape(3, -1).T)]).T[c].reshape(
            x.shape[1:]) for c in range(3)])),
])
def test_color_jitter_fixed_factors(kwargs, expected):
    out = transforms.ColorJitter(**kwargs)(pynn.tensor(IMG))
    assert isinstance(out, pynn.Tensor) and out.dtype == pynn.float32
    np.testing.assert_allclose(out.numpy(), expected(IMG.astype(np.float64)), atol=1e-5)


def test_color_jitter_on_pictures_and_random_factors():
    pynn.manual_seed(0)
    jitter = transforms.ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    out = jitter(PICTURE)
    assert out.dtype == np.uint8 and out.shape == PICTURE.shape
    again = jitter(PICTURE)
    assert not np.array_equal(out, again)  # a new draw per call
    np.testing.assert_array_equal(transforms.ColorJitter()(PICTURE), PICTURE)
    with pytest.raises(ValueError, match="hue"):
        transforms.ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="brightness"):
        transforms.ColorJitter(brightness=-1)


def test_random_grayscale_keeps_the_channels():
    out = transforms.RandomGrayscale(p=1.0)(pynn.tensor(IMG)).numpy()
    np.testing.assert_allclose(out, np.repeat(grey(IMG)[None], 3, 0), rtol=1e-6)
    np.testing.assert_array_equal(transforms.RandomGrayscale(p=0.0)(pynn.tensor(IMG)).numpy(),
                                  IMG)


def test_gaussian_blur_is_a_normalised_separable_kernel():
    out = transforms.GaussianBlur(3, sigma=1.0)(pynn.tensor(IMG)).numpy()
    taps = np.exp(-0.5 * np.arange(-1, 2) ** 2)
    kernel = np.outer(taps, taps) / taps.sum() ** 2
    padded = np.pad(IMG.astype(np.float64), ((0, 0), (1, 1), (1, 1)), mode="reflect")
    expected = sum(kernel[i, j] * padded[:, i:i + 5, j:j + 6] for i in range(3) for j in range(3))
    np.testing.assert_allclose(out, expected, rtol=1e-5)
    with pytest.raises(ValueError, match="odd"):
        transforms.GaussianBlur(4)


def test_random_erasing_writes_one_rectangle():
    pynn.manual_seed(1)
    x = pynn.ones(3, 16, 16)
    out = transforms.RandomErasing(p=1.0, value=0.5)(x)
    assert x.numpy().min() == 1.0  # not in place
    erased = out.numpy()[0] == 0.5
    rows, cols = np.nonzero(erased)
    assert erased.sum() == (np.ptp(rows) + 1) * (np.ptp(cols) + 1) > 0
    assert (out.numpy()[:, erased] == 0.5).all()
    with pytest.raises(TypeError, match="ToTensor"):
        transforms.RandomErasing()(PICTURE)


def test_to_pil_image_round_trips_with_to_tensor():
    pytest.importorskip("PIL")
    image = transforms.ToPILImage()(pynn.tensor(PICTURE.transpose(2, 0, 1) / 255.0))
    assert image.size == (6, 5) and image.mode == "RGB"
    back = transforms.ToTensor()(image)
    np.testing.assert_allclose(back.numpy(), PICTURE.transpose(2, 0, 1) / 255.0, atol=1 / 255)
    assert transforms.ToPILImage()(PICTURE[:, :, 0]).mode == "L"
