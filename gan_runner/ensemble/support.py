"""What an ensemble cannot train exactly as its members would train alone, each with the reason, in one line.

The ensemble's step is the plain one on K*B rows (module.py): anything that is not a mean over the batch of
per-sample terms, or that acts on weights as a whole, would mix the members or needs its own stacked form.
"""
from omegaconf import DictConfig

STACKED_NETS = ("gan_runner.nets.mlp.MLPGenerator", "gan_runner.nets.dcgan.DCGANGenerator")
STACKED_NORMS = ("none", "batch", "layer")
# Optimizers whose update of a weight reads that weight's gradient and state alone: over stacked weights, each
# member's update is its own. (Adafactor, say, factors a matrix's second moments across its rows.)
ELEMENTWISE_OPTIMIZERS = tuple(f"torch.optim.{name}" for name in ("Adam", "AdamW", "RMSprop", "SGD", "NAdam", "RAdam",
                                                                  "Adamax"))


def unsupported(cfg: DictConfig) -> str | None:
    """Why `cfg`'s seeds cannot train as one ensemble, or None when they can."""
    variant = cfg.variant.get("name", "gan") if cfg.get("variant") else "gan"
    if variant not in ("gan", "cgan"):
        return f"variant={variant}: its heads and label embeddings have no stacked form yet"
    if cfg.variant.get("feature_matching", False) if cfg.get("variant") else False:
        return "variant.feature_matching: G's term is a function of batch means, the ensemble's rather than a member's"
    if variant == "cgan" and cfg.variant.get("labels", "input") != "input":
        return "variant.labels=every_layer: labels inside the nets have no stacked form yet"
    if variant == "cgan" and cfg.variant.get("mismatch", 0.0) > 0 and cfg.loss._target_.endswith(".RaGAN"):
        return "variant.mismatch > 0 with loss=ragan: the matching-aware term's batch means would be the ensemble's"
    model = cfg.model
    if model.generator._target_ not in STACKED_NETS:
        return f"model={model.name}: only the mlp and dcgan nets have stacked forms"
    for key in ("g_norm", "d_norm"):
        if model.get(key, "none") not in STACKED_NORMS:
            return f"model.{key}={model[key]}: only {', '.join(STACKED_NORMS)} have stacked forms"
    if model.get("self_mod", False):
        return "model.self_mod: self-modulated BatchNorm has no stacked form yet"
    if model.get("virtual_batch_norm", False):
        return "model.virtual_batch_norm: virtual batch norm has no stacked form yet"
    if model.get("minibatch_discrimination", False):
        return "model.minibatch_discrimination: it compares a batch's samples, the ensemble's rather than a member's"
    if model.get("d_noise", 0.0) > 0:
        return "model.d_noise > 0: D's hidden noise layers have no stacked form yet"
    for name, node in (cfg.constraint or {}).items():
        target = (node or {}).get("_target_", "")
        if target.endswith(".DRAGAN") and node.get("mode") == "code":
            return f"constraint.{name}.mode=code: its perturbation scale is the std of the whole batch"
    optimizer = cfg.optimizer
    if optimizer.cls not in ELEMENTWISE_OPTIMIZERS:
        return f"optimizer.cls={optimizer.cls}: only optimizers that update each weight alone are exact when stacked"
    if optimizer.get("consensus", 0.0) > 0:
        return "optimizer.consensus > 0: the consensus term's joint gradient is not built for ensembles"
    if optimizer.get("historical_averaging", 0.0) > 0:
        return "optimizer.historical_averaging > 0: a penalty on the weights, not a mean over the batch"
    if cfg.trainer.devices != 1 or cfg.trainer.get("num_nodes", 1) != 1:
        return "trainer.devices or trainer.num_nodes > 1: an ensemble trains in one process"
    if str(cfg.trainer.precision).startswith("16"):
        return "trainer.precision=16-mixed: one loss scale would skip every member's step when one overflows"
    if cfg.logger._target_.endswith("WandbLogger"):
        return "logger=wandb: one process holds one wandb run at a time"
    return None
