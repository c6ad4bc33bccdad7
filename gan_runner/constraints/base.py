"""What a constraint may do to D, and how several of them combine.

A constraint touches D in up to three ways (DESIGN.md, "The seams"): it wraps D (spectral or gradient
normalization), adds a penalty to D's loss given (critic, real, fake), or acts after each D step (clipping).
"""
from collections.abc import Callable, Iterable

from torch import Tensor, nn

from gan_runner.nets.critic import AuxiliaryHeads
from gan_runner.precision import input_gradient

Critic = Callable[[Tensor], Tensor]


class Constraint:
    """The do-nothing constraint; subclasses override only the hooks they need."""

    #: True when the constraint needs per-sample input gradients, which BatchNorm in D would mix across the batch.
    per_sample_gradients = False
    #: True when `wrap` reparametrizes D's own layers (and draws their state, spectral norm's u and v): an ensemble
    #: wraps each member's D before stacking them, so that each draws as its seed alone does.
    reparametrizes_weights = False
    #: The current training iteration, set by the module for constraints with a schedule.
    step = 0

    def wrap(self, discriminator: nn.Module) -> nn.Module:
        return discriminator

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> Tensor | None:
        return None

    def after_d_step(self, discriminator: nn.Module) -> None:
        return None


def score_modules(discriminator: nn.Module) -> list[nn.Module]:
    """D's modules that compute its score: all but a variant's auxiliary heads (an auxiliary classifier, InfoGAN's Q),
    which read D's features to estimate labels or codes. A weight constraint acts on these alone: its Lipschitz
    argument concerns the score, and clipping a classifier's weights to c keeps its logits near 0."""
    heads = {id(m) for h in discriminator.modules() if isinstance(h, AuxiliaryHeads) for m in h.modules()}
    return [m for m in discriminator.modules() if id(m) not in heads]


def score_parameters(discriminator: nn.Module) -> list[Tensor]:
    return [p for m in score_modules(discriminator) for p in m.parameters(recurse=False)]


def input_gradients(critic: Critic, x: Tensor) -> tuple[Tensor, Tensor]:
    """Scores and per-sample gradients d critic(x_i) / d x_i, flattened, kept in the graph for a penalty.

    `x` is detached first so that the caller's tensor never gets requires_grad (a leak seen in public GP code).
    """
    x = x.detach().requires_grad_(True)
    scores = critic(x)
    return scores, input_gradient(scores, x, create_graph=True).flatten(1)


class Constraints:
    """Several constraints applied together, each exactly once, in the order given."""

    def __init__(self, items: Iterable[Constraint]):
        self.items = list(items)

    @property
    def per_sample_gradients(self) -> bool:
        return any(c.per_sample_gradients for c in self.items)

    def wrap(self, discriminator: nn.Module) -> nn.Module:
        for c in self.items:
            discriminator = c.wrap(discriminator)
        return discriminator

    def penalty(self, critic: Critic, real: Tensor, fake: Tensor) -> dict[str, Tensor]:
        terms = {}
        for c in self.items:
            value = c.penalty(critic, real, fake)
            if value is not None:
                terms[type(c).__name__] = value
        return terms

    def after_d_step(self, discriminator: nn.Module) -> None:
        for c in self.items:
            c.after_d_step(discriminator)

    def set_step(self, step: int) -> None:
        for c in self.items:
            c.step = step
