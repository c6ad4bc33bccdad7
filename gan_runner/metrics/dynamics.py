"""The training dynamics of a small game near a point: the gradient field, its Jacobian and that of the update map.

x = (G's parameters, D's parameters), flattened. w(x) = (∇_G L_G, ∇_D L_D) is what the players descend (plus
γ·∇½‖w‖² under consensus optimization), taken from the module's own objectives with autograd: losses, penalties,
wrappers such as instance noise and variant terms included. Training follows ẋ = −w(x) in the limit of small
steps; the eigenvalues of −∂w/∂x are those of the paper's "Jacobian of the gradient vector field" (Mescheder et al.
2018, §2). Gradient descent with learning rates H = diag(lr_g on G, lr_d on D) is the map x ↦ x − H·w(x); at a
fixed point (w = 0) its Jacobian is I − H·W (simultaneous), or, for alternating updates (n_critic D steps, then one
G step), (I − H_G·W)(I − H_D·W)^n_critic: the chain rule through steps that all stay at the fixed point. Momentum
and Adam's scaling are not part of this map: it is plain gradient descent's, as in the paper.

One Jacobian row per parameter: meant for games of a few parameters (the Dirac-GAN has two).
"""
import contextlib

import torch
from torch import Tensor

from gan_runner.modules import consensus


def field(module, real: Tensor, seed: int = 0, create_graph: bool = False) -> tuple[list[Tensor], Tensor]:
    """The players' parameters and w(x) at them, flattened, on the batch `real`; every draw (latents, instance noise)
    comes from `seed`, so that calls at nearby points see the same draws. Call inside `untouched(module)`."""
    torch.manual_seed(seed)
    with torch.enable_grad():
        batch = module._play(real, None, train_generator=True)
        params, grads, _ = consensus.joint_field(module, batch, create_graph=create_graph or module.consensus > 0)
        if module.consensus > 0:
            grads = consensus.regularized_field(params, grads, module.consensus)
        return params, torch.cat([v.reshape(-1) for v in grads])


def field_and_jacobian(module, real: Tensor, seed: int = 0) -> tuple[Tensor, Tensor]:
    """w(x) and W = ∂w/∂x at the module's parameters (float64, on the CPU), by autograd through the module's
    objectives."""
    params, flat = field(module, real, seed, create_graph=True)
    with torch.enable_grad():
        rows = []
        for value in flat:
            row = torch.autograd.grad(value, params, retain_graph=True, allow_unused=True) if value.requires_grad \
                else [None] * len(params)  # a component that depends on no parameter
            rows.append(torch.cat([(torch.zeros_like(p) if r is None else r).reshape(-1) for p, r in zip(params, row)]))
    return flat.detach().double().cpu(), torch.stack(rows).detach().double().cpu()


@contextlib.contextmanager
def at(module, point: Tensor):
    """The players' parameters set to the flat point x (G's first), restored afterwards."""
    g_params, d_params = consensus.player_params(module)
    params = g_params + d_params
    saved = torch.cat([p.detach().reshape(-1) for p in params]).clone()
    _assign(params, point.to(saved))
    try:
        yield
    finally:
        _assign(params, saved)


def smooth_at(module, real: Tensor, point: Tensor, jacobian: Tensor, step: float = 1e-3,
              tolerance: float = 1e-2) -> bool:
    """Whether central differences of w around `point` agree with autograd's W there. They do not where the field
    has a kink (WGAN-GP's |ψ| at ψ = 0): autograd then returns one one-sided value, and no eigenvalue means
    anything."""
    columns = []
    for i in range(len(point)):
        sides = []
        for sign in (1.0, -1.0):
            shifted = point.clone()
            shifted[i] += sign * step
            with at(module, shifted):
                sides.append(field(module, real)[1].detach().double().cpu())
        columns.append((sides[0] - sides[1]) / (2 * step))
    differences = torch.stack(columns, dim=1)
    return bool((differences - jacobian).abs().max() <= tolerance * (1.0 + jacobian.abs().max()))


def _assign(params: list[Tensor], flat: Tensor) -> None:
    offset = 0
    with torch.no_grad():
        for p in params:
            p.copy_(flat[offset:offset + p.numel()].view_as(p))
            offset += p.numel()


def update_jacobian(jacobian: Tensor, n_g: int, lr_g: float, lr_d: float, simultaneous: bool,
                    n_critic: int = 1, g_steps: int = 1) -> Tensor:
    """The Jacobian of one iteration of gradient descent at a fixed point (n_critic D steps then g_steps G steps
    when alternating), for W = ∂w/∂x with G's n_g coordinates first."""
    n = len(jacobian)
    eye = torch.eye(n, dtype=jacobian.dtype)
    h_g = torch.diag(torch.tensor([lr_g if i < n_g else 0.0 for i in range(n)], dtype=jacobian.dtype))
    h_d = torch.diag(torch.tensor([0.0 if i < n_g else lr_d for i in range(n)], dtype=jacobian.dtype))
    if simultaneous:
        return eye - (h_g + h_d) @ jacobian
    return torch.linalg.matrix_power(eye - h_g @ jacobian, g_steps) @ torch.linalg.matrix_power(
        eye - h_d @ jacobian, n_critic)


def eigenvalues(matrix: Tensor) -> list[complex]:
    """Complex eigenvalues, the one with the larger imaginary part first, then the larger real part."""
    values = [complex(v) for v in torch.linalg.eigvals(matrix)]
    return sorted(values, key=lambda v: (-round(v.imag, 12), -v.real))
