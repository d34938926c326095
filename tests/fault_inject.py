"""Run the `deepclust` command with a fault injected at a chosen instant of the K-th checkpoint save (used by test_faults.py).

    python tests/fault_inject.py MODE K -- DEEPCLUST_ARGS...

MODE `mid-write`: the process kills itself with SIGKILL halfway through writing the bytes of checkpoint K;
MODE `after-commit`: it kills itself after checkpoint K's sidecar was replaced (the commit) and before the staged file is renamed.
"""
import io, os, signal, sys

import torch

mode, k = sys.argv[1], int(sys.argv[2])
argv = sys.argv[sys.argv.index("--") + 1:]
saves, real_save, real_replace = [0], torch.save, os.replace

def dying_save(obj, f, *args, **kwargs):
    saves[0] += 1
    if mode != "mid-write" or saves[0] != k: return real_save(obj, f, *args, **kwargs)
    buf = io.BytesIO(); real_save(obj, buf, *args, **kwargs)
    data = buf.getvalue()
    f.write(data[:len(data) // 2]); f.flush(); os.fsync(f.fileno())
    os.kill(os.getpid(), signal.SIGKILL)

def dying_replace(src, dst, *args, **kwargs):
    if mode == "after-commit" and str(src).endswith(".staged") and saves[0] == k: os.kill(os.getpid(), signal.SIGKILL)
    return real_replace(src, dst, *args, **kwargs)

if mode not in ("mid-write", "after-commit"): sys.exit(f"unknown mode {mode!r}; accepted: mid-write, after-commit")
torch.save, os.replace = dying_save, dying_replace
from deepclust_nb.cli import main
sys.exit(main(argv))
