"""torch.func as its tutorials use it: per-sample gradients clipped and averaged (DP-SGD's
step) with vmap(grad(...)) over functional_call, an ensemble run by vmap over
stack_module_state, a Hessian and a Jacobian-vector product, and one MAML-style inner
step differentiated through."""
import copy

import numpy as np

import pynn as torch
import pynn.nn.functional as F
from pynn import nn
from pynn.func import functional_call, grad, hessian, jacrev, jvp, stack_module_state, vmap

rng = np.random.default_rng(11)


def tensor(*shape):
    return torch.from_numpy(rng.standard_normal(shape).astype(np.float32))


class MLP(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(6, 16)
        self.fc2 = nn.Linear(16, 3)

    def forward(self, x):
        return self.fc2(torch.tanh(self.fc1(x)))


def init(model, scale):
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(tensor(*p.shape) * scale)
    return model


model = init(MLP(), 0.4)
data = tensor(64, 6)
targets = torch.from_numpy(rng.integers(0, 3, 64))


def compute_loss(params, buffers, sample, target):
    batch = sample.unsqueeze(0)
    predictions = functional_call(model, (params, buffers), (batch,))
    return F.cross_entropy(predictions, target.unsqueeze(0))


# DP-SGD: per-sample gradients, each clipped to norm 1, then averaged
per_sample = vmap(grad(compute_loss), in_dims=(None, None, 0, 0))
for step in range(5):
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}
    grads = per_sample(params, buffers, data, targets)
    norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads.values()], 1).norm(dim=1)
    factor = (1.0 / (norms + 1e-6)).clamp(max=1.0)
    with torch.no_grad():
        for name, p in model.named_parameters():
            g = grads[name] * factor.view(-1, *([1] * (grads[name].dim() - 1)))
            p -= 0.5 * g.mean(0)
    loss = F.cross_entropy(model(data), targets)
    print(f"dp-sgd step {step} loss {loss.item():.5f} mean norm {norms.mean().item():.5f}")

# an ensemble of five models, run at once
models = [init(MLP(), 0.3) for _ in range(5)]
ens_params, ens_buffers = stack_module_state(models)
base = copy.deepcopy(models[0])


def fmodel(params, buffers, x):
    return functional_call(base, (params, buffers), (x,))


predictions = vmap(fmodel, in_dims=(0, 0, None))(ens_params, ens_buffers, data[:8])
print("ensemble", tuple(predictions.shape), f"{predictions.sum().item():.5f}")
for i, m in enumerate(models):
    print(f"member {i} max diff {(m(data[:8]) - predictions[i]).abs().max().item():.6f}")


# second order: a Hessian, a Jacobian and a jvp of a small function
def energy(x):
    return (x.sin() * x ** 2).sum() + (x[0] * x[1]) ** 2


x0 = tensor(4)
h = hessian(energy)(x0)
print("hessian trace", f"{torch.trace(h).item():.5f}", "symmetric",
      bool(torch.allclose(h, h.T, atol=1e-5)))
jac = jacrev(lambda x: torch.tanh(x) * x.sum())(x0)
print("jacobian", tuple(jac.shape), f"{jac.sum().item():.5f}")
_, tangent_out = jvp(lambda x: torch.tanh(x) * x.sum(), (x0,), (torch.ones(4),))
print("jvp", [round(v, 4) for v in tangent_out.tolist()])

# MAML: one inner step by grad, the outer loss differentiated through it
meta = init(MLP(), 0.3)
outer = torch.optim.SGD(meta.parameters(), lr=0.1)
for it in range(3):
    params = dict(meta.named_parameters())
    inner_grads = grad(lambda p: F.cross_entropy(
        functional_call(meta, p, (data[:16],)), targets[:16]))(params)
    adapted = {k: params[k] - 0.4 * inner_grads[k] for k in params}
    outer_loss = F.cross_entropy(functional_call(meta, adapted, (data[16:32],)), targets[16:32])
    outer.zero_grad()
    outer_loss.backward()
    outer.step()
    print(f"maml {it} outer loss {outer_loss.item():.5f} "
          f"grad norm {meta.fc1.weight.grad.norm().item():.5f}")
