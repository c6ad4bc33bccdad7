"""Cascading rejection (Na, Jeon & Lee 2019; seed 000): D's feature vector v is scored by K stages. Stage 1 is D's
own score ⟨v, w₁⟩ + b₁; stage k scores the part of v orthogonal to w₁ … w_{k-1} with its own w_k, so each stage
judges what the earlier ones left. Both players' losses are the configured loss summed over the stages. The later
stages' weights are D's (every weight constraint covers them, as it covers the score head)."""
import torch
from torch import Tensor, nn

from gan_runner.checks import positive
from gan_runner.errors import UserError
from gan_runner.modules.gan import GAN


def stage_scores(features: Tensor, heads: list[nn.Linear]) -> list[Tensor]:
    """Each stage's scores [N]: stage k reads v less its projection on the span of the earlier stages' weights (in
    float32 at least: a float64 run keeps its precision)."""
    dtype = torch.promote_types(features.dtype, torch.float32)
    v, basis, scores = features.flatten(1).to(dtype), [], []
    for head in heads:
        w = head.weight.view(-1).to(dtype)
        scores.append(v @ w + head.bias.to(dtype))
        for q in basis:  # Gram-Schmidt: w's direction within the earlier span is left out of v for the next stage
            w = w - (w @ q) * q
        q = w / w.norm().clamp_min(1e-12)
        v = v - (v @ q)[:, None] * q[None, :]
        basis.append(q)
    return scores


class CascadeGAN(GAN):
    uses_features = True
    score_rescaling_refusal = ("rescales D's score, and the later stages read D's features unrescaled: use a penalty "
                               "(gp, r1), sn, noise or clip")
    relativistic_refusal = ("variant=cascade scores each stage on its own, and a relativistic loss would pair stages "
                            "of real and fake scores it does not keep: use a loss of the fakes' scores alone")

    def __init__(self, *args, stages: int = 2, **kwargs):
        self.stages = stages
        super().__init__(*args, **kwargs)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        positive(args, "stages")
        if cfg.model.get("minibatch_discrimination", False):
            raise UserError("model.minibatch_discrimination feeds D's first stage alone, and variant=cascade's later "
                            "stages read D's features: drop one of them")

    def build_networks(self, make_generator, make_discriminator):
        critic = make_discriminator()
        critic.stages = nn.ModuleList(nn.Linear(critic.feature_dim, 1) for _ in range(self.stages - 1))
        return make_generator(), critic

    def later_stages(self, features: Tensor) -> list[Tensor]:
        """Stages 2 … K (stage 1 is D's score itself, wrappers and all)."""
        return stage_scores(features, [self.d_part("head"), *self.d_part("stages")])[1:]

    def d_adversarial(self, batch):
        terms = super().d_adversarial(batch)
        pairs = zip(self.later_stages(batch.real.features), self.later_stages(batch.fake.features))
        terms.update({f"d_stage{k}": self.loss.d_loss(real, fake) for k, (real, fake) in enumerate(pairs, 2)})
        return terms

    def g_adversarial(self, batch, v_real):
        terms = super().g_adversarial(batch, v_real)
        fakes = self.later_stages(batch.fake.features)
        terms.update({f"g_stage{k}": self.loss.g_loss(fake) for k, fake in enumerate(fakes, 2)})
        return terms


