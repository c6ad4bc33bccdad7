"""What `trainer.accelerator`, `trainer.devices`, `trainer.num_nodes`, `trainer.strategy` and `trainer.precision` ask
for, checked against this machine before any work: one process per device, and the ways of training that are exact.
"""
from lightning.pytorch.accelerators import CPUAccelerator, CUDAAccelerator
from lightning.pytorch.utilities.exceptions import MisconfigurationException

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
    """Training processes per node: one per device."""
    cuda = _uses_cuda(str(trainer_cfg.accelerator))
    devices = trainer_cfg.devices
    if cuda:
        wanted = CUDAAccelerator.auto_device_count() if devices == "auto" else devices
        try:
            ids = CUDAAccelerator.parse_devices(wanted)
        except MisconfigurationException as exc:
            raise UserError(f"trainer.devices={devices}: {str(exc).splitlines()[0]}") from None
        if not ids:
            raise UserError(f"trainer.devices={devices} selects no GPU: pass a number or a list of GPU ids")
        return len(ids)
    if devices in ("auto", -1, "-1"):
        return 1
    if not isinstance(devices, int) or isinstance(devices, bool) or devices < 1:
        raise UserError(f"trainer.devices={devices!r}: on CPU give a number of processes, e.g. trainer.devices=2")
    return CPUAccelerator.parse_devices(devices)


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
    world_size(trainer_cfg)
