"""What `trainer.accelerator`, `trainer.devices`, `trainer.num_nodes`, `trainer.strategy` and `trainer.precision` ask
for, checked against this machine before any work: one process per device, and the ways of training that are exact;
and the values of the DDP keys `trainer.ddp_timeout_s` and `trainer.sync_batchnorm`.
"""
import math

from lightning.pytorch.accelerators import CUDAAccelerator
from lightning.pytorch.utilities.exceptions import MisconfigurationException
from omegaconf import OmegaConf

from gan_runner.errors import UserError
from gan_runner.precision import SUPPORTED

STRATEGIES = ("auto", "ddp")


def _uses_cuda(accelerator: str) -> bool:
    if accelerator in ("gpu", "cuda"):
        if not CUDAAccelerator.is_available():
            raise UserError(f"trainer.accelerator={accelerator} but this machine has no usable CUDA GPU: use "
                            "trainer.accelerator=cpu (or auto)")
        return True
    if accelerator not in ("auto", "cpu"):
        raise UserError(f"trainer.accelerator={accelerator!r}: choose cpu, gpu or auto")
    return accelerator == "auto" and CUDAAccelerator.is_available()


def processes_per_node(trainer_cfg) -> int:
    """Training processes per node, one per device, as the config asks (whether this machine has them is `check`'s
    business: a SLURM job's devices are on its compute node)."""
    devices = trainer_cfg.devices
    if isinstance(devices, (list, tuple)) or OmegaConf.is_list(devices):
        return len(devices)
    if isinstance(devices, str) and devices not in ("auto", "-1"):
        return len([d for d in devices.split(",") if d.strip()])
    if devices in ("auto", -1, "-1"):
        on_gpus = str(trainer_cfg.accelerator) in ("gpu", "cuda", "auto") and CUDAAccelerator.is_available()
        return max(1, CUDAAccelerator.auto_device_count()) if on_gpus else 1
    return int(devices)


def _check_devices(trainer_cfg) -> None:
    devices = trainer_cfg.devices
    if _uses_cuda(str(trainer_cfg.accelerator)):
        wanted = CUDAAccelerator.auto_device_count() if devices == "auto" else devices
        try:
            ids = CUDAAccelerator.parse_devices(wanted)
        except MisconfigurationException as exc:
            raise UserError(f"trainer.devices={devices}: {str(exc).splitlines()[0]}") from None
        if not ids:
            raise UserError(f"trainer.devices={devices} selects no GPU: pass a number or a list of GPU ids")
    elif devices not in ("auto", -1, "-1") and (not isinstance(devices, int) or isinstance(devices, bool)
                                                or devices < 1):
        raise UserError(f"trainer.devices={devices!r}: on CPU give a number of processes, e.g. trainer.devices=2")


def _check_ddp(trainer_cfg) -> None:
    timeout = trainer_cfg.ddp_timeout_s
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or not 0 < timeout < math.inf:
        raise UserError(f"trainer.ddp_timeout_s={timeout!r}: give the seconds a rank may wait for the others, a number "
                        "> 0 above the time of one evaluation (e.g. 600)")
    if not isinstance(trainer_cfg.sync_batchnorm, bool):
        raise UserError(f"trainer.sync_batchnorm={trainer_cfg.sync_batchnorm!r}: give true or false")


def world_size(trainer_cfg) -> int:
    return processes_per_node(trainer_cfg) * int(trainer_cfg.get("num_nodes", 1))


def check(trainer_cfg) -> None:
    strategy = str(trainer_cfg.get("strategy", "auto"))
    if strategy not in STRATEGIES:
        raise UserError(f"trainer.strategy={strategy} is not supported: several devices train with "
                        "trainer.strategy=ddp (one process per device, gradients averaged by hand)")
    precision = str(trainer_cfg.precision)
    if precision not in SUPPORTED:
        raise UserError(f"trainer.precision={precision} is not supported: choose 32-true, bf16-mixed, or 16-mixed on a "
                        "GPU (half-precision weights round Adam's small updates and the EMA away)")
    cuda = _uses_cuda(str(trainer_cfg.accelerator))
    if precision == "16-mixed" and not cuda:
        raise UserError("trainer.precision=16-mixed needs a GPU: on CPU use trainer.precision=bf16-mixed")
    _check_devices(trainer_cfg)
    _check_ddp(trainer_cfg)
