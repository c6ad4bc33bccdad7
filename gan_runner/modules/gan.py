"""The base GAN LightningModule: one training-step skeleton that every variant reuses.

One iteration = n_critic D steps (sample, score, loss, penalties, step, after-step hooks) then g_steps G steps,
alternating (default) or simultaneous (both players step from the same point). Manual optimization; EMA of G.
A variant (modules/<variant>.py) overrides hooks, never the step:
- `build_networks(make_generator, make_discriminator)`: the nets from the model's factories, e.g. with labels;
- `sample_latent(n, labels, real, index)`: G's inputs (z, and the labels G is conditioned on; `real`: the real
  batch, `index`: its rows' places in the training set);
- `d_adversarial`, `g_adversarial`: the players' adversarial terms (by default the configured loss);
- `d_extra`, `g_extra`: further terms (an auxiliary classifier, InfoGAN's mutual information), which read D's
  features when the class sets `uses_features`;
- `player_modules`: the networks each optimizer trains (a variant without D, `has_critic = False`, trains G's
  alone: no D steps, one optimizer); `after_g_step`: after each G step (e.g. GLO's codes);
- `training_data(data)`: what the batches are drawn from (e.g. with digits held out for a variant's evaluation);
- `variant_metrics(evaluation)`: a variant's own metrics and pictures at each evaluation.
A variant's heads on D's features (an auxiliary classifier, InfoGAN's Q) live in D (`Discriminator.heads`) and are
found with `d_part`, wherever constraint wrappers put D.
"""
import contextlib
import copy
import math
from functools import partial

import hydra.utils
import lightning.pytorch as L
import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from gan_runner import distributed, draws, precision
from gan_runner.constraints import Constraints
from gan_runner.errors import UserError
from gan_runner.losses import Loss
from gan_runner.modules import consensus, optimizers, resume_state, simultaneous
from gan_runner.modules.feature_matching import feature_distance
from gan_runner.modules.rules import HistoricalAverage, MovingAverage
from gan_runner.modules.sides import Batch, Side
from gan_runner.nets import packing
from gan_runner.nets.critic import part_of
from gan_runner.nets.init import initialize
from gan_runner.nets.virtual_batch import VirtualBatchNormed


class Diverged(RuntimeError):
    """A loss became NaN or infinite: the run stops instead of burning its budget."""


class CriticShapeError(ValueError):
    """D returned something other than one score per sample (broadcasting it would silently change the loss)."""


class GAN(L.LightningModule):
    #: Whether D takes the samples' labels, D(x, y) (cgan, projection; AC-GAN's labels, which a head predicts: no).
    conditional_critic = False
    #: Set by a variant whose extra terms read D's trunk features, from the very D pass that scored each side.
    uses_features = False
    #: The logger of a module evaluated outside a trainer (an ensemble member's); else the trainer's.
    outside_logger = None
    #: Why the variant refuses gn and gran, which rescale D's score (the words after "constraint gn "); None: none.
    score_rescaling_refusal: str | None = None
    #: Why the variant refuses a loss that compares real with fake scores (Loss.g_needs_real); None: it takes one.
    relativistic_refusal: str | None = None
    #: Why the variant refuses variant.feature_matching (it would replace G's weighted adversarial term); None: none.
    feature_matching_refusal: str | None = None
    #: False for a variant without D (GLO): no D steps, no D optimizer.
    has_critic = True
    #: False where an average of G's weights would not fit the variant (GLO: its codes follow the live G): no EMA.
    averages_generator = True

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        """The refusals a variant declares above, in one line each (checks.check_components calls it)."""
        rescaling = sorted({"gn", "gran"} & set(cfg.constraint or {}))
        if rescaling and cls.score_rescaling_refusal:
            raise UserError(f"constraint {rescaling[0]} {cls.score_rescaling_refusal}")
        if cls.relativistic_refusal and hydra.utils.get_class(cfg.loss._target_).g_needs_real:
            raise UserError(cls.relativistic_refusal)
        if cls.feature_matching_refusal and args.get("feature_matching", False):
            raise UserError(cls.feature_matching_refusal)

    @property
    def logger(self):
        return self.outside_logger if self.outside_logger is not None else super().logger

    def __init__(self, generator, discriminator, loss: Loss, constraints: Constraints, optimizer: dict, z_dim: int,
                 num_classes: int = 0, total_steps: int = 0, init: str = "torch", pack: int = 1,
                 z_prior: str = "normal", feature_matching: bool = False, virtual_batch: int = 0):
        """`generator`, `discriminator`: factories of the model's nets (Hydra partials), so that a variant can build
        them with other input sizes (e.g. labels as extra channels); `init`: their initial weights (nets/init.py);
        `pack`: D scores packs of that many samples (nets/packing.py; D's factory builds it for their input);
        `z_prior`: z ~ N(0, I) (normal) or U(-1, 1) per coordinate (uniform, DCGAN's code); `feature_matching`:
        G's adversarial terms replaced by Improved GAN's feature matching (any variant's key); `virtual_batch`: the
        reference batch's size when G's BatchNorms are virtual (nets/virtual_batch.py), 0: off."""
        super().__init__()
        self.automatic_optimization = False
        self.z_dim, self.num_classes, self.pack, self.z_prior = z_dim, num_classes, pack, z_prior
        self.generator, critic = self.initial_networks(generator, discriminator, init)
        if virtual_batch:  # G's reference inputs, drawn as a step draws G's inputs (labels balanced)
            labels = torch.arange(virtual_batch) % num_classes if num_classes else None
            self.generator = VirtualBatchNormed(self.generator, self.sample_latent(virtual_batch, labels))
        self.feature_matching = feature_matching
        self.uses_features = type(self).uses_features or feature_matching
        self._features: list[Tensor] = []
        self._parts: dict[str, nn.Module] = {}
        if self.uses_features:
            part_of(critic, "trunk").register_forward_hook(lambda module, inputs, output: self._features.append(output))
        self.constraints = constraints
        self.discriminator = constraints.wrap(critic)
        self.loss = loss
        self.opt_cfg = optimizer
        self.n_critic = int(optimizer.get("n_critic", 1)) if self.has_critic else 0
        self.g_steps = int(optimizer.get("g_steps", 1))
        self.simultaneous = optimizer.get("update", "alternating") == "simultaneous"
        self.consensus = float(optimizer.get("consensus", 0.0))  # γ of consensus optimization (modules/consensus.py)
        self._joint = False  # see joint_graph
        self.ema_decay = float(optimizer.get("ema_decay", 0.0)) if self.averages_generator else 0.0
        self.ema = copy.deepcopy(self.generator).requires_grad_(False) if self.ema_decay > 0 else None
        self.total_steps = total_steps
        averaging = float(optimizer.get("historical_averaging", 0.0))
        players = {name: [p for net in nets for p in net.parameters()] for name, nets in self.player_modules().items()}
        # each player's every trained network (VAE-GAN's encoder beside G), as its optimizer's
        self.g_average = HistoricalAverage(players["g"], averaging) if averaging > 0 else None
        self.d_average = HistoricalAverage(players["d"], averaging) if averaging > 0 and players["d"] else None
        self.iteration = 0
        self._rng_to_restore = None

    def initial_networks(self, make_generator, make_discriminator, init: str) -> tuple[nn.Module, nn.Module]:
        """G and D with their initial weights, drawn from torch's stream (an ensemble draws each member's)."""
        generator, critic = self.build_networks(make_generator, make_discriminator)
        for net in (generator, critic):
            initialize(net, init)
        return generator, critic

    # ----- hooks a variant may override -----
    def build_networks(self, make_generator, make_discriminator) -> tuple[nn.Module, nn.Module]:
        return make_generator(), make_discriminator()

    def sample_latent(self, n: int, labels: Tensor | None = None, real: Tensor | None = None,
                      index: Tensor | None = None) -> tuple[Tensor, Tensor | None]:
        """G's input for n samples: z, and the labels G is conditioned on (None for an unconditional G). `labels`
        are the real batch's labels in training (None when the data has none), balanced classes in evaluation;
        `real` the real batch in training (an image-to-image G's input) and `index` its rows in the training set
        (per-image codes), both None in evaluation."""
        return self.draw_z(n), None

    def draw_z(self, n: int) -> Tensor:
        """n draws of z from the model's prior (model.z_prior)."""
        return draws.latent(self.z_prior, n, self.z_dim, device=self.device)

    def d_adversarial(self, batch: Batch) -> dict[str, Tensor]:
        return {"d_adv": self.loss.d_loss(batch.real.score, batch.fake.score)}

    def g_adversarial(self, batch: Batch, v_real: Tensor | None) -> dict[str, Tensor]:
        return {"g_adv": self.loss.g_loss(batch.fake.score, v_real)}

    def matched_features(self, batch: Batch) -> dict[str, Tensor]:
        """G's feature-matching term (modules/feature_matching.py), the real side scored here."""
        with contextlib.nullcontext() if self._joint else torch.no_grad():  # joint_graph: D's side of the term too
            self._score(batch.real)
        # detached: a wrapper that differentiates D inside (gn, gran) leaves a graph on the features it freed
        real = batch.real.features if self._joint else batch.real.features.detach()
        return {"g_feature_matching": feature_distance(real, batch.fake.features)}

    def d_extra(self, batch: Batch) -> dict[str, Tensor]:
        """Extra D loss terms of a variant (e.g. an auxiliary classifier), by name."""
        return {}

    def g_extra(self, batch: Batch) -> dict[str, Tensor]:
        """Extra G loss terms of a variant (e.g. InfoGAN's mutual information), by name."""
        return {}

    def player_modules(self) -> dict[str, list[nn.Module]]:
        """The networks G's and D's optimizers train; a variant may add its own (e.g. an encoder on G's side)."""
        return {"g": [self.generator], "d": [self.discriminator] if self.has_critic else []}

    def after_g_step(self) -> None:
        """After each G step's optimizer step, its gradients still in place."""

    def training_data(self, data):
        """The data the training batches come from (run.py); a variant may hold some of it out for evaluation."""
        return data

    def variant_metrics(self, evaluation) -> dict[str, float]:
        """A variant's own metrics and pictures (evaluation.VariantEvaluation: the domain classifier, the data,
        `grid` to save a picture), called inside `evaluation.untouched(self)` at every image evaluation."""
        return {}

    # ----- what the hooks build on -----
    def generate(self, z: Tensor, y: Tensor | None = None, generator: nn.Module | None = None) -> Tensor:
        net = self.generator if generator is None else generator
        return net(z) if y is None else net(z, y)

    def critic(self, x: Tensor, y: Tensor | None = None) -> Tensor:
        """D's scores [N] in float32, or float64 in a float64 run (under mixed precision the losses and penalties are
        computed in fp32; a float64 run keeps its precision, so that its losses round as its nets do);
        `y` reaches D only when the variant conditions it on labels. Packed (model.pack = m): one score per pack of
        m consecutive samples, [N/m]."""
        if self.pack > 1:
            x = packing.join(x, self.pack)
        scores = self.discriminator(x, y) if self.conditional_critic else self.discriminator(x)
        if scores.shape != (x.shape[0],):
            raise CriticShapeError(f"the discriminator returned scores of shape {tuple(scores.shape)} for "
                                   f"{x.shape[0]} samples: it must return one score per sample, shape "
                                   f"[{x.shape[0]}] (squeeze a trailing dimension of size 1)")
        return scores if scores.dtype == torch.float64 else scores.float()

    def point_scores(self, x: Tensor) -> Tensor:
        """D's score of each sample alone, [N]: of a pack of m copies of it when D is packed (a critic's picture)."""
        if self.pack == 1:
            return self.critic(x)
        return self.critic(x.repeat_interleave(self.pack, dim=0))

    def d_part(self, name: str) -> nn.Module:
        """The unique submodule of D named `name` (`trunk`, `heads`, ...), inside any constraint wrapper."""
        if name not in self._parts:
            self._parts[name] = part_of(self.discriminator, name)
        return self._parts[name]

    def sampler(self) -> nn.Module:
        """The generator used for evaluation: the EMA copy when there is one."""
        return self.ema if self.ema is not None else self.generator

    def _score(self, side: Side) -> None:
        self._features.clear()
        side.score = self.critic(side.x, side.y)
        if self.uses_features:
            side.features = self._features[-1]

    def _play(self, real: Tensor, labels: Tensor | None, train_generator: bool, index: Tensor | None = None
              ) -> Batch:
        z, fake_labels = self.sample_latent(real.shape[0], labels, real, index)
        with torch.set_grad_enabled(train_generator):
            # packed: each pack slot's samples in a G call of their own (nets/packing.py; labels never pack)
            fake = packing.per_slot(lambda latents: self.generate(latents, fake_labels), z, self.pack)
        return Batch(Side(real, labels), Side(fake, fake_labels), z)

    @contextlib.contextmanager
    def joint_graph(self):
        """Objectives whose graphs reach both players' weights (G's leaves D unfrozen and keeps D's real scores), to
        differentiate the joint gradient field (consensus optimization, the Dirac-GAN's Jacobian); the caller picks
        the gradients it takes (D's objective sees the fakes it is given: undetached, they carry G's graph)."""
        self._joint = True
        try:
            yield
        finally:
            self._joint = False

    @contextlib.contextmanager
    def _frozen_discriminator(self):
        """G's step needs gradients through D to the samples, not to D's weights: none are computed."""
        params = [] if self._joint else [p for p in self.discriminator.parameters() if p.requires_grad]
        for p in params:
            p.requires_grad_(False)
        try:
            yield
        finally:
            for p in params:
                p.requires_grad_(True)

    # ----- objectives -----
    def d_objective(self, batch: Batch) -> tuple[Tensor, dict]:
        self._score(batch.real)
        self._score(batch.fake)
        adversarial = self.d_adversarial(batch)
        # Penalties hold the labels fixed and differentiate with respect to x alone; conditional variants give G
        # the real batch's labels, so real samples, fakes and their interpolates agree on them.
        critic = partial(self.critic, y=batch.real.y)
        points = packing.penalty_points(critic, batch.real.x, batch.fake.x, self.pack)  # packed: a pack is a point
        terms = {**adversarial, **self.constraints.penalty(*points)}
        terms.update(self.d_extra(batch))
        if self.d_average is not None:
            terms["d_hist_avg"] = self.d_average.penalty()
        w_estimate = batch.real.score.mean() - batch.fake.score.mean()
        return sum(terms.values()), {"d_loss": sum(adversarial.values()), "w_estimate": w_estimate, **terms}

    def g_objective(self, batch: Batch) -> tuple[Tensor, dict]:
        with self._frozen_discriminator():
            v_real = None
            # only its values enter G's step (joint_graph keeps its graph); feature matching reads features instead
            if self.loss.g_needs_real and not self.feature_matching:
                with contextlib.nullcontext() if self._joint else torch.no_grad():
                    v_real = self.critic(batch.real.x, batch.real.y)
            self._score(batch.fake)
            adversarial = self.matched_features(batch) if self.feature_matching else self.g_adversarial(batch, v_real)
            terms = {**adversarial, **self.g_extra(batch)}
        if self.g_average is not None:
            terms["g_hist_avg"] = self.g_average.penalty()
        return sum(terms.values()), {"g_loss": sum(adversarial.values()), **terms}

    # ----- the training step -----
    def training_step(self, batch, batch_idx):
        reals, labels, indices = batch
        labels = labels if self.num_classes else [None] * len(reals)
        opt_g, opt_d = self.optimizers() if self.has_critic else (self.optimizers(), None)
        self.constraints.set_step(self.iteration)
        with precision.loss_scale(self._grad_scaler()):
            if self.simultaneous:
                logs = simultaneous.step(self, reals[0], labels[0], indices[0], opt_g, opt_d)
            else:
                d_logs = {}
                for k in range(self.n_critic):
                    d_logs = self._d_step(reals[k], labels[k], indices[k], opt_d)
                for _ in range(self.g_steps):  # each G step on fresh latents, against the same real batch
                    g_logs = self._g_step(reals[-1], labels[-1], indices[-1], opt_g)
                logs = {**d_logs, **g_logs}
        self._after_iteration()
        self.iteration += 1
        # Lightning's logging costs about a millisecond a call; logging (and the NaN check, a device sync) only
        # at the logging interval keeps the runner within a few percent of a plain loop. The last iteration is
        # checked too, so that a run never ends "completed" with non-finite losses.
        if self.logs_at(self.iteration):
            self._log_step({k: v.detach() for k, v in logs.items()})

    def logs_at(self, iteration: int) -> bool:
        """Whether the losses of `iteration` (counted from 1) are logged and checked."""
        return iteration % self.trainer.log_every_n_steps == 0 or iteration in (1, self.total_steps)

    def _d_step(self, real, labels, index, opt_d) -> dict:
        batch = self._play(real, labels, False, index)
        with parametrize.cached():  # spectral norm: one power iteration per step, however many D passes
            total, logs = self.d_objective(batch)
        self._backward_and_step(opt_d, total, self._d_params)
        self.constraints.after_d_step(self.discriminator)
        return logs

    def _g_step(self, real, labels, index, opt_g) -> dict:
        batch = self._play(real, labels, True, index)
        with parametrize.cached():
            total, logs = self.g_objective(batch)
        self._backward_and_step(opt_g, total, self._g_params)
        self.after_g_step()
        return logs

    def _backward_and_step(self, optimizer, total: Tensor, params: list[Tensor]) -> None:
        """Backward through Lightning (its precision plugin scales the loss), average over the ranks, step."""
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(total)
        distributed.average_gradients(params)
        optimizer.step()

    def _grad_scaler(self):
        return getattr(self.trainer.precision_plugin, "scaler", None)

    def _log_step(self, logs: dict) -> None:
        self._check_finite(logs)
        self.log_dict({k: logs[k] for k in ("d_loss", "g_loss") if k in logs}, prog_bar=True)
        self.log_dict({k: v for k, v in logs.items() if k not in ("d_loss", "g_loss")})
        self.log("iteration", float(self.iteration))

    def _check_finite(self, logs: dict) -> None:
        """Every rank decides together: a rank that stopped alone would leave the others waiting for it."""
        bad = {name: float(logs[name]) for name in ("d_loss", "g_loss")
               if name in logs and not math.isfinite(float(logs[name]))}
        if distributed.all_ranks(not bad, self.device):
            return
        where = ", ".join(f"{name} became {value}" for name, value in bad.items()) or "a loss of another rank"
        raise Diverged(f"{where} at iteration {self.iteration}")

    def _after_iteration(self) -> None:
        for average in (self.g_average, self.d_average):
            if average is not None:
                average.update()
        schedulers = self.lr_schedulers() or []
        for scheduler in schedulers if isinstance(schedulers, list) else [schedulers]:  # one: G's alone (no D)
            scheduler.step()
        if self.ema is not None:
            self._moving_average.update(self.iteration)

    # ----- optimizers (modules/optimizers.py), checkpoint extras (modules/resume_state.py) -----
    def configure_optimizers(self):
        return optimizers.configure(self.opt_cfg, *consensus.player_params(self))

    def on_fit_start(self) -> None:
        self._g_params, self._d_params = consensus.player_params(self)
        if self.ema is not None:
            self._moving_average = MovingAverage(self.ema, self.generator, self.ema_decay)

    def on_train_start(self) -> None:
        resume_state.start_streams(self._rng_to_restore, self.device)
        self._rng_to_restore = None

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        resume_state.save(checkpoint, self.iteration, self.device)

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        self.iteration, self._rng_to_restore = resume_state.load(checkpoint)

