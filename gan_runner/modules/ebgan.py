"""EBGAN (Zhao, Mathieu & LeCun 2017): D is an autoencoder and its score an energy, the mean squared error of its
reconstruction (nets/energy.py); loss=energy gives the players' margin losses. G's loss adds the pull-away term
λ_PT·PT on the encoder's codes S of its samples: PT = 1 / (N (N - 1)) Σ_{i ≠ j} cos²(S_i, S_j), the mean squared
cosine over the pairs of different samples (squared, and without the diagonal, whose cosines are 1), which pushes
a batch's codes apart."""
import torch.nn.functional as F
from torch import Tensor

from gan_runner.checks import non_negative
from gan_runner.errors import UserError
from gan_runner.modules.gan import GAN
from gan_runner.nets.energy import EnergyCritic


def pull_away(codes: Tensor) -> Tensor:
    """The mean over pairs i ≠ j of the squared cosine similarity of codes [N, d]."""
    n = codes.shape[0]
    unit = F.normalize(codes.flatten(1).float(), dim=1)
    cosines = unit @ unit.T
    return (cosines.pow(2).sum() - cosines.diagonal().pow(2).sum()) / (n * (n - 1))


class EBGAN(GAN):
    uses_features = True
    score_rescaling_refusal = ("rescales D's score into (-1, 1), and EBGAN's score is an energy held to a margin: use "
                               "a penalty (gp, r1), sn, noise or clip")

    def __init__(self, *args, pt_weight: float = 0.1, **kwargs):
        self.pt_weight = pt_weight
        super().__init__(*args, **kwargs)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        non_negative(args, "pt_weight")
        if not str(cfg.loss._target_).endswith(".Energy"):
            raise UserError("variant=ebgan scores samples by an autoencoder's reconstruction energy, which only the "
                            "margin loss reads: set loss=energy")
        from gan_runner.validate import refuse_sample_mixing

        if cfg.model.get("g_norm", "batch") == "batch":  # DCGAN's G has BatchNorm, no g_norm key
            refuse_sample_mixing(cfg, "the BatchNorm of EBGAN's decoder (G's architecture)",
                                 ": use sn, noise or clip, or model=mlp with model.g_norm=none or layer")
        if cfg.data.batch_size < 2:
            raise UserError("variant=ebgan's pull-away term compares the samples of a batch: set data.batch_size >= 2")

    def build_networks(self, make_generator, make_discriminator):
        encoder = make_discriminator()
        return make_generator(), EnergyCritic(encoder, make_generator(z_dim=encoder.feature_dim))

    def g_extra(self, batch):
        if not self.pt_weight:
            return {}
        return {"g_pull_away": self.pt_weight * pull_away(batch.fake.features)}
