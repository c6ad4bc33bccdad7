"""The base GAN LightningModule: one training-step skeleton that every variant reuses.

One iteration = n_critic D steps (sample, score, loss, penalties, step, after-step hooks) then one G step,
alternating (default) or simultaneous (both players step from the same point). Manual optimization; EMA of G.
Variants override the hooks `sample_latent`, `critic`, `d_extra`, `g_extra`; they never copy the step.
"""
import copy
import math
from functools import partial

import hydra.utils
import lightning.pytorch as L
import torch
from torch import Tensor, nn

from gan_runner import rng
from gan_runner.constraints import Constraints
from gan_runner.losses import Loss
from gan_runner.modules.rules import HistoricalAverage, linear_decay


class Diverged(RuntimeError):
    """A loss became NaN or infinite: the run stops instead of burning its budget."""


class GAN(L.LightningModule):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, loss: Loss, constraints: Constraints,
                 optimizer: dict, z_dim: int, num_classes: int = 0, total_steps: int = 0):
        super().__init__()
        self.automatic_optimization = False
        self.generator = generator
        self.constraints = constraints
        self.discriminator = constraints.wrap(discriminator)
        self.loss = loss
        self.opt_cfg = optimizer
        self.z_dim, self.num_classes = z_dim, num_classes
        self.n_critic = int(optimizer.get("n_critic", 1))
        self.simultaneous = optimizer.get("update", "alternating") == "simultaneous"
        self.ema_decay = float(optimizer.get("ema_decay", 0.0))
        self.ema = copy.deepcopy(generator).requires_grad_(False) if self.ema_decay > 0 else None
        self.total_steps = total_steps
        averaging = float(optimizer.get("historical_averaging", 0.0))
        self.g_average = HistoricalAverage(generator.parameters(), averaging) if averaging > 0 else None
        self.d_average = HistoricalAverage(self.discriminator.parameters(), averaging) if averaging > 0 else None
        self.iteration = 0
        self._rng_to_restore = None

    # ----- hooks a variant may override -----
    def sample_latent(self, n: int, labels: Tensor) -> Tensor:
        return torch.randn(n, self.z_dim, device=self.device)

    def critic(self, x: Tensor, labels: Tensor) -> Tensor:
        return self.discriminator(x)

    def d_extra(self, real: Tensor, fake: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Extra D loss terms of a variant (e.g. an auxiliary classifier), by name."""
        return {}

    def g_extra(self, z: Tensor, fake: Tensor, labels: Tensor) -> dict[str, Tensor]:
        """Extra G loss terms of a variant (e.g. InfoGAN's mutual information), by name."""
        return {}

    def sampler(self) -> nn.Module:
        """The generator used for evaluation: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.generator

    # ----- objectives -----
    def d_objective(self, real: Tensor, fake: Tensor, labels: Tensor) -> tuple[Tensor, dict]:
        critic = partial(self.critic, labels=labels)
        v_real, v_fake = critic(real), critic(fake)
        terms = {"d_adv": self.loss.d_loss(v_real, v_fake)}
        terms.update(self.constraints.penalty(critic, real, fake))
        terms.update(self.d_extra(real, fake, labels))
        if self.d_average is not None:
            terms["d_hist_avg"] = self.d_average.penalty()
        return sum(terms.values()), {"d_loss": terms["d_adv"], "w_estimate": v_real.mean() - v_fake.mean(), **terms}

    def g_objective(self, z: Tensor, fake: Tensor, real: Tensor, labels: Tensor) -> tuple[Tensor, dict]:
        v_real = None
        if self.loss.g_needs_real:  # only its values enter G's loss: no graph through D
            with torch.no_grad():
                v_real = self.critic(real, labels)
        terms = {"g_adv": self.loss.g_loss(self.critic(fake, labels), v_real)}
        terms.update(self.g_extra(z, fake, labels))
        if self.g_average is not None:
            terms["g_hist_avg"] = self.g_average.penalty()
        return sum(terms.values()), {"g_loss": terms["g_adv"], **terms}

    # ----- the training step -----
    def training_step(self, batch, batch_idx):
        reals, labels = batch
        opt_g, opt_d = self.optimizers()
        self.constraints.set_step(self.iteration)
        if self.simultaneous:
            logs = self._simultaneous_step(reals[0], labels[0], opt_g, opt_d)
        else:
            for k in range(self.n_critic):
                d_logs = self._d_step(reals[k], labels[k], opt_d)
            logs = {**d_logs, **self._g_step(reals[-1], labels[-1], opt_g)}
        self._after_iteration()
        self.iteration += 1
        # Lightning's logging costs about a millisecond a call; logging (and the NaN check, a device sync) only
        # at the logging interval keeps the runner within a few percent of a plain loop. The last iteration is
        # checked too, so that a run never ends "completed" with non-finite losses.
        if self.iteration % self.trainer.log_every_n_steps == 0 or self.iteration in (1, self.total_steps):
            self._log_step({k: v.detach() for k, v in logs.items()})

    def _log_step(self, logs: dict) -> None:
        self._check_finite(logs)
        self.log_dict({k: logs[k] for k in ("d_loss", "g_loss")}, prog_bar=True)
        self.log_dict({k: v for k, v in logs.items() if k not in ("d_loss", "g_loss")})
        self.log("iteration", float(self.iteration))

    def _d_step(self, real, labels, opt_d) -> dict:
        z = self.sample_latent(real.shape[0], labels)
        with torch.no_grad():
            fake = self.generator(z)
        total, logs = self.d_objective(real, fake, labels)
        opt_d.zero_grad(set_to_none=True)
        self.manual_backward(total)
        opt_d.step()
        self.constraints.after_d_step(self.discriminator)
        return logs

    def _g_step(self, real, labels, opt_g) -> dict:
        z = self.sample_latent(real.shape[0], labels)
        fake = self.generator(z)
        total, logs = self.g_objective(z, fake, real, labels)
        opt_g.zero_grad(set_to_none=True)
        self.manual_backward(total)
        opt_g.step()
        return logs

    def _simultaneous_step(self, real, labels, opt_g, opt_d) -> dict:
        """Both gradients at the same (G, D); then both players step."""
        z = self.sample_latent(real.shape[0], labels)
        fake = self.generator(z)
        d_total, d_logs = self.d_objective(real, fake.detach(), labels)
        g_total, g_logs = self.g_objective(z, fake, real, labels)
        d_params = [p for p in self.discriminator.parameters() if p.requires_grad]
        g_params = [p for p in self.generator.parameters() if p.requires_grad]
        for params, total in ((d_params, d_total), (g_params, g_total)):
            for p, g in zip(params, torch.autograd.grad(total, params, retain_graph=True, allow_unused=True)):
                p.grad = g
        opt_d.step()
        opt_g.step()
        self.constraints.after_d_step(self.discriminator)
        return {**d_logs, **g_logs}

    def _check_finite(self, logs: dict) -> None:
        for name in ("d_loss", "g_loss"):
            value = float(logs[name])
            if not math.isfinite(value):
                raise Diverged(f"{name} became {value} at iteration {self.iteration}")

    def _after_iteration(self) -> None:
        for average in (self.g_average, self.d_average):
            if average is not None:
                average.update()
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()
        self._ema_update()

    @torch.no_grad()
    def _ema_update(self) -> None:
        if self.ema is None:
            return
        # Warm-up so that a short run's EMA is not dominated by the initial weights.
        decay = min(self.ema_decay, (1 + self.iteration) / (10 + self.iteration))
        torch._foreach_lerp_(self._ema_params, self._g_params, 1.0 - decay)
        for b_ema, b in zip(self.ema.buffers(), self.generator.buffers()):
            b_ema.copy_(b)

    # ----- optimizers, checkpoint extras -----
    def configure_optimizers(self):
        cls = hydra.utils.get_class(self.opt_cfg["cls"])
        kwargs = dict(self.opt_cfg.get("kwargs") or {})
        opt_g = cls(self.generator.parameters(), lr=self.opt_cfg["lr_g"], **kwargs)
        opt_d = cls(self.discriminator.parameters(), lr=self.opt_cfg["lr_d"], **kwargs)
        if self.opt_cfg.get("lr_decay", "none") == "linear":
            decay = linear_decay(self.total_steps)
            schedulers = [torch.optim.lr_scheduler.LambdaLR(opt, decay) for opt in (opt_g, opt_d)]
            return [opt_g, opt_d], schedulers
        return opt_g, opt_d

    def on_fit_start(self) -> None:
        if self.ema is not None:
            self._ema_params = list(self.ema.parameters())
            self._g_params = list(self.generator.parameters())

    def on_train_start(self) -> None:
        if self._rng_to_restore is not None:
            rng.restore(self._rng_to_restore)
            self._rng_to_restore = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        checkpoint["gan_runner"] = {"iteration": self.iteration, "rng": rng.capture()}

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        state = checkpoint["gan_runner"]
        self.iteration = int(state["iteration"])
        self._rng_to_restore = state["rng"]
        # The last iteration of a shorter run is mid-epoch for a longer one: the batch stream, not Lightning's
        # memory of where the old stream ended, decides when training stops.
        progress = checkpoint.get("loops", {}).get("fit_loop", {}).get("epoch_loop.batch_progress")
        if progress is not None:
            progress["is_last_batch"] = False
