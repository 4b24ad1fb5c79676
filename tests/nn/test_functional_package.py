"""The ``pynn.nn.functional`` package: one public namespace over its per-family modules, and
``multi_head_attention_forward`` (every projection layout) against PyTorch's."""

import importlib
import pkgutil

import numpy as np
import pytest

import pynn
import pynn.functional
import pynn.nn.functional as F

# pynn's own additions, which torch.nn.functional does not have (torch.flatten is in torch).
PYNN_ONLY = {"flatten", "hinge_loss"}


def test_functional_is_one_module_under_two_names():
    assert pynn.functional is F
    assert pynn.nn.functional is F


def test_all_is_the_union_of_the_family_modules():
    exported = []
    for info in pkgutil.iter_modules(F.__path__):
        module = importlib.import_module(f"{F.__name__}.{info.name}")
        assert info.name.startswith("_"), "families are private: users import from the package"
        for name in getattr(module, "__all__", ()):
            assert getattr(F, name) is getattr(module, name), name
            exported.append(name)
    assert len(exported) == len(set(exported)), "a name exported by two families"
    assert sorted(exported) == sorted(F.__all__)


def test_names_are_torch_names():
    torch = pytest.importorskip("torch")
    missing = [n for n in F.__all__ if n not in PYNN_ONLY and not hasattr(torch.nn.functional, n)]
    assert missing == []


def _mha_case(rng, separate, bias_kv, zero_attn, self_attention):
    """One set of multi_head_attention_forward arguments as NumPy arrays."""
    L, S, N, E = 4, 5, 2, 6
    q = rng.standard_normal((L, N, E))
    k = q if self_attention else rng.standard_normal((S, N, E))
    v = k if self_attention else rng.standard_normal((S, N, E))
    s = k.shape[0]
    w = rng.standard_normal((3 * E, E))
    kpm = rng.random((N, s)) < 0.3
    kpm[:, 0] = False
    hidden = rng.random((L, s)) < 0.3
    hidden[:, 1] = False  # every query sees a key
    return {
        "query": q, "key": k, "value": v, "embed_dim_to_check": E, "num_heads": 2,
        "in_proj_weight": None if separate else w, "in_proj_bias": rng.standard_normal(3 * E),
        "bias_k": rng.standard_normal((1, 1, E)) if bias_kv else None,
        "bias_v": rng.standard_normal((1, 1, E)) if bias_kv else None,
        "add_zero_attn": zero_attn, "dropout_p": 0.0,
        "out_proj_weight": rng.standard_normal((E, E)), "out_proj_bias": rng.standard_normal(E),
        "training": False, "key_padding_mask": kpm,
        "attn_mask": hidden, "need_weights": True,
        "use_separate_proj_weight": separate,
        "q_proj_weight": w[:E], "k_proj_weight": w[E:2 * E], "v_proj_weight": w[2 * E:],
    }


@pytest.mark.parametrize("self_attention", [False, True])
@pytest.mark.parametrize("zero_attn", [False, True])
@pytest.mark.parametrize("bias_kv", [False, True])
@pytest.mark.parametrize("separate", [False, True])
def test_multi_head_attention_forward_matches_torch(separate, bias_kv, zero_attn,
                                                    self_attention):
    torch = pytest.importorskip("torch")
    args = _mha_case(np.random.default_rng(7), separate, bias_kv, zero_attn, self_attention)
    converted = {}
    for framework, wrap in (("torch", torch.tensor), ("pynn", pynn.tensor)):
        leaves, out = {}, {}
        for name, value in args.items():
            if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                if name in ("key", "value") and self_attention:
                    continue
                leaves[name] = out[name] = wrap(value, requires_grad=True)
            elif isinstance(value, np.ndarray):
                out[name] = wrap(value)
            else:
                out[name] = value
        if self_attention:  # the same tensor three times: pynn's one-GEMM path
            out["key"] = out["value"] = out["query"]
        converted[framework] = (leaves, out)
    t_leaves, t_args = converted["torch"]
    p_leaves, p_args = converted["pynn"]
    t_out, t_w = torch.nn.functional.multi_head_attention_forward(**t_args)
    p_out, p_w = F.multi_head_attention_forward(**p_args)
    for mine, theirs in ((p_out, t_out), (p_w, t_w)):
        np.testing.assert_allclose(mine.detach().numpy(), theirs.detach().numpy(), rtol=1e-10,
                                   atol=1e-12)
    (t_out.sum() + t_w.sum()).backward()
    (p_out.sum() + p_w.sum()).backward()
    for name, leaf in p_leaves.items():
        expected = t_leaves[name].grad
        if expected is None:  # e.g. in_proj_weight unused with separate projections
            assert leaf.grad is None or not np.any(leaf.grad.numpy()), name
            continue
        np.testing.assert_allclose(leaf.grad.numpy(), expected.numpy(), rtol=1e-9, atol=1e-10,
                                   err_msg=name)


def test_multi_head_attention_forward_errors_name_the_function():
    args = _mha_case(np.random.default_rng(0), False, False, False, False)
    args = {k: pynn.tensor(v) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
            for k, v in args.items()}
    with pytest.raises(ValueError, match="multi_head_attention_forward: embed_dim 6 is not "
                                         "divisible by num_heads 4"):
        F.multi_head_attention_forward(**{**args, "num_heads": 4})
    with pytest.raises(ValueError, match="multi_head_attention_forward: bias_k and bias_v must "
                                         "be given together"):
        F.multi_head_attention_forward(**{**args, "bias_k": pynn.tensor(np.zeros((1, 1, 6)))})
    with pytest.raises(NotImplementedError, match="static_k"):
        F.multi_head_attention_forward(**{**args, "static_k": args["key"]})
