"""An ensemble keeps no checkpoint of its own: member k's checkpoints/last.ckpt is the one seed k's run alone would
write at that iteration (its weights, its optimizers' moments, its torch stream), so that run.py resumes or extends
it as its own, and an ensemble started again joins its members' checkpoints into one to resume from.

Both directions go tensor by tensor in the order the stacked and the plain nets hold them (module.py `_pairs`,
optimizers over `player_params`): a stacked tensor holds member k's in the k-th block along its first axis.
"""
import torch
from torch import Tensor

from gan_runner.ensemble.module import EnsembleGAN
from gan_runner.modules.consensus import player_params
from gan_runner.modules.gan import GAN

_STACKED_KEYS = ("state_dict", "optimizer_states", "ensemble_streams", "identity")


def split(checkpoint: dict, module: EnsembleGAN, plains: list[GAN], identities: list[dict]) -> list[dict]:
    """The members' checkpoints from the ensemble's (Lightning's checkpoint of `module`); `plains` are modules of
    the members' configurations, one per member, given their member's weights."""
    shapes = [[p.shape for p in params] for params in player_params(plains[0])]
    members = []
    for k, (plain, identity) in enumerate(zip(plains, identities, strict=True)):
        module.copy_member(k, plain)
        member = {key: value for key, value in checkpoint.items() if key not in _STACKED_KEYS}
        member["state_dict"] = {name: t.clone() for name, t in plain.state_dict().items()}
        member["optimizer_states"] = [_optimizer_rows(state, k, module.k, player_shapes)
                                      for state, player_shapes in zip(checkpoint["optimizer_states"], shapes)]
        gan_runner = checkpoint["gan_runner"]
        member["gan_runner"] = {**gan_runner, "rng": {**gan_runner["rng"], **_member_rng(
            checkpoint["ensemble_streams"][k], module.seeds[k], module.device)}}
        member["identity"] = identity
        members.append(member)
    return members


def join(members: list[dict], module: EnsembleGAN, plains: list[GAN], device: torch.device) -> dict:
    """The ensemble's checkpoint from its members' (all at one iteration), for Lightning to resume `module` from on
    `device`."""
    for k, (member, plain) in enumerate(zip(members, plains, strict=True)):
        plain.load_state_dict(member["state_dict"])
        module.take_member(k, plain)
    shapes = [[p.shape for p in params] for params in player_params(module)]
    joined = {key: value for key, value in members[0].items() if key not in _STACKED_KEYS}
    joined["state_dict"] = module.state_dict()
    joined["optimizer_states"] = [_optimizer_stacked([m["optimizer_states"][i] for m in members], player_shapes)
                                  for i, player_shapes in enumerate(shapes)]
    joined["ensemble_streams"] = [m["gan_runner"]["rng"][_stream_key(device)] for m in members]
    return joined


def _stream_key(device: torch.device) -> str:
    """Where a run alone keeps the stream its draws come from: torch's CPU stream, or the CUDA one on a GPU."""
    return "cuda" if device.type == "cuda" else "torch"


def _member_rng(stream: Tensor, seed: int, device: torch.device) -> dict:
    """Member k's RNG states as its seed alone would have them: its draws' stream where that run keeps it; on a GPU
    the CPU stream as training leaves it there, untouched since it was seeded when training started."""
    if device.type != "cuda":
        return {"torch": stream}
    return {"cuda": stream, "torch": torch.Generator().manual_seed(seed).get_state()}


def _per_parameter(value) -> bool:
    """An optimizer's per-parameter tensor (Adam's moments, a momentum buffer), not a shared scalar (its step)."""
    return isinstance(value, Tensor) and value.dim() > 0


def _optimizer_rows(state: dict, k: int, count: int, shapes: list[torch.Size]) -> dict:
    return {"param_groups": state["param_groups"],
            "state": {i: {name: v.reshape(count, *shapes[i])[k].clone() if _per_parameter(v) else v
                          for name, v in entry.items()} for i, entry in state["state"].items()}}


def _optimizer_stacked(states: list[dict], shapes: list[torch.Size]) -> dict:
    first = states[0]["state"]
    return {"param_groups": states[0]["param_groups"],
            "state": {i: {name: torch.stack([s["state"][i][name] for s in states]).reshape(shapes[i])
                          if _per_parameter(v) else v for name, v in entry.items()} for i, entry in first.items()}}
