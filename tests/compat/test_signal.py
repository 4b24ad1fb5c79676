"""torch.stft, torch.istft and the window functions against PyTorch: values, gradients,
round trips and errors."""

import warnings

import numpy as np
import pytest

import pynn

torch = pytest.importorskip("torch")

RNG = np.random.default_rng(0)
SIGNALS = [RNG.standard_normal(50), RNG.standard_normal((3, 41))]
WINDOWS = ["hann_window", "hamming_window", "blackman_window", "bartlett_window",
           "kaiser_window"]


@pytest.mark.parametrize("name", WINDOWS)
@pytest.mark.parametrize("length", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_torch(name, length, periodic):
    ours = getattr(pynn, name)(length, periodic, dtype=pynn.float64)
    theirs = getattr(torch, name)(length, periodic, dtype=torch.float64)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-12, atol=1e-15)
    assert getattr(pynn, name)(length).dtype == pynn.float32


CASES = [
    {"n_fft": 8}, {"n_fft": 8, "hop_length": 3}, {"n_fft": 16, "win_length": 10, "window": 10},
    {"n_fft": 8, "center": False}, {"n_fft": 8, "normalized": True},
    {"n_fft": 8, "onesided": False}, {"n_fft": 9, "hop_length": 2, "pad_mode": "constant"},
    {"n_fft": 12, "window": 12, "hop_length": 4},
]


def _args(lib, case):
    """The case's keyword arguments for ``lib``: an int ``window`` means a Hann window of
    that length."""
    kwargs = dict(case)
    if "window" in kwargs:
        kwargs["window"] = lib.hann_window(kwargs["window"], dtype=lib.float64)
    return kwargs


@pytest.mark.parametrize("case", CASES, ids=lambda c: "-".join(f"{k}={v}" for k, v in c.items()))
@pytest.mark.parametrize("signal", SIGNALS, ids=["1d", "batch"])
def test_stft_and_istft_match_torch(case, signal):
    results = []
    for lib in (pynn, torch):
        kwargs = _args(lib, case)
        x = lib.tensor(signal, requires_grad=True)
        spec = lib.stft(x, return_complex=True, **kwargs)
        dy = np.linspace(-1, 1, spec.numel()).reshape(tuple(spec.shape)) * (1 + 0.5j)
        spec.backward(lib.tensor(dy))
        kwargs.pop("pad_mode", None)
        s = lib.tensor(spec.detach().resolve_conj().numpy(), requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # PyTorch's rectangular-window advice
            y = lib.istft(s, length=signal.shape[-1], **kwargs)
        y.backward(lib.tensor(np.cos(np.arange(y.numel())).reshape(tuple(y.shape))))
        results.append((spec.detach().resolve_conj().numpy(), x.grad.numpy(),
                        y.detach().numpy(), s.grad.resolve_conj().numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-10)
    if case.get("center", True):  # the round trip (uncentred frames miss the last samples)
        np.testing.assert_allclose(results[0][2], signal, atol=1e-10)


def test_stft_method_real_pairs_and_errors():
    x = pynn.tensor(SIGNALS[0])
    np.testing.assert_allclose(x.stft(8, return_complex=True).numpy(),
                               pynn.stft(x, 8, return_complex=True).numpy())
    with pytest.warns(UserWarning, match="deprecated"):
        pairs = pynn.stft(x, 8, return_complex=False)
    assert tuple(pairs.shape) == (5, 26, 2)
    with pytest.raises(RuntimeError, match="return_complex parameter be given"):
        pynn.stft(x, 8)
    with pytest.raises(RuntimeError, match="window overlap add min"):
        pynn.istft(pynn.stft(x, 8, return_complex=True), 8, window=pynn.zeros(8))
    with pytest.raises(RuntimeError, match="win_length"):
        pynn.stft(x, 8, window=pynn.ones(5), return_complex=True)
    with pytest.raises(TypeError, match="must be Tensor"):
        pynn.stft(SIGNALS[0], 8, return_complex=True)


def test_second_derivative_through_stft():
    results = []
    for lib in (pynn, torch):
        x = lib.tensor(SIGNALS[0], requires_grad=True)
        spec = lib.stft(x, 16, hop_length=4, window=lib.hann_window(16, dtype=lib.float64),
                        return_complex=True)
        (g,) = lib.autograd.grad((spec.abs() ** 2).sum(), x, create_graph=True)
        (h,) = lib.autograd.grad((g ** 2).sum(), x)
        results.append((g.detach().numpy(), h.numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9)
