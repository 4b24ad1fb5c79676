"""pynn.vision: torchvision's datasets, transforms, image files and ResNets.

torchvision is not installed with the tests: transforms are checked against PyTorch's own
ops where one computes the same thing (``F.interpolate``, ``F.pad``) and against their
definitions otherwise.
"""

import io
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest

import pynn
from pynn.utils.data import DataLoader
from pynn.vision import datasets, models, transforms
from pynn.vision.utils import make_grid, save_image

DATA = Path(os.environ.get("PYNN_DATA_DIR")
            or Path(__file__).resolve().parents[2].parent / "shared" / "data")
HAVE_MNIST = (DATA / "mnist" / "t10k-images-idx3-ubyte.gz").exists()
needs_mnist = pytest.mark.skipif(not HAVE_MNIST, reason="MNIST files not in PYNN_DATA_DIR")


@pytest.fixture
def mnist_env(monkeypatch):
    monkeypatch.setenv("PYNN_DATA_DIR", str(DATA))


def read_png(payload):
    """(H, W[, 3]) uint8 pixels of a PNG written with filter 0 (what write_png makes)."""
    assert payload[:8] == b"\x89PNG\r\n\x1a\n"
    pos, chunks = 8, {}
    while pos < len(payload):
        (n,) = struct.unpack(">I", payload[pos:pos + 4])
        kind, data = payload[pos + 4:pos + 8], payload[pos + 8:pos + 8 + n]
        (crc,) = struct.unpack(">I", payload[pos + 8 + n:pos + 12 + n])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        chunks[kind] = chunks.get(kind, b"") + data
        pos += 12 + n
    w, h, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert depth == 8 and b"IEND" in chunks
    c = 3 if colour == 2 else 1
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), np.uint8).reshape(h, 1 + w * c)
    assert not rows[:, 0].any()
    return rows[:, 1:].reshape((h, w, c) if c == 3 else (h, w))


# -- datasets ---------------------------------------------------------------------------------

@needs_mnist
def test_mnist_found_through_pynn_data_dir_and_torchvision_layout(tmp_path, mnist_env):
    ds = datasets.MNIST(tmp_path, train=False, download=True)  # found: nothing downloaded
    assert not any(tmp_path.iterdir())
    assert len(ds) == 10000 and ds.data.shape == (10000, 28, 28)
    assert ds.data.dtype == pynn.uint8 and ds.targets.dtype == pynn.int64
    img, target = ds[0]
    assert isinstance(img, np.ndarray) and img.dtype == np.uint8 and img.shape == (28, 28)
    assert isinstance(target, int) and target == 7
    assert ds.classes[7] == "7 - seven" and ds.class_to_idx["7 - seven"] == 7
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    for name in ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"):
        (raw / name).write_bytes((DATA / "mnist" / name).read_bytes())
    os.environ.pop("PYNN_DATA_DIR")
    again = datasets.MNIST(str(tmp_path), train=False)
    np.testing.assert_array_equal(again.data.numpy(), ds.data.numpy())


def test_missing_dataset_says_where_it_looked(tmp_path, monkeypatch):
    monkeypatch.delenv("PYNN_DATA_DIR", raising=False)
    with pytest.raises(RuntimeError, match="download=True"):
        datasets.MNIST(tmp_path, train=False)
    with pytest.raises(RuntimeError, match="FashionMNIST/raw"):
        datasets.FashionMNIST(tmp_path, train=False, download=True)


@needs_mnist
def test_batch_fast_path_equals_image_by_image(mnist_env):
    tf = transforms.Compose([transforms.ToTensor(), transforms.Normalize((0.1307,), (0.3081,))])
    ds = datasets.MNIST(None, train=False, transform=tf)
    x, _ = ds[3]
    want = (ds.data.numpy()[3].astype(np.float32) / 255 - 0.1307) / 0.3081
    assert x.shape == (1, 28, 28) and x.dtype == pynn.float32
    np.testing.assert_allclose(x.numpy()[0], want, rtol=1e-5, atol=1e-5)
    fast = DataLoader(ds, batch_size=50)
    assert fast.fast_path
    xb, yb = next(iter(fast))
    slow = DataLoader(ds, batch_size=50, collate_fn=pynn.utils.data.default_collate)
    xs, ys = next(iter(slow))
    assert xb.dtype == xs.dtype == pynn.float32 and yb.dtype == ys.dtype == pynn.int64
    np.testing.assert_allclose(xb.numpy(), xs.numpy(), rtol=1e-6, atol=1e-6)
    np.testing.assert_array_equal(yb.numpy(), ys.numpy())
    # A per-image step (Lambda) or a target transform runs image by image, also when the
    # transform changes after a Subset was made.
    part = pynn.utils.data.Subset(ds, range(10))
    ds.transform = transforms.Compose([transforms.ToTensor(), transforms.Lambda(pynn.flatten)])
    ds.target_transform = lambda y: y + 100
    xb, yb = next(iter(DataLoader(part, batch_size=4)))
    assert xb.shape == (4, 784) and yb.tolist() == [107, 102, 101, 100]
    want = ds.data.numpy()[:4].reshape(4, -1) / np.float32(255)
    np.testing.assert_allclose(xb.numpy(), want, rtol=1e-6, atol=1e-6)


def test_fake_data_is_repeatable_and_collates():
    ds = datasets.FakeData(size=6, image_size=(3, 8, 10), num_classes=4,
                           transform=transforms.ToTensor())
    a, b = ds[2], ds[2]
    assert a[0].shape == (3, 8, 10) and 0 <= a[1] < 4 and a[1] == b[1]
    np.testing.assert_array_equal(a[0].numpy(), b[0].numpy())
    x, y = next(iter(DataLoader(ds, batch_size=4)))
    assert x.shape == (4, 3, 8, 10) and y.dtype == pynn.int64
    with pytest.raises(IndexError):
        ds[6]


def test_image_folder_with_a_custom_loader(tmp_path):
    for cls, n in (("cat", 2), ("dog", 1)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            (tmp_path / cls / f"{i}.png").write_bytes(b"")
    ds = datasets.ImageFolder(tmp_path, loader=lambda p: np.zeros((4, 5, 3), np.uint8),
                              transform=transforms.ToTensor())
    assert ds.classes == ["cat", "dog"] and ds.targets == [0, 0, 1]
    assert ds[2][0].shape == (3, 4, 5) and ds[2][1] == 1


# -- transforms -------------------------------------------------------------------------------

def test_to_tensor_layouts_and_scaling():
    rng = np.random.default_rng(0)
    hwc = rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)
    t = transforms.ToTensor()(hwc)
    assert t.shape == (3, 5, 7) and t.dtype == pynn.float32
    np.testing.assert_allclose(t.numpy(), hwc.transpose(2, 0, 1) / 255.0, rtol=1e-6)
    grey = transforms.ToTensor()(hwc[:, :, 0])
    assert grey.shape == (1, 5, 7)
    f = rng.random((4, 4)).astype(np.float64)
    np.testing.assert_array_equal(transforms.ToTensor()(f).numpy()[0], f)
    assert transforms.PILToTensor()(hwc).dtype == pynn.uint8
    with pytest.raises(TypeError, match="ToTensor"):
        transforms.ToTensor()(pynn.zeros(3, 4, 4))


def test_normalize_and_convert_dtype():
    x = pynn.rand(3, 4, 5)
    mean, std = (0.5, 0.4, 0.3), (0.2, 0.25, 0.5)
    want = (x.numpy() - np.array(mean)[:, None, None]) / np.array(std)[:, None, None]
    out = transforms.Normalize(mean, std)(x)
    assert out.dtype == pynn.float32
    np.testing.assert_allclose(out.numpy(), want, rtol=1e-5, atol=1e-6)
    same = transforms.Normalize(mean, std, inplace=True)(x)
    assert same is x
    np.testing.assert_allclose(x.numpy(), want, rtol=1e-5, atol=1e-6)
    with pytest.raises(TypeError, match="ToTensor first"):
        transforms.Normalize(mean, std)(np.zeros((4, 5, 3), np.uint8))
    u8 = pynn.tensor([[[0, 255, 128]]], dtype=pynn.uint8)
    as_float = transforms.ConvertImageDtype(pynn.float32)(u8)
    np.testing.assert_allclose(as_float.numpy(), [[[0.0, 1.0, 128 / 255]]], rtol=1e-6)
    assert transforms.ConvertImageDtype(pynn.uint8)(as_float).tolist() == [[[0, 255, 128]]]


@pytest.mark.parametrize("size, antialias", [((9, 11), False), ((3, 4), False), ((3, 4), True),
                                             ((6, 14), True)])
def test_resize_matches_torch_interpolate(size, antialias):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(1).random((2, 7, 8)).astype(np.float32)
    got = transforms.Resize(size, antialias=antialias)(pynn.tensor(x)).numpy()
    want = torch.nn.functional.interpolate(torch.tensor(x)[None], size=size, mode="bilinear",
                                           align_corners=False, antialias=antialias)[0]
    np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5)
    near = transforms.Resize(size, interpolation=transforms.InterpolationMode.NEAREST)
    want = torch.nn.functional.interpolate(torch.tensor(x)[None], size=size, mode="nearest")[0]
    np.testing.assert_array_equal(near(pynn.tensor(x)).numpy(), want.numpy())
    cubic = transforms.Resize(size, transforms.InterpolationMode.BICUBIC, antialias=antialias)
    want = torch.nn.functional.interpolate(torch.tensor(x)[None], size=size, mode="bicubic",
                                           align_corners=False, antialias=antialias)[0]
    np.testing.assert_allclose(cubic(pynn.tensor(x)).numpy(), want.numpy(), rtol=1e-5,
                               atol=1e-5)


def test_resize_by_the_shorter_side_keeps_form_and_dtype():
    pic = np.random.default_rng(2).integers(0, 256, (20, 30, 3), dtype=np.uint8)
    out = transforms.Resize(10)(pic)
    assert isinstance(out, np.ndarray) and out.shape == (10, 15, 3) and out.dtype == np.uint8
    assert transforms.Resize(10, max_size=12)(pic).shape == (8, 12, 3)
    assert transforms.Resize((5, 6))(pynn.zeros(1, 20, 30)).shape == (1, 5, 6)


@pytest.mark.parametrize("mode, torch_mode", [("constant", "constant"), ("edge", "replicate"),
                                              ("reflect", "reflect")])
def test_pad_matches_torch(mode, torch_mode):
    torch = pytest.importorskip("torch")
    x = np.random.default_rng(3).random((2, 5, 6)).astype(np.float32)
    got = transforms.Pad((1, 2, 3, 1), fill=0, padding_mode=mode)(pynn.tensor(x)).numpy()
    want = torch.nn.functional.pad(torch.tensor(x)[None], (1, 3, 2, 1), mode=torch_mode)[0]
    np.testing.assert_array_equal(got, want.numpy())


def test_crops_and_flips():
    x = np.arange(2 * 6 * 8, dtype=np.float32).reshape(2, 6, 8)
    c = transforms.CenterCrop((4, 4))(pynn.tensor(x)).numpy()
    np.testing.assert_array_equal(c, x[:, 1:5, 2:6])
    assert transforms.CenterCrop(10)(pynn.tensor(x)).shape == (2, 10, 10)
    pynn.manual_seed(0)
    crop = transforms.RandomCrop(4, padding=2)
    padded = np.pad(x, ((0, 0), (2, 2), (2, 2)))
    for _ in range(10):
        out = crop(pynn.tensor(x)).numpy()
        hits = [(i, j) for i in range(7) for j in range(9)
                if np.array_equal(padded[:, i:i + 4, j:j + 4], out)]
        assert hits
    pic = np.arange(12, dtype=np.uint8).reshape(3, 4)
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(1.0)(pic), pic[:, ::-1])
    np.testing.assert_array_equal(transforms.RandomVerticalFlip(1.0)(pic), pic[::-1])
    np.testing.assert_array_equal(transforms.RandomHorizontalFlip(0.0)(pic), pic)
    out = transforms.RandomResizedCrop(5)(pynn.tensor(x))
    assert out.shape == (2, 5, 5)
    rot = transforms.RandomRotation((90, 90))(pynn.tensor(x[:, :6, :6]))
    np.testing.assert_array_equal(rot.numpy(), np.rot90(x[:, :6, :6], 1, axes=(1, 2)))


def test_grayscale_and_lambda_and_compose():
    rgb = np.random.default_rng(4).integers(0, 256, (3, 4, 3), dtype=np.uint8)
    g = transforms.Grayscale()(rgb)
    want = np.rint(rgb @ np.array([0.299, 0.587, 0.114]))
    assert g.shape == (3, 4) and np.abs(g.astype(float) - want).max() <= 1
    assert transforms.Grayscale(3)(rgb).shape == (3, 4, 3)
    tf = transforms.Compose([transforms.ToTensor(), transforms.Lambda(lambda t: t * 2)])
    np.testing.assert_allclose(tf(rgb).numpy(), rgb.transpose(2, 0, 1) / 255.0 * 2, rtol=1e-6)
    assert not tf.batchable
    assert transforms.Compose([transforms.ToTensor(), transforms.RandomHorizontalFlip()]).batchable
    with pytest.raises(TypeError, match="callable"):
        transforms.Lambda(3)


# -- image files ------------------------------------------------------------------------------

def test_make_grid_layout():
    x = pynn.rand(5, 1, 4, 6)
    g = make_grid(x, nrow=3, padding=2, pad_value=0.5)
    assert g.shape == (3, 2 * 6 + 2, 3 * 8 + 2)
    np.testing.assert_array_equal(g.numpy()[:, 2:6, 10:16], np.repeat(x.numpy()[1], 3, 0))
    assert float(g[0, 0, 0]) == 0.5 and float(g[0, 8:, 18:].min()) == 0.5  # the empty slot
    assert make_grid(pynn.rand(1, 3, 4, 6)).shape == (3, 4, 6)
    n = make_grid(x * 4 - 1, normalize=True)
    assert float(n.min()) >= 0 and abs(float(n.max()) - 1) < 1e-6


def test_save_image_writes_a_valid_png(tmp_path):
    x = pynn.rand(4, 3, 5, 6)
    path = tmp_path / "grid.png"
    save_image(x, path, nrow=2, padding=1)
    pixels = read_png(path.read_bytes())
    want = np.clip(make_grid(x, nrow=2, padding=1).numpy() * 255 + 0.5, 0, 255)
    np.testing.assert_array_equal(pixels, want.astype(np.uint8).transpose(1, 2, 0))
    buf = io.BytesIO()
    save_image(pynn.rand(1, 8, 9), buf)
    assert read_png(buf.getvalue()).shape == (8, 9, 3)
    assert not [p for p in tmp_path.iterdir() if p.name != "grid.png"]  # no temporary left
    with pytest.raises(ValueError, match="PNG"):
        save_image(x, tmp_path / "a.jpg", format="jpeg")


def test_png_readable_by_pillow(tmp_path):
    image = pytest.importorskip("PIL.Image")
    x = pynn.rand(3, 7, 5)
    save_image(x, tmp_path / "a.png")
    with image.open(tmp_path / "a.png") as img:
        assert img.size == (5, 7) and img.mode == "RGB"
        np.testing.assert_array_equal(np.asarray(img), read_png((tmp_path / "a.png").read_bytes()))


# -- models -----------------------------------------------------------------------------------

def test_resnet18_names_sizes_and_shapes():
    net = models.resnet18(weights=None, num_classes=10)
    names = list(net.state_dict())
    assert "layer1.0.conv1.weight" in names and "layer2.0.downsample.1.running_var" in names
    assert "fc.bias" in names
    assert sum(p.numel() for p in models.resnet18().parameters()) == 11689512
    net.eval()
    with pynn.no_grad():
        assert net(pynn.randn(2, 3, 32, 32)).shape == (2, 10)
    assert models.resnet50().fc.in_features == 2048
    with pytest.raises(ValueError, match="pretrained"):
        models.resnet18(weights="IMAGENET1K_V1")


def test_random_affine_rotates_translates_and_scales_about_the_centre():
    x = np.zeros((1, 9, 9), np.float32)
    x[0, 4, 6] = 1.0  # two columns right of the centre
    rot = transforms.RandomAffine((90, 90))(pynn.tensor(x)).numpy()
    np.testing.assert_array_equal(rot, transforms.RandomRotation((90, 90))(pynn.tensor(x)).numpy())
    assert np.argwhere(rot[0] > 0.5).tolist() == [[2, 4]]  # counter-clockwise: now above
    scaled = transforms.RandomAffine(0, scale=(2.0, 2.0), interpolation="bilinear")
    assert scaled(pynn.tensor(x)).numpy()[0, 4].argmax() == 8  # offset 2 -> 4
    pynn.manual_seed(3)
    shifted = transforms.RandomAffine(0, translate=(0.4, 0.0))(pynn.tensor(x)).numpy()
    (row, col), = np.argwhere(shifted[0] > 0.5).tolist()
    assert row == 4 and col != 6 and abs(col - 6) <= 4
    pic = np.random.default_rng(5).integers(0, 256, (28, 28), dtype=np.uint8)
    tf = transforms.RandomAffine(10, translate=(0.1, 0.1), scale=(0.9, 1.1), shear=5)
    out = tf(pic)
    assert out.shape == (28, 28) and out.dtype == np.uint8
    assert transforms.Compose([tf, transforms.ToTensor()]).batchable
    with pytest.raises(ValueError, match="translate"):
        transforms.RandomAffine(0, translate=(1.5, 0))


def test_torchvision_weight_names_reach_the_clear_error():
    assert repr(models.ResNet18_Weights.DEFAULT) == "ResNet18_Weights.DEFAULT"
    with pytest.raises(ValueError, match="no pretrained weights"):
        models.resnet50(weights=models.ResNet50_Weights.IMAGENET1K_V2)
    assert models.resnet18(weights=None, num_classes=3).fc.out_features == 3
