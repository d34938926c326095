"A training process killed with SIGKILL after epoch k and started again ends exactly like an uninterrupted run."
import json, os, signal, subprocess, time
import torch
from conftest import BIN

ARGS = ["train", "--method", "simclr", "--dataset", "digits", "--backbone", "tiny", "--image-size", "8",
        "--epochs", "4", "--batch-size", "128", "--seed", "3", "--no-progress"]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}  # same thread count in every process

def _run(out, *extra):
    return subprocess.run([str(BIN/"deepclust"), *ARGS, "--out", str(out), *extra], env=ENV, capture_output=True, text=True, timeout=600)

def _epochs_logged(out):
    p = out/"checkpoint.json"
    return json.loads(p.read_text())["epoch"] if p.exists() else 0

def test_kill_and_resume_matches_uninterrupted(tmp_path, isolated_data):
    full = _run(tmp_path/"full")
    assert full.returncode == 0, full.stderr

    proc = subprocess.Popen([str(BIN/"deepclust"), *ARGS, "--out", str(tmp_path/"killed")], env=ENV,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 300
    while _epochs_logged(tmp_path/"killed") < 2 and time.time() < deadline and proc.poll() is None: time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    proc.send_signal(signal.SIGKILL); proc.wait()
    killed_at = _epochs_logged(tmp_path/"killed")
    assert 2 <= killed_at < 4

    resumed = _run(tmp_path/"killed")
    assert resumed.returncode == 0, resumed.stderr
    a = torch.load(tmp_path/"full"/"checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path/"killed"/"checkpoint.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 4 and a["step"] == b["step"]
    for k in a["model"]: assert torch.equal(a["model"][k], b["model"][k]), k
    ma, mb = (json.loads((tmp_path/d/"metrics.json").read_text())["metrics"] for d in ("full", "killed"))
    strip = lambda m: {k: v for k, v in m.items() if not k.endswith("_s")}
    assert strip(ma) == strip(mb)
