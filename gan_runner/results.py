"""metrics.json: the one file a run's result lives in, written atomically and read by resume and reports."""
import json
import math
import os
import socket
from collections.abc import Callable
from pathlib import Path

from gan_runner.metrics import directions


def _plain(value):
    """JSON has no NaN or inf: write them as strings so the file stays valid for every reader."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def atomically(path: Path, write: Callable[[Path], None]) -> None:
    """`write(tmp)` into a temporary file beside `path`, then one rename: a crash mid-write never leaves `path` cut
    short. The temporary file is this process's: two writers never share a half-written one."""
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    write(tmp)
    os.replace(tmp, path)


def write(path: Path, result: dict) -> None:
    atomically(path, lambda tmp: tmp.write_text(json.dumps(_plain(result), indent=2)))


def read(path: Path) -> dict | None:
    return json.loads(path.read_text()) if path.exists() else None


def best(history: list[dict], final: dict, objective: str) -> dict:
    """The evaluation with the best objective in its direction (metrics/directions.py), final included."""
    candidates = [h for h in history + [final] if isinstance(h.get(objective), (int, float))
                  and not math.isnan(h[objective])]
    return min(candidates, key=lambda h: directions.rank_key(objective, h[objective])) if candidates else {}


def process_alive(process: dict | None) -> bool:
    """Whether a running job's process still exists; a process on another host (a cluster node) or without a
    record cannot be asked, and counts as alive."""
    if not process or process.get("host") != socket.gethostname():
        return True
    try:
        os.kill(int(process["pid"]), 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True
