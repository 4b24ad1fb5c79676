"""pynn.func against torch.func: the same functions and inputs into both, values, shapes,
structures and the errors compared."""

import copy

import numpy as np
import pytest

import pynn
import pynn.nn.functional as F
from pynn import func as pf

torch = pytest.importorskip("torch")
tf = torch.func

RNG = np.random.default_rng(7)


def both(arr, dtype=np.float64):
    arr = np.asarray(arr, dtype)
    return pynn.tensor(arr), torch.tensor(arr)


def close(ours, theirs, rtol=1e-6, atol=1e-8):
    """Compare two pytrees leaf by leaf, structures included."""
    if isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs)
        for k in theirs:
            close(ours[k], theirs[k], rtol, atol)
    elif isinstance(theirs, (tuple, list)):
        assert type(ours) is type(theirs) and len(ours) == len(theirs)
        for a, b in zip(ours, theirs):
            close(a, b, rtol, atol)
    else:
        assert isinstance(ours, pynn.Tensor)
        assert tuple(ours.shape) == tuple(theirs.shape)
        np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=rtol,
                                   atol=atol)


def twin_mlps():
    pynn.manual_seed(0)
    ours = pynn.nn.Sequential(pynn.nn.Linear(4, 8), pynn.nn.Tanh(), pynn.nn.Linear(8, 3))
    theirs = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    return ours, theirs


def test_per_sample_gradients_of_an_mlp_match_torch():
    model, tmodel = twin_mlps()
    x = RNG.standard_normal((6, 4)).astype(np.float32)
    y = RNG.integers(0, 3, 6)

    def loss(lib, m, f):
        def fn(params, xi, yi):
            out = lib.func.functional_call(m, params, (xi.unsqueeze(0),))
            return f.cross_entropy(out, yi.unsqueeze(0))
        return fn

    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    ours = pf.vmap(pf.grad(loss(pynn, model, F)), in_dims=(None, 0, 0))(
        params, pynn.tensor(x), pynn.tensor(y))
    theirs = tf.vmap(tf.grad(loss(torch, tmodel, torch.nn.functional)), in_dims=(None, 0, 0))(
        tparams, torch.tensor(x), torch.tensor(y))
    close(ours, theirs, rtol=1e-4, atol=1e-6)
    assert ours["0.weight"].shape == (6, 8, 4) and not ours["0.weight"].requires_grad
    # the mean of the per-sample gradients is the batch gradient
    model.zero_grad()
    F.cross_entropy(model(pynn.tensor(x)), pynn.tensor(y)).backward()
    np.testing.assert_allclose(ours["2.bias"].numpy().mean(0), model[2].bias.grad.numpy(),
                               rtol=1e-4, atol=1e-6)


def test_ensemble_by_vmap_over_stacked_module_state():
    pairs = [twin_mlps() for _ in range(3)]
    for i, (m, t) in enumerate(pairs):  # make the members differ, in both libraries alike
        with pynn.no_grad():
            m[0].bias.add_(float(i))
        with torch.no_grad():
            t[0].bias.add_(float(i))
    params, buffers = pf.stack_module_state([m for m, _ in pairs])
    tparams, tbuffers = tf.stack_module_state([t for _, t in pairs])
    close(params, tparams)
    assert all(p.requires_grad and p.grad_fn is None for p in params.values())
    assert buffers == {} and tbuffers == {}
    x = RNG.standard_normal((5, 4)).astype(np.float32)
    # the tutorial's skeleton: a copy moved to the meta device (pynn keeps it as it is)
    base, tbase = copy.deepcopy(pairs[0][0]).to("meta"), copy.deepcopy(pairs[0][1]).to("meta")

    def run(lib, b):
        return lambda p, bu, xx: lib.func.functional_call(b, (p, bu), (xx,))

    ours = pf.vmap(run(pynn, base), in_dims=(0, 0, None))(params, buffers, pynn.tensor(x))
    theirs = tf.vmap(run(torch, tbase), in_dims=(0, 0, None))(tparams, tbuffers,
                                                              torch.tensor(x))
    close(ours, theirs, rtol=1e-5, atol=1e-6)
    # the stacked parameters are leaves a loss can train
    ours.sum().backward()
    assert params["0.weight"].grad.shape == (3, 8, 4)


def test_stack_module_state_buffers_and_errors():
    bns = [pynn.nn.BatchNorm1d(3) for _ in range(2)]
    _, buffers = pf.stack_module_state(bns)
    _, tbuffers = tf.stack_module_state([torch.nn.BatchNorm1d(3) for _ in range(2)])
    assert {k: tuple(v.shape) for k, v in buffers.items()} == {
        k: tuple(v.shape) for k, v in tbuffers.items()}
    assert not any(v.requires_grad for v in buffers.values())
    with pytest.raises(RuntimeError, match="at least one model"):
        pf.stack_module_state([])
    with pytest.raises(RuntimeError, match="training/eval"):
        pf.stack_module_state([pynn.nn.Linear(2, 2), pynn.nn.Linear(2, 2).eval()])
    with pytest.raises(RuntimeError, match="same class"):
        pf.stack_module_state([pynn.nn.Linear(2, 2), pynn.nn.Conv1d(2, 2, 1)])


def test_functional_call_replaces_and_restores():
    model, tmodel = twin_mlps()
    x, tx = both(RNG.standard_normal((2, 4)), np.float32)
    zeros = {"2.weight": pynn.zeros(3, 8)}
    out = pf.functional_call(model, zeros, x)
    theirs = tf.functional_call(tmodel, {"2.weight": torch.zeros(3, 8)}, tx)
    close(out, theirs, rtol=1e-6)
    assert model[2].weight.abs().sum().item() > 0  # the module's own is back
    assert isinstance(model[2].weight, pynn.nn.Parameter)
    # gradients reach the Tensors passed in
    w = pynn.zeros(3, 8, requires_grad=True)
    pf.functional_call(model, {"2.weight": w}, (x,)).sum().backward()
    tw = torch.zeros(3, 8, requires_grad=True)
    tf.functional_call(tmodel, {"2.weight": tw}, (tx,)).sum().backward()
    close(w.grad, tw.grad, rtol=1e-5)
    assert model[2].weight.grad is None


def test_functional_call_kwargs_strict_and_several_dicts():
    lin = pynn.nn.Linear(3, 2)
    p = {k: v.detach() * 0 for k, v in lin.named_parameters()}
    x = pynn.ones(1, 3)
    assert pf.functional_call(lin, ({"weight": p["weight"]}, {"bias": p["bias"]}),
                              (x,)).abs().sum().item() == 0
    with pytest.raises(ValueError, match="multiple dictionaries"):
        pf.functional_call(lin, ({"weight": p["weight"]}, {"weight": p["weight"]}), (x,))
    with pytest.raises(RuntimeError, match="Missing key\\(s\\): 'bias'"):
        pf.functional_call(lin, {"weight": p["weight"]}, (x,), strict=True)
    with pytest.raises(RuntimeError, match="Unexpected key\\(s\\): 'foo'"):
        pf.functional_call(lin, {**p, "foo": p["weight"]}, (x,), strict=True)
    with pytest.raises(TypeError):
        pf.functional_call(lin, p, (x,), {"foo": 1})

    class Scaled(pynn.nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = pynn.nn.Linear(3, 2)

        def forward(self, x, *, scale=1.0):
            return self.lin(x) * scale

    m = Scaled()
    np.testing.assert_allclose(
        pf.functional_call(m, {}, (x,), {"scale": 2.0}).detach().numpy(),
        2 * m(x).detach().numpy(), rtol=1e-6)


@pytest.mark.parametrize("given, tie", [
    ({"a.weight": 2}, True), ({"b.weight": 2}, True), ({"a.weight": 2}, False),
    ({"a.weight": 2, "b.weight": 3}, False),
])
def test_functional_call_tied_weights_as_torch(given, tie):
    def build(lib):
        class Tied(lib.nn.Module):
            def __init__(self):
                super().__init__()
                self.a = lib.nn.Linear(2, 2, bias=False)
                self.b = lib.nn.Linear(2, 2, bias=False)
                self.b.weight = self.a.weight

            def forward(self, x):
                return self.b(self.a(x))
        return Tied()

    m, t = build(pynn), build(torch)
    t.a.weight.data = torch.tensor(m.a.weight.detach().numpy())
    ours = pf.functional_call(m, {k: pynn.eye(2) * v for k, v in given.items()},
                              pynn.ones(1, 2), tie_weights=tie)
    theirs = tf.functional_call(t, {k: torch.eye(2) * v for k, v in given.items()},
                                torch.ones(1, 2), tie_weights=tie)
    close(ours, theirs, rtol=1e-6)


def test_functional_call_tied_weights_conflict():
    m = pynn.nn.Sequential(pynn.nn.Linear(2, 2, bias=False), pynn.nn.Linear(2, 2, bias=False))
    m[1].weight = m[0].weight
    with pytest.raises(ValueError, match="tied"):
        pf.functional_call(m, {"0.weight": pynn.eye(2), "1.weight": pynn.eye(2) * 2},
                           pynn.ones(1, 2))


def test_functional_call_under_the_older_name():
    from pynn.nn.utils.stateless import functional_call

    lin = pynn.nn.Linear(3, 2)
    with pytest.warns(FutureWarning):
        out = functional_call(lin, {"bias": pynn.zeros(2)}, pynn.ones(1, 3))
    np.testing.assert_allclose(out.detach().numpy(),
                               (pynn.ones(1, 3) @ lin.weight.T).detach().numpy(), rtol=1e-6)


# ---------------------------------------------------------------------------------------------
# grad and friends


def cube_sum(lib):
    return lambda a, b: (a ** 3 * b.sin()).sum()


@pytest.mark.parametrize("argnums", [0, 1, (0, 1), (1, 0), -1])
def test_grad_argnums_match_torch(argnums):
    (a, ta), (b, tb) = both(RNG.standard_normal((3, 2))), both(RNG.standard_normal((3, 2)))
    close(pf.grad(cube_sum(pynn), argnums=argnums)(a, b),
          tf.grad(cube_sum(torch), argnums=argnums)(ta, tb))


def test_grad_of_pytrees_has_aux_and_value():
    (a, ta), (b, tb) = both(RNG.standard_normal(3)), both(RNG.standard_normal(3))

    def f(lib):
        return lambda d, k: ((d["x"] * d["y"][0]).sum() * k, {"aux": d["x"] * 2})

    g, aux = pf.grad(f(pynn), has_aux=True)({"x": a, "y": [b]}, 3.0)
    tg, taux = tf.grad(f(torch), has_aux=True)({"x": ta, "y": [tb]}, 3.0)
    close(g, tg)
    close(aux, taux)
    assert not aux["aux"].requires_grad
    (g, (value, aux)) = pf.grad_and_value(f(pynn), has_aux=True)({"x": a, "y": [b]}, 3.0)
    (tg, (tvalue, taux)) = tf.grad_and_value(f(torch), has_aux=True)({"x": ta, "y": [tb]}, 3.0)
    close(g, tg)
    close(value, tvalue)
    g, value = pf.grad_and_value(lambda x: (x * x).sum())(a)
    close(value, (ta * ta).sum())


def test_grad_unused_input_gives_zeros():
    (a, ta), (b, tb) = both(RNG.standard_normal(3)), both(RNG.standard_normal(3))
    close(pf.grad(lambda x, y: (x * 2).sum(), argnums=1)(a, b),
          tf.grad(lambda x, y: (x * 2).sum(), argnums=1)(ta, tb))


def test_nested_grad_is_the_second_derivative():
    a, ta = both(RNG.standard_normal(()))

    def f(x):
        return x.sin() * x ** 2

    close(pf.grad(pf.grad(f))(a), tf.grad(tf.grad(f))(ta))
    close(pf.grad(pf.grad(pf.grad(f)))(a), tf.grad(tf.grad(tf.grad(f)))(ta))


def test_grad_with_a_captured_tensor_stays_differentiable():
    a, ta = both(RNG.standard_normal(3))
    w = pynn.tensor(RNG.standard_normal(3), requires_grad=True)
    tw = torch.tensor(w.detach().numpy(), requires_grad=True)
    g = pf.grad(lambda x: (x * x * w).sum())(a)
    tg = tf.grad(lambda x: (x * x * tw).sum())(ta)
    close(g, tg)
    g.sum().backward()
    tg.sum().backward()
    close(w.grad, tw.grad)
    # and the gradient of a grad whose input requires grad (MAML's inner step)
    p = pynn.tensor(RNG.standard_normal(3), requires_grad=True)
    tp = torch.tensor(p.detach().numpy(), requires_grad=True)
    step = p - 0.1 * pf.grad(lambda q: (q ** 3).sum())(p)
    tstep = tp - 0.1 * tf.grad(lambda q: (q ** 3).sum())(tp)
    (step ** 2).sum().backward()
    (tstep ** 2).sum().backward()
    close(p.grad, tp.grad)


def test_grad_errors_as_torch():
    a = pynn.ones(3)
    with pytest.raises(RuntimeError, match="scalar"):
        pf.grad(lambda x: x * 2)(a)
    with pytest.raises(RuntimeError, match="argnums"):
        pf.grad(lambda x: x.sum(), argnums=2)(a)
    with pytest.raises(RuntimeError, match="unique"):
        pf.grad(lambda x: x.sum(), argnums=(0, 0))(a)
    with pytest.raises(RuntimeError, match="argnums"):
        pf.grad(lambda x: x.sum(), argnums=1.0)(a)
    with pytest.raises(RuntimeError, match="has_aux"):
        pf.grad(lambda x: x.sum(), has_aux=True)(a)
    with pytest.raises(RuntimeError, match="floating point"):
        pf.grad(lambda x: x.sum())(pynn.ones(3, dtype=pynn.int64))
    with pytest.raises(ValueError, match="Tensor"):
        pf.grad(lambda x: x)(3.0)


def test_vjp_matches_torch():
    (a, ta), (b, tb) = both(RNG.standard_normal(3)), both(RNG.standard_normal(3))

    def f(x, y):
        return x.sin() * y, (x * y).sum()

    out, fn = pf.vjp(f, a, b)
    tout, tfn = tf.vjp(f, ta, tb)
    close(out, tout)
    ct = (pynn.tensor(np.arange(3.0)), pynn.tensor(2.0))
    tct = (torch.arange(3.0, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))
    close(fn(ct), tfn(tct))
    close(fn(ct), tfn(tct))  # again: the graph is kept
    out, fn, aux = pf.vjp(lambda x: (x * 2, {"k": x.sum()}), a, has_aux=True)
    assert not aux["k"].requires_grad and not out.requires_grad
    with pytest.raises(RuntimeError, match="structure"):
        pf.vjp(f, a, b)[1](pynn.ones(3))
    with pytest.raises(RuntimeError, match="shape"):
        pf.vjp(lambda x: x * 2, a)[1](pynn.ones(4))


def test_jvp_and_linearize_match_torch():
    (a, ta), (b, tb) = both(RNG.standard_normal(4)), both(RNG.standard_normal(4))
    (v, tv), (u, tu) = both(RNG.standard_normal(4)), both(RNG.standard_normal(4))

    def f(x, y):
        return {"p": x.exp() * y, "q": (x * y).tanh().sum()}

    close(pf.jvp(f, (a, b), (v, u)), tf.jvp(f, (ta, tb), (tv, tu)))
    out, fn = pf.linearize(lambda x: x.sin() * x, a)
    tout, tfn = tf.linearize(lambda x: x.sin() * x, ta)
    close(out, tout)
    close(fn(v), tfn(tv))
    close(fn(u), tfn(tu))
    with pytest.raises(RuntimeError, match="tuple"):
        pf.jvp(lambda x: x * 2, a, (v,))
    with pytest.raises(RuntimeError, match="structure"):
        pf.jvp(lambda x: x * 2, (a,), (v, u))
    with pytest.raises(RuntimeError, match="shape"):
        pf.jvp(lambda x: x * 2, (a,), (pynn.ones(3, dtype=pynn.float64),))


def test_jvp_through_a_pooled_convolution_matches_torch():
    # conv -> ReLU -> max-pool runs as one fused op, whose backward is not recorded: jvp
    # takes the Jacobian's way there
    pynn.manual_seed(2)
    m = pynn.nn.Sequential(pynn.nn.Conv2d(2, 3, 3), pynn.nn.ReLU(), pynn.nn.MaxPool2d(2))
    t = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), torch.nn.ReLU(), torch.nn.MaxPool2d(2))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    (x, tx), (v, tv) = both(RNG.standard_normal((1, 2, 6, 6)), np.float32), both(
        RNG.standard_normal((1, 2, 6, 6)), np.float32)
    close(pf.jvp(m, (x,), (v,)), tf.jvp(t, (tx,), (tv,)), rtol=1e-4, atol=1e-5)


def test_per_sample_gradients_of_a_cnn_with_live_parameters():
    # parameters that require grad ask for a recorded backward, which the fused pooled
    # convolution lacks: the gradients are still right, with a warning
    def build(lib):
        lib.manual_seed(3)
        return lib.nn.Sequential(lib.nn.Conv2d(2, 3, 3), lib.nn.ReLU(), lib.nn.MaxPool2d(2),
                                 lib.nn.Flatten(), lib.nn.Linear(12, 2))

    m, t = build(pynn), build(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    (x, tx), y = both(RNG.standard_normal((3, 2, 6, 6)), np.float32), [0, 1, 1]

    def loss(lib, model):
        return lambda p, xi, yi: lib.nn.functional.cross_entropy(
            lib.func.functional_call(model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    with pytest.warns(RuntimeWarning, match="cannot be differentiated again"):
        ours = pf.vmap(pf.grad(loss(pynn, m)), in_dims=(None, 0, 0))(
            dict(m.named_parameters()), x, pynn.tensor(y))
    theirs = tf.vmap(tf.grad(loss(torch, t)), in_dims=(None, 0, 0))(
        dict(t.named_parameters()), tx, torch.tensor(y))
    close(ours, theirs, rtol=1e-4, atol=1e-6)


def test_grad_of_an_empty_container_is_empty():
    assert pf.grad(lambda d: pynn.tensor(1.0))({}) == tf.grad(lambda d: torch.tensor(1.0))({})


@pytest.mark.parametrize("name", ["jacrev", "jacfwd"])
@pytest.mark.parametrize("argnums", [0, 1, (0, 1)])
def test_jacobians_of_vector_functions_match_torch(name, argnums):
    (a, ta), (b, tb) = both(RNG.standard_normal(3)), both(RNG.standard_normal((2, 3)))

    def f(x, y):
        return (y * x.sin()).sum(0), (x * x).sum()

    close(getattr(pf, name)(f, argnums=argnums)(a, b),
          getattr(tf, name)(f, argnums=argnums)(ta, tb))


def test_jvp_and_jacfwd_with_aux_match_torch():
    a, ta = both(RNG.standard_normal(3))
    v, tv = both(RNG.standard_normal(3))

    def f(x):
        return x * x.sin(), {"s": x.sum()}

    close(pf.jvp(f, (a,), (v,), has_aux=True), tf.jvp(f, (ta,), (tv,), has_aux=True))
    close(pf.jacfwd(f, has_aux=True)(a), tf.jacfwd(f, has_aux=True)(ta))


def test_jacobian_of_pytrees_and_has_aux():
    a, ta = both(RNG.standard_normal(3))
    jac, aux = pf.jacrev(lambda d: ({"o": d["x"] * 2}, d["x"].sum()), has_aux=True)({"x": a})
    tjac, taux = tf.jacrev(lambda d: ({"o": d["x"] * 2}, d["x"].sum()), has_aux=True)({"x": ta})
    close(jac, tjac)
    close(aux, taux)


def test_hessian_matches_torch():
    (a, ta), (b, tb) = both(RNG.standard_normal(3)), both(RNG.standard_normal(3))

    def f(x, y):
        return (x.sin() * y ** 2).sum() + (x * y).sum() ** 2

    close(pf.hessian(f)(a, b), tf.hessian(f)(ta, tb))
    close(pf.hessian(f, argnums=(0, 1))(a, b), tf.hessian(f, argnums=(0, 1))(ta, tb))
    # of a model's loss with respect to one weight
    model, tmodel = twin_mlps()
    x, tx = both(RNG.standard_normal((2, 4)), np.float32)
    w = model[2].weight.detach()
    tw = tmodel[2].weight.detach()
    h = pf.hessian(lambda q: pf.functional_call(model, {"2.weight": q}, x).tanh().sum())(w)
    th = tf.hessian(lambda q: tf.functional_call(tmodel, {"2.weight": q}, tx).tanh().sum())(tw)
    close(h, th, rtol=1e-4, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# vmap


@pytest.mark.parametrize("in_dims", [0, 1, -1, (1, None), (0, 0)])
def test_vmap_in_dims_match_torch(in_dims):
    (a, ta), (b, tb) = both(RNG.standard_normal((3, 3))), both(RNG.standard_normal((3, 3)))

    def f(x, y):
        return x * 2 + y.sum()

    close(pf.vmap(f, in_dims=in_dims)(a, b), tf.vmap(f, in_dims=in_dims)(ta, tb))


def test_vmap_nested_in_dims_and_out_dims_match_torch():
    (a, ta), (b, tb) = both(RNG.standard_normal((4, 3))), both(RNG.standard_normal((3, 4)))

    def f(d, k):
        return d["x"] * d["y"][0] * k, (d["x"] - d["y"][0]).sum()

    in_dims = ({"x": 0, "y": [1]}, None)
    close(pf.vmap(f, in_dims=in_dims)({"x": a, "y": [b]}, 2.0),
          tf.vmap(f, in_dims=in_dims)({"x": ta, "y": [tb]}, 2.0))
    close(pf.vmap(f, in_dims=in_dims, out_dims=(1, 0))({"x": a, "y": [b]}, 2.0),
          tf.vmap(f, in_dims=in_dims, out_dims=(1, 0))({"x": ta, "y": [tb]}, 2.0))
    close(pf.vmap(lambda x: x.sum(0), out_dims=-1)(a.view(2, 2, 3)),
          tf.vmap(lambda x: x.sum(0), out_dims=-1)(ta.view(2, 2, 3)))
    ours = pf.vmap(lambda x: (x * 2, pynn.ones(2)), out_dims=(0, None))(a)
    assert tuple(ours[1].shape) == (2,) and tuple(ours[0].shape) == (4, 3)
    with pytest.raises(ValueError, match="out_dim is None"):
        pf.vmap(lambda x: x * 2, out_dims=None)(a)
    with pytest.raises(ValueError):
        tf.vmap(lambda x: x * 2, out_dims=None)(ta)
    # keyword arguments are passed whole to every call
    close(pf.vmap(lambda x, *, k: x * k)(a, k=3.0), tf.vmap(lambda x, *, k: x * k)(ta, k=3.0))


def test_nested_vmap_matches_torch():
    (a, ta), (b, tb) = both(RNG.standard_normal((2, 3, 4))), both(RNG.standard_normal((3, 4)))

    def dot(x, y):
        return (x * y).sum()

    close(pf.vmap(pf.vmap(dot, in_dims=(0, 0)), in_dims=(0, None))(a, b),
          tf.vmap(tf.vmap(dot, in_dims=(0, 0)), in_dims=(0, None))(ta, tb))
    close(pf.vmap(pf.vmap(dot, in_dims=(0, None)), in_dims=(2, 1))(a, b),
          tf.vmap(tf.vmap(dot, in_dims=(0, None)), in_dims=(2, 1))(ta, tb))


def test_vmap_of_jacrev_and_grad_of_vmap():
    a, ta = both(RNG.standard_normal((5, 3)))
    close(pf.vmap(pf.jacrev(lambda x: x.sin() * x.sum()))(a),
          tf.vmap(tf.jacrev(lambda x: x.sin() * x.sum()))(ta))
    close(pf.grad(lambda x: pf.vmap(lambda r: (r ** 2).sum())(x).sin().sum())(a),
          tf.grad(lambda x: tf.vmap(lambda r: (r ** 2).sum())(x).sin().sum())(ta))


def test_vmap_is_also_in_the_top_namespace():
    assert pynn.vmap is pf.vmap and torch.vmap is tf.vmap
    assert pynn.func is pf


def test_vmap_empty_batch_and_scalars():
    close(pf.vmap(lambda x: x.sum())(pynn.zeros(0, 3)),
          tf.vmap(lambda x: x.sum())(torch.zeros(0, 3)))
    close(pf.vmap(lambda x: x * 2)(pynn.arange(4.0)), tf.vmap(lambda x: x * 2)(torch.arange(4.0)))


@pytest.mark.parametrize("call, match", [
    (lambda v: v(lambda x: x, in_dims=[0])(pynn.ones(3, 4)), "int or a"),
    (lambda v: v(lambda x: x, in_dims=None)(pynn.ones(3, 4)), "int or a"),
    (lambda v: v(lambda x: x, in_dims="a")(pynn.ones(3, 4)), "int or a"),
    (lambda v: v(lambda x: x, in_dims=(0, 0))(pynn.ones(3, 4)), "not compatible"),
    (lambda v: v(lambda d: d, in_dims=({"b": 0},))({"a": pynn.ones(3)}), "not compatible"),
    (lambda v: v(lambda d: d, in_dims=((0,),))([pynn.ones(3)]), "not compatible"),
    (lambda v: v(lambda x: x, in_dims=2)(pynn.ones(3, 4)), "in_dim=2"),
    (lambda v: v(lambda x: x, in_dims=-3)(pynn.ones(3, 4)), "in_dim=-3"),
    (lambda v: v(lambda x: x)(pynn.tensor(1.0)), "dimensionality 0"),
    (lambda v: v(lambda x, k: x, in_dims=(0, 0))(pynn.ones(3), 1), "non-Tensor"),
    (lambda v: v(lambda x, y: x + y)(pynn.ones(3), pynn.ones(4)), "same size"),
    (lambda v: v(lambda x: (x, 1))(pynn.ones(3)), "must only return Tensors"),
    (lambda v: v(lambda x: x, out_dims=(0, 1))(pynn.ones(3)), "not compatible"),
    (lambda v: v(lambda x: x)(), "no inputs"),
    (lambda v: v(lambda x: x, chunk_size=0)(pynn.ones(3)), "chunk_size"),
])
def test_vmap_errors_are_torch_value_errors(call, match):
    with pytest.raises(ValueError, match=match):
        call(pf.vmap)
    # the same call in PyTorch raises the same type
    with pytest.raises(ValueError):
        call(lambda f, **kw: _torch_vmap(f, **kw))


def _torch_vmap(f, **kw):
    def run(*args):
        leaves = [torch.tensor(a.numpy()) if isinstance(a, pynn.Tensor) else a for a in args]
        return tf.vmap(f, **kw)(*[_to_torch(a) for a in leaves])
    return run


def _to_torch(x):
    if isinstance(x, pynn.Tensor):
        return torch.tensor(x.numpy())
    if isinstance(x, dict):
        return {k: _to_torch(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return type(x)(_to_torch(v) for v in x)
    return x


def test_vmap_randomness():
    x = pynn.ones(4, 3)
    with pytest.raises(RuntimeError, match="randomness"):
        pf.vmap(lambda r: r * pynn.rand(3))(x)
    same = pf.vmap(lambda r: r * pynn.rand(3), randomness="same")(x)
    assert np.all(same.numpy() == same.numpy()[:1])
    different = pf.vmap(lambda r: r * pynn.rand(3), randomness="different")(x)
    assert len({tuple(row) for row in different.numpy()}) == 4
    with pytest.raises(RuntimeError, match="randomness"):
        pf.vmap(lambda r: r, randomness="foo")
    drop = pynn.nn.Dropout(0.5)
    with pytest.raises(RuntimeError, match="randomness"):
        pf.vmap(drop)(x)
    assert tuple(pf.vmap(drop.eval())(x).shape) == (4, 3)


def test_replace_all_batch_norm_modules_and_functionalize():
    m = pynn.nn.Sequential(pynn.nn.Linear(3, 3), pynn.nn.BatchNorm1d(3))
    assert pf.replace_all_batch_norm_modules_(m) is m
    assert m[1].running_mean is None and not m[1].track_running_stats
    t = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.BatchNorm1d(3))
    tf.replace_all_batch_norm_modules_(t)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
    x, tx = both(RNG.standard_normal((5, 3)), np.float32)
    close(m.eval()(x), t.eval()(tx), rtol=1e-5, atol=1e-6)
    f = lambda x: x.add_(1)  # noqa: E731
    assert pf.functionalize(f) is f
    with pytest.raises(RuntimeError, match="remove"):
        pf.functionalize(f, remove="everything")
