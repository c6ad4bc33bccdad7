"""Training rules that sit beside the losses: historical averaging and the learning-rate schedule."""
import torch
from torch import nn


class HistoricalAverage(nn.Module):
    """Improved GAN (Salimans 2016): weight * ||theta - mean of past theta||^2, added to a player's loss.

    The running mean lives in buffers, so it is saved in checkpoints and resumes exactly.
    """

    def __init__(self, params, weight: float):
        super().__init__()
        self.params, self.weight = list(params), weight
        for i, p in enumerate(self.params):
            self.register_buffer(f"mean_{i}", p.detach().clone())
        self.register_buffer("count", torch.ones((), dtype=torch.long))

    def means(self) -> list[torch.Tensor]:
        return [getattr(self, f"mean_{i}") for i in range(len(self.params))]

    def penalty(self) -> torch.Tensor:
        return self.weight * sum(((p - m) ** 2).sum() for p, m in zip(self.params, self.means()))

    @torch.no_grad()
    def update(self) -> None:
        self.count += 1
        torch._foreach_lerp_(self.means(), [p.detach() for p in self.params], 1.0 / self.count.item())


class MovingAverage:
    """The EMA of a net's weights (G's, for evaluation): `average` follows `net` with the decay min(β, (1+t)/(10+t)),
    a warm-up so that a short run's average is not dominated by the initial weights; buffers (BatchNorm's
    statistics) are copied. The parameter lists are taken once, where the nets will train (on_fit_start)."""

    def __init__(self, average: nn.Module, net: nn.Module, decay: float):
        self.decay = decay
        self.pairs = (list(average.parameters()), list(net.parameters()))
        self.buffers = list(zip(average.buffers(), net.buffers()))

    @torch.no_grad()
    def update(self, iteration: int) -> None:
        decay = min(self.decay, (1 + iteration) / (10 + iteration))
        torch._foreach_lerp_(*self.pairs, 1.0 - decay)
        for b_average, b in self.buffers:
            b_average.copy_(b)


def linear_decay(total_steps: int):
    """LR factor falling linearly from 1 at iteration 0 to 0 at the last iteration."""
    return lambda step: max(0.0, 1.0 - step / max(total_steps, 1))
