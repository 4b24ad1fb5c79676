"""torch.nn.attention's backend switch and torch.backends.cuda's attention flags: the same
names, values and recorded state as PyTorch's, and attention computed whatever they say."""

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn.backends import cuda
from pynn.nn.attention import SDPBackend, sdpa_kernel

torch = pytest.importorskip("torch")
from torch.nn import attention as tattention  # noqa: E402


def _flags(lib):
    return [lib.flash_sdp_enabled(), lib.mem_efficient_sdp_enabled(), lib.math_sdp_enabled(),
            lib.cudnn_sdp_enabled()]


def test_backend_names_and_values_are_pytorchs():
    assert {b.name: int(b) for b in SDPBackend} == \
        {b.name: int(b.value) for b in tattention.SDPBackend.__members__.values()}
    assert str(SDPBackend.MATH) == str(tattention.SDPBackend.MATH)


@pytest.mark.parametrize("chosen", [["MATH"], ["FLASH_ATTENTION", "EFFICIENT_ATTENTION"],
                                    ["CUDNN_ATTENTION"]])
def test_sdpa_kernel_records_and_restores_the_switches_as_torch(chosen):
    ours = [getattr(SDPBackend, n) for n in chosen]
    theirs = [getattr(tattention.SDPBackend, n) for n in chosen]
    before = _flags(cuda)
    q = pynn.randn(1, 2, 4, 8)
    with sdpa_kernel(ours), tattention.sdpa_kernel(theirs):
        assert _flags(cuda) == _flags(torch.backends.cuda)
        out = F.scaled_dot_product_attention(q, q, q)
    assert _flags(cuda) == before == [True] * 4
    expected = torch.nn.functional.scaled_dot_product_attention(*(torch.tensor(q.numpy()),) * 3)
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-6)
    with pytest.raises(AssertionError, match="SDPBackend"), sdpa_kernel(["MATH"]):
        pass


def test_the_older_switches_set_and_read_back():
    with cuda.sdp_kernel(enable_flash=False, enable_mem_efficient=False):
        assert _flags(cuda) == [False, False, True, True]
    cuda.enable_math_sdp(False)
    assert not cuda.math_sdp_enabled()
    cuda.enable_math_sdp(True)
    assert _flags(cuda) == [True] * 4
    assert cuda.is_flash_attention_available() is False
