"""DeePSiM (Dosovitskiy & Brox 2016, "Generating Images with Perceptual Similarity Metrics based on Deep Networks"),
seed 001's perceptual loss, on reconstruction: G is an encoder-decoder (image in, image out; nets/encoder.py: the
model's D trunk and a linear layer encode to z_dim numbers, the model's G decodes), trained with three terms, each
off at weight 0 (the paper's ablation is one sweep):
  adversarial_weight · the configured loss's G term on D(G(x)),
  feature_weight · mean (C(G(x)) - C(x))², C a fixed network's features: a LeNet trained on the data's labels with
      seed 1 (the comparator; the paper's: AlexNet), another draw than the evaluation's LeNet (seed 0), so that the
      LeNet metrics are not the training term itself (they still favour it: the same architecture and data);
  image_weight · mean (G(x) - x)²;
D plays the configured loss, real x against G(x). The paper's λ_adv 100, λ_feat 0.01 and λ_img 2e-6 weigh sums over
AlexNet's 9,216 conv5 features and 227·227·3 pixels; as weights of per-element means they are 100, 92 and 0.31, here
divided by 100 (1, 0.92, 0.0031). That keeps the paper's balance only if its pixels were in our units: not verified
(in 0-255 units the image term would weigh 127.5² times more), so the defaults are a starting point for the sweep,
not the paper's setting. Left out: the paper's rule that pauses D while it wins by a wide margin. In evaluation G's
"samples" are reconstructions of random training images (FID is theirs; experiment=deepsim reads it in random
features, metrics.extractor=random, away from the comparator's LeNet), and the reconstruction metrics measure the
fixed draw of the FID reference's permutation.
"""
import torch

from gan_runner.checks import non_negative
from gan_runner.errors import UserError
from gan_runner.metrics.extractor import load_or_train_extractor
from gan_runner.metrics.reconstruction import reconstruction_metrics
from gan_runner.modules.gan import GAN
from gan_runner.nets.encoder import CodeEncoder, EncoderDecoder


class DeePSiM(GAN):
    feature_matching_refusal = ("variant=deepsim weighs G's adversarial term by adversarial_weight, which feature "
                                "matching would replace: drop variant.feature_matching")

    def __init__(self, *args, adversarial_weight: float = 1.0, feature_weight: float = 0.92,
                 image_weight: float = 0.0031, comparator_cache: str = ".", comparator_seed: int = 1, **kwargs):
        self.weights = {"g_adv": adversarial_weight, "g_feature": feature_weight, "g_image": image_weight}
        self.comparator_cache, self.comparator_seed = comparator_cache, comparator_seed
        self._data, self._comparator = None, []  # a list: the fixed comparator is no part of the module's state
        super().__init__(*args, **kwargs)

    @classmethod
    def check(cls, args: dict, cfg) -> None:
        super().check(args, cfg)
        non_negative(args, "adversarial_weight", "feature_weight", "image_weight")
        if not any(args.get(k, 1.0) for k in ("adversarial_weight", "feature_weight", "image_weight")):
            raise UserError("variant=deepsim with every term's weight 0 trains nothing: give one a weight > 0")
        if cfg.data.kind != "image":
            raise UserError(f"variant=deepsim reconstructs images, and data={cfg.data.name} holds points: use images")
        if cfg.model.get("virtual_batch_norm", False):
            raise UserError("variant=deepsim's G takes images, and virtual batch norm draws G's reference inputs "
                            "before any data is loaded: drop model.virtual_batch_norm")

    def build_networks(self, make_generator, make_discriminator):
        return EncoderDecoder(CodeEncoder(make_discriminator(), self.z_dim), make_generator()), make_discriminator()

    def training_data(self, data):
        self._data = data
        if self.weights["g_feature"] > 0 and data.y is None:
            raise UserError(f"variant=deepsim's feature term compares images in a LeNet trained on the data's labels, "
                            f"and data={data.name} has none: use labelled images or variant.feature_weight=0")
        if self.weights["g_feature"] > 0 and not self._comparator:
            self._comparator.append(load_or_train_extractor(data, self.comparator_cache, seed=self.comparator_seed)[0])
        return data

    def on_fit_start(self) -> None:
        super().on_fit_start()
        for comparator in self._comparator:  # onto the run's device once, not in every G step
            comparator.to(self.device)

    def sample_latent(self, n, labels=None, real=None, index=None):
        """G's input: the real batch in training; n random training images in evaluation."""
        if real is not None:
            return real, None
        if self._data is None:
            raise RuntimeError("variant=deepsim draws G's inputs from training_data(data): call it first")
        return self._data.samples(torch.randint(len(self._data), (n,))).to(self.device), None

    def g_adversarial(self, batch, v_real):
        return {"g_adv": self.weights["g_adv"] * self.loss.g_loss(batch.fake.score, v_real)}

    def g_extra(self, batch):
        fake, real = batch.fake.x, batch.real.x
        terms = {}
        if self.weights["g_feature"] > 0:
            comparator = self._comparator[0]
            terms["g_feature"] = self.weights["g_feature"] * (comparator(fake) - comparator(real)).square().mean()
        if self.weights["g_image"] > 0:
            terms["g_image"] = self.weights["g_image"] * (fake - real).square().mean()
        return terms

    def variant_metrics(self, evaluation):
        return reconstruction_metrics(evaluation,
                                      lambda x, index: self.generate(x.to(self.device), None, self.sampler()))
