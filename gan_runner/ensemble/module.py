"""K seeds of one configuration trained as one GAN module, each member exactly the run of its seed alone.

The base module's step runs unchanged on batches of K*B rows: member k's real batch, latents and every other
per-sample draw sit in rows k*B .. (k+1)*B - 1 (`Members` hands them to member k's stacked weights), and draws.py
takes member k's rows from member k's own generator, seeded as seed k's run alone seeds torch. Every loss and
penalty is a mean over the batch, so the mean over K*B rows times K is the sum of the members' own means: member k's
gradient is its own, and the optimizers, elementwise over stacked parameters, give it the update it would get alone
(Adam's step count is one per optimizer, as alone: every member steps at every iteration). A loss that is a function
of a batch mean (RaGAN's) is taken per member on its own rows; what else is not a mean over the batch (a penalty on
the weights) is refused before training (support.py).
"""
import contextlib
import functools

import torch
from torch import Tensor, nn

from gan_runner import draws
from gan_runner.ensemble.nets import as_one
from gan_runner.modules.gan import GAN, Diverged
from gan_runner.modules.sides import Batch, Side


@functools.cache
def ensemble_of(module_cls: type[GAN]) -> type[GAN]:
    """The ensemble module of a GAN module class (the base GAN or a variant whose nets have stacked forms)."""
    return type(f"Ensemble{module_cls.__name__}", (Ensemble, module_cls), {})


class Ensemble:
    """What an ensemble changes in a GAN module (a mixin before the module's class: `ensemble_of`)."""

    def __init__(self, seeds: list[int], **kwargs):
        self.seeds = list(seeds)
        self.k = len(self.seeds)
        # A constraint that reparametrizes D's layers (spectral norm: drawing u and v) wraps each member's D right
        # after its nets, as alone; stacked, those layers keep the members' reparametrizations (layers.py).
        self._member_wraps = [c for c in kwargs["constraints"].items if c.reparametrizes_weights]
        super().__init__(**kwargs)
        self.diverged: dict[int, int] = {}  # member -> the iteration its weights were found non-finite
        self.member_logs: dict[str, Tensor] = {}  # d_loss, g_loss: [K], each member's, at the logged iterations
        self._streams: list[torch.Generator] | None = None

    def initial_networks(self, make_generator, make_discriminator, init: str) -> tuple[nn.Module, nn.Module]:
        members = []
        for seed in self.seeds:
            torch.manual_seed(seed)  # what seed_everything(seed) gives the nets of the run alone
            generator, critic = super().initial_networks(make_generator, make_discriminator, init)
            for constraint in self._member_wraps:
                critic = constraint.wrap(critic)
            members.append((generator, critic))
        generators, critics = zip(*members)
        return as_one(list(generators)), as_one(list(critics))

    def d_adversarial(self, batch):
        return self._adversarial("d_loss", lambda rows, v_real: super(Ensemble, self).d_adversarial(rows), batch)

    def g_adversarial(self, batch, v_real):
        return self._adversarial("g_loss", super().g_adversarial, batch, v_real)

    def _adversarial(self, name: str, play, batch: Batch, v_real: Tensor | None = None) -> dict[str, Tensor]:
        """A player's adversarial terms: over all K*B rows at once when the loss is a mean over the batch, else
        (a function of a batch mean: RaGAN) the members' mean of each member's terms on its own rows, which the
        objective's factor K makes their sum. Each member's value is kept at the iterations that log."""
        logging = self.logs_at(self.iteration + 1)
        if not (self.loss.batch_level or logging):
            return play(batch, v_real)
        with contextlib.nullcontext() if self.loss.batch_level else torch.no_grad():
            members = [play(self._member_batch(batch, k), self._rows(v_real)[k]) for k in range(self.k)]
        if logging:  # the scores are at hand: nothing is drawn or scored again, the members' streams are untouched
            self.member_logs[name] = torch.stack([sum(terms.values()) for terms in members]).detach()
            for term in members[0]:
                self.member_logs[term] = torch.stack([terms[term] for terms in members]).detach()
            if name == "d_loss":  # D's estimate of W1 on the member's batch, as a run alone logs it
                self.member_logs["w_estimate"] = torch.stack([
                    self._rows(batch.real.score)[k].mean() - self._rows(batch.fake.score)[k].mean()
                    for k in range(self.k)]).detach()
        if self.loss.batch_level:
            return {term: torch.stack([terms[term] for terms in members]).mean() for term in members[0]}
        return play(batch, v_real)

    def _rows(self, t: Tensor | None) -> list | Tensor:
        return [None] * self.k if t is None else t.reshape(self.k, -1, *t.shape[1:])

    def _member_batch(self, batch: Batch, k: int) -> Batch:
        sides = [Side(*(self._rows(getattr(side, f))[k] for f in ("x", "y", "score", "features")))
                 for side in (batch.real, batch.fake)]
        return Batch(*sides, self._rows(batch.z)[k])

    def d_objective(self, batch):
        total, logs = super().d_objective(batch)
        return total * self.k, logs  # logs: the members' mean

    def g_objective(self, batch):
        total, logs = super().g_objective(batch)
        return total * self.k, logs

    def training_step(self, batch, batch_idx):
        with draws.per_member(self._streams):
            super().training_step(batch, batch_idx)

    def on_train_start(self) -> None:
        super().on_train_start()
        saved, self._streams = self._streams, [torch.Generator(self.device) for _ in self.seeds]
        for generator, seed, state in zip(self._streams, self.seeds, saved or [None] * self.k):
            # training's streams start from each member's seed, as alone, or where the checkpoint left them
            generator.manual_seed(seed) if state is None else generator.set_state(state)

    def stream_states(self) -> list[Tensor]:
        """Each member's generator state: member k's checkpoint stores it as the torch state of seed k's run."""
        return [g.get_state() for g in self._streams]

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        super().on_save_checkpoint(checkpoint)
        checkpoint["ensemble_streams"] = self.stream_states()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        super().on_load_checkpoint(checkpoint)
        self._streams = checkpoint["ensemble_streams"]  # CPU tensors until on_train_start makes the generators

    def _check_finite(self, logs: dict) -> None:
        """A member whose losses (as alone: d_loss, g_loss) or weights became non-finite stops alone, recorded
        diverged at this iteration; the others go on."""
        finite = self.finite_members()
        for name in ("d_loss", "g_loss"):
            finite &= self.member_logs[name].isfinite().cpu()
        for k in (~finite).nonzero().flatten().tolist():
            self.diverged.setdefault(k, self.iteration)
        if len(self.diverged) == self.k:
            raise Diverged(f"every member's losses or weights became non-finite by iteration {self.iteration}")

    @torch.no_grad()
    def finite_members(self) -> Tensor:
        """[K] bools: whether every weight of member k is finite (each stacked tensor holds member k's in its k-th
        block along its first axis)."""
        finite = torch.ones(self.k, dtype=torch.bool, device=self.device)
        for p in self.parameters():
            finite &= p.reshape(self.k, -1).isfinite().all(1)
        return finite.cpu()

    @torch.no_grad()
    def copy_member(self, k: int, plain: GAN) -> GAN:
        """`plain`, a module of the members' configuration, given member k's weights and BatchNorm statistics."""
        for mine, theirs in self._pairs(plain):
            theirs.copy_(mine.reshape(self.k, *theirs.shape)[k])
        for mine, theirs in self._pairs(plain, _counters):
            theirs.copy_(mine)
        plain.iteration = self.iteration
        for mine, theirs in zip(self.constraints.items, plain.constraints.items, strict=True):
            theirs.step = mine.step  # a schedule's position (instance noise's sigma), where evaluation reads it
        return plain

    @torch.no_grad()
    def take_member(self, k: int, plain: GAN) -> None:
        """Member k given the weights and BatchNorm statistics of `plain` (a run of its seed alone, resumed)."""
        for mine, theirs in self._pairs(plain):
            mine.reshape(self.k, *theirs.shape)[k].copy_(theirs)
        for mine, theirs in self._pairs(plain, _counters):
            mine.copy_(theirs)  # one count for all: every member's BatchNorm ran as often

    def _pairs(self, plain: GAN, tensors=None) -> list[tuple[Tensor, Tensor]]:
        tensors = tensors or _state
        nets = [(self.generator, plain.generator), (self.discriminator, plain.discriminator)]
        if self.ema is not None:
            nets.append((self.ema, plain.ema))
        return [pair for stacked, net in nets for pair in zip(tensors(stacked), tensors(net), strict=True)]


def _state(net: nn.Module) -> list[Tensor]:
    """The parameters, BatchNorm's running statistics and spectral norm's u and v, in the order both the stacked and
    the plain net hold them."""
    return [*net.parameters(), *(b for name, b in net.named_buffers() if _per_member_buffer(name.rsplit(".", 1)[-1]))]


def _per_member_buffer(name: str) -> bool:
    return name.startswith("running") or name in ("_u", "_v")


def _counters(net: nn.Module) -> list[Tensor]:
    """BatchNorm's counts of batches, one number for every member."""
    return [b for name, b in net.named_buffers() if name.rsplit(".", 1)[-1] == "num_batches_tracked"]


EnsembleGAN = ensemble_of(GAN)
