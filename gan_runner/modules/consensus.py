"""Consensus optimization (Mescheder, Nowozin & Geiger 2017, "The Numerics of GANs", Algorithm 1).

v = (∇_D L_D, ∇_G L_G) is the joint gradient field: what simultaneous gradient descent follows. Consensus
optimization lets each player also descend γ·½‖v‖², which damps the rotation of the field around an
equilibrium (the Jacobian gains −γ·v'ᵀv', whose eigenvalues have negative real parts). The paper defines it for
simultaneous updates, where both players' gradients are taken at one point; the runner refuses it with
alternating ones (`optimizer.consensus` needs `optimizer.update=simultaneous`).

It works on any model: both objectives are built once with graphs that reach both players' weights
(`GAN.joint_graph`), v is taken with create_graph, and one backward pass of a surrogate scalar gives each
parameter v + γ·∇½‖v‖². The surrogate goes through `manual_backward`, so mixed precision scales it like any loss
(v itself is taken by `precision.gradients`, scaled and unscaled); under DDP v is averaged over the ranks before
‖v‖² is formed, and the per-rank gradients v_r + γ·J_rᵀ·v̄ average to the exact v̄ + γ·∇½‖v̄‖² of the global batch.
A penalty's sample points (e.g. WGAN-GP's interpolates) stay detached from G, as in D's own step: ‖v‖² is
differentiated through everything else.
"""
import torch
from torch import Tensor
from torch.nn.utils import parametrize

from gan_runner import distributed, precision


def player_params(module) -> tuple[list[Tensor], list[Tensor]]:
    """(G's parameters, D's parameters), as the module's two optimizers hold them."""
    players = module.player_modules()
    return tuple([p for m in players[side] for p in m.parameters()] for side in ("g", "d"))


def joint_field(module, batch, create_graph: bool = True) -> tuple[list[Tensor], list[Tensor], dict]:
    """v = (∇_G L_G, ∇_D L_D) at the batch's point, in the graph of both players' weights (to be differentiated
    again), and the objectives' logs."""
    g_params, d_params = player_params(module)
    with module.joint_graph(), parametrize.cached():
        d_total, d_logs = module.d_objective(batch)
        g_total, g_logs = module.g_objective(batch)
    field = precision.gradients(g_total, g_params, create_graph) + precision.gradients(d_total, d_params, create_graph)
    return g_params + d_params, field, {**d_logs, **g_logs}


def regularized_field(params: list[Tensor], field: list[Tensor], gamma: float) -> list[Tensor]:
    """v + γ·∇½‖v‖², kept in the graph (for the Jacobian of the consensus dynamics)."""
    norm = 0.5 * sum(v.pow(2).sum() for v in field)
    extra = torch.autograd.grad(norm, params, create_graph=True, allow_unused=True)
    return [v if e is None else v + gamma * e for v, e in zip(field, extra)]


def backward(module, batch, gamma: float) -> dict:
    """Each parameter's gradient becomes v + γ·∇½‖v‖² (one backward through `manual_backward`); returns the logs,
    with ½‖v‖² as `consensus`."""
    params, field, logs = joint_field(module, batch)
    mean = [v.detach().clone() for v in field]
    distributed.average(mean)  # v of the global batch
    # d/dp of Σ p·v̄_r = v_r, and of Σ v_r·v̄ = J_rᵀ v̄ (v̄ held fixed): averaged over the ranks, v̄ + γ ∇½‖v̄‖².
    surrogate = sum((p * v.detach()).sum() + gamma * (v * m).sum() for p, v, m in zip(params, field, mean))
    module.manual_backward(surrogate)
    logs["consensus"] = 0.5 * sum(m.pow(2).sum() for m in mean)
    return logs
