"""Batch transforms: shapes, exact values on known images, per-image randomness,
reproducibility."""

import numpy as np
import pytest

import pynn
from pynn.data import transforms as T


def batch(n=6, c=2, h=7, w=7, dtype=np.float32):
    return np.arange(n * c * h * w, dtype=dtype).reshape(n, c, h, w) + 1


ALL = [
    lambda: T.Normalize([0.5, 1.0], [2.0, 4.0]),
    lambda: T.RandomTranslate(2, rng=0),
    lambda: T.RandomCrop(7, padding=3, rng=0),
    lambda: T.RandomRotation(30, rng=0),
    lambda: T.RandomRotation(30, interpolation="nearest", rng=0),
    lambda: T.RandomHorizontalFlip(rng=0),
    lambda: T.GaussianNoise(0.1, rng=0),
    lambda: T.Compose([T.RandomTranslate(1, rng=0), T.GaussianNoise(0.1, rng=1)]),
]


@pytest.mark.parametrize("make_t", ALL)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_shape_dtype_kept_and_input_untouched(make_t, dtype):
    x = batch(dtype=dtype)
    before = x.copy()
    out = make_t()(x)
    assert out.shape == x.shape and out.dtype == dtype
    np.testing.assert_array_equal(x, before)
    single = make_t()(x[0])
    assert single.shape == x.shape[1:]


@pytest.mark.parametrize("make_t", ALL[1:])
def test_reproducible_with_seed(make_t):
    x = batch()
    np.testing.assert_array_equal(make_t()(x), make_t()(x))


def test_module_generator_reseeds():
    x = batch()
    t = T.GaussianNoise(1.0)
    pynn.manual_seed(5)
    a = t(x)
    pynn.manual_seed(5)
    np.testing.assert_array_equal(a, t(x))
    assert not np.array_equal(a, t(x))


def test_bad_batch_shape():
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        T.GaussianNoise(1.0)(np.zeros((3, 3)))


def test_normalize_exact():
    x = batch(n=3, c=2, h=4, w=5, dtype=np.float64)
    out = T.Normalize([0.5, 1.0], [2.0, 4.0])(x)
    expected = np.empty_like(x)
    expected[:, 0] = (x[:, 0] - 0.5) / 2.0
    expected[:, 1] = (x[:, 1] - 1.0) / 4.0
    np.testing.assert_array_equal(out, expected)
    x32 = x.astype(np.float32)
    out32 = T.Normalize(0.1307, 0.3081)(x32)
    assert out32.dtype == np.float32
    np.testing.assert_array_equal(out32, (x32 - np.float32(0.1307)) / np.float32(0.3081))
    with pytest.raises(ValueError, match="3 values for 2 channels"):
        T.Normalize([0, 0, 0], [1, 1, 1])(x)
    with pytest.raises(ValueError, match="non-zero"):
        T.Normalize(0, 0)


def shifted(img, dy, dx):
    """``img`` (C, H, W) moved down by dy and right by dx, zeros where uncovered."""
    out = np.zeros_like(img)
    h, w = img.shape[1:]
    out[:, max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
        img[:, max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return out


def test_translate_moves_content_by_drawn_offsets():
    x = batch(n=40, c=2, h=6, w=5)
    t = T.RandomTranslate(2, rng=3)
    out = t(x)
    shifts = t.last_shifts
    assert shifts.shape == (40, 2) and np.abs(shifts).max() <= 2
    assert len({tuple(s) for s in shifts}) > 5  # a different offset per image
    for n in range(40):
        np.testing.assert_array_equal(out[n], shifted(x[n], *shifts[n]))


def test_translate_impulse():
    x = np.zeros((1, 1, 9, 9), np.float32)
    x[0, 0, 4, 4] = 1
    t = T.RandomTranslate(3, rng=11)
    out = t(x)
    dy, dx = t.last_shifts[0]
    assert out[0, 0, 4 + dy, 4 + dx] == 1 and out.sum() == 1


def test_random_crop_uses_drawn_offsets():
    x = batch(n=30, c=1, h=8, w=8)
    t = T.RandomCrop((5, 6), padding=2, rng=0)
    out = t(x)
    assert out.shape == (30, 1, 5, 6)
    padded = np.pad(x, ((0, 0), (0, 0), (2, 2), (2, 2)))
    offsets = t.last_offsets
    assert offsets[:, 0].max() <= 12 - 5 and offsets[:, 1].max() <= 12 - 6
    assert len({tuple(o) for o in offsets}) > 5
    for n, (top, left) in enumerate(offsets):
        np.testing.assert_array_equal(out[n], padded[n, :, top:top + 5, left:left + 6])
    with pytest.raises(ValueError, match="larger than the padded image"):
        T.RandomCrop(20, padding=1)(x)


def test_random_crop_same_size_is_translate():
    x = batch(n=10, c=1, h=6, w=6)
    t = T.RandomCrop(6, padding=2, rng=4)
    out = t(x)
    for n, (top, left) in enumerate(t.last_offsets):
        np.testing.assert_array_equal(out[n], shifted(x[n], 2 - top, 2 - left))


def test_horizontal_flip():
    x = batch()
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=1.0)(x), x[..., ::-1])
    np.testing.assert_array_equal(T.RandomHorizontalFlip(p=0.0)(x), x)
    t = T.RandomHorizontalFlip(p=0.5, rng=2)
    x = batch(n=64)
    out = t(x)
    flipped = t.last_flipped
    assert 10 < flipped.sum() < 54
    np.testing.assert_array_equal(out[flipped], x[flipped][..., ::-1])
    np.testing.assert_array_equal(out[~flipped], x[~flipped])


@pytest.mark.parametrize("interpolation", ["nearest", "bilinear"])
@pytest.mark.parametrize("k", [1, 2, 3, -1])
def test_rotation_by_right_angles_is_rot90(interpolation, k):
    x = batch(n=3, c=2, h=6, w=6, dtype=np.float64)
    out = T.RandomRotation((90 * k, 90 * k), interpolation=interpolation)(x)
    np.testing.assert_array_equal(out, np.rot90(x, k, axes=(2, 3)))


def test_rotation_zero_is_identity_and_angles_per_image():
    x = batch(n=20, c=1, h=5, w=8)
    np.testing.assert_array_equal(T.RandomRotation(0)(x), x)
    t = T.RandomRotation(45, rng=0)
    t(x)
    assert t.last_angles.shape == (20,) and np.abs(t.last_angles).max() <= 45
    assert len(np.unique(t.last_angles)) == 20


def test_rotation_keeps_centre_and_fills_corners():
    x = np.ones((2, 1, 9, 9), np.float32)
    out = T.RandomRotation((45, 45), interpolation="nearest", fill=-1.0)(x)
    assert out[0, 0, 4, 4] == 1.0
    assert out[0, 0, 0, 0] == -1.0 and out[1, 0, 8, 8] == -1.0
    bil = T.RandomRotation((45, 45), fill=0.0)(x)
    assert 0.0 <= bil.min() and bil.max() <= 1.0 + 1e-6 and bil[0, 0, 4, 4] == 1.0


def test_rotation_bilinear_half_pixel():
    # A small rotation samples between pixels: bilinear values lie between neighbours.
    x = np.zeros((1, 1, 3, 3))
    x[0, 0, :, 2] = 1.0
    out = T.RandomRotation((10, 10))(x)
    assert 0.0 < out[0, 0, 1, 2] < 1.0


def test_gaussian_noise_statistics():
    x = np.zeros((64, 3, 32, 32), np.float32)
    out = T.GaussianNoise(0.25, rng=0)(x)
    assert out.dtype == np.float32
    assert abs(float(out.mean())) < 0.005
    assert abs(float(out.std()) - 0.25) < 0.005
    shifted_mean = T.GaussianNoise(0.1, mean=1.0, rng=0)(x)
    assert abs(float(shifted_mean.mean()) - 1.0) < 0.005
    with pytest.raises(TypeError, match="float"):
        T.GaussianNoise(0.1)(np.zeros((1, 1, 2, 2), np.uint8))


def test_compose_order_and_repr():
    t = T.Compose([lambda x: x + 1, lambda x: x * 10])
    np.testing.assert_array_equal(t(np.zeros((1, 1, 1, 1))), [[[[10.0]]]])
    assert "RandomTranslate" in repr(T.Compose([T.RandomTranslate(1)]))
    with pytest.raises(TypeError):
        T.Compose([3])
