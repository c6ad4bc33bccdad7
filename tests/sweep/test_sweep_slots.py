"""The GPU-slot lock itself, under contention: three processes, two slots."""
import json
import subprocess
import sys

CLAIM_TWICE = """
import json, os, sys, time
from pathlib import Path
from gan_runner.sweep.slots import gpu_slot
held = []
for _ in range(2):
    record = {}
    with gpu_slot(Path(sys.argv[1]), 2, record):
        record["seen"] = os.environ["CUDA_VISIBLE_DEVICES"]
        time.sleep(0.3)
    held.append(record)
print(json.dumps(held))
"""


def test_three_processes_share_two_slots_without_overlap(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "CUDA_VISIBLE_DEVICES": "5,7"}  # two GPUs, as a launcher would pass them
    procs = [subprocess.Popen([sys.executable, "-c", CLAIM_TWICE, str(tmp_path)], stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(3)]
    held = [record for p in procs for record in json.loads(p.communicate(timeout=60)[0])]
    assert len(held) == 6
    for record in held:
        assert record["seen"] == record["device"] == ["5", "7"][record["slot"]]
    for slot in (0, 1):
        spans = sorted((r["claimed_at"], r["released_at"]) for r in held if r["slot"] == slot)
        assert all(end < next_start for (_, end), (next_start, _) in zip(spans, spans[1:])), spans
