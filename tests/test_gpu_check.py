"""The prepared GPU job (`nbs/benchmarks/gpu_check.py`) end to end on the CPU, on a slice of CIFAR-10 in the official archive format.

`--smoke` runs every step the GPU job runs (the bench, each method's fast preset through `train_for`, the final evaluation of
every image, the figure, the archive of the runs, the summary JSON) with a tiny CNN; its numbers say nothing, so only their shape and
sanity are checked. The device tool brings back at most 8 files, so the job must write no more."""
import json, os, pickle, subprocess, sys, tarfile
import numpy as np
from conftest import REPO

METHODS = ["cc", "sacc"]   # two of the five (the job gives each an equal share); the bench smoke test and 06_engine cover the others
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_cifar10_slice(folder, per_batch=40):
    "The official cifar-10-batches-py layout with `per_batch` images in each of the five train batches and the test batch."
    d = folder/"cifar-10-batches-py"; d.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        labels = rng.integers(0, 10, per_batch)
        # images that differ by class (a coloured band) so that the methods have something to find
        data = rng.integers(0, 64, (per_batch, 3, 32, 32), dtype=np.uint8)
        for i, c in enumerate(labels): data[i, c % 3, 3 * c:3 * c + 3] = 255
        (d/name).write_bytes(pickle.dumps({"batch_label": name, "data": data.reshape(per_batch, -1), "labels": labels.tolist()}, protocol=2))
    (d/"batches.meta").write_bytes(pickle.dumps({"label_names": CLASSES, "num_vis": 3072}, protocol=2))
    return folder


def test_gpu_job_runs_on_a_cpu_slice(tmp_path):
    data, out = write_cifar10_slice(tmp_path/"cifar10"), tmp_path/"out"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, str(REPO/"nbs"/"benchmarks"/"gpu_check.py"), "--smoke", "--data", str(data), "--out", str(out),
                        "--budget-minutes", "2.5", "--methods", ",".join(METHODS)], cwd=REPO, capture_output=True, text=True, timeout=600, env=env)
    assert r.returncode == 0, f"{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    files = sorted(p.name for p in out.iterdir())
    assert files == ["bench.json", "bench.md", "gpu_slice.json", "gpu_slice.png", "runs.tar.gz"], files
    assert len(files) <= 8 and all(p.is_file() for p in out.iterdir())

    summary = json.loads((out/"gpu_slice.json").read_text())
    assert summary["errors"] == {} and summary["smoke"] and summary["n_images"] == 240 and summary["files"] == files
    assert sorted(summary["runs"]) == METHODS
    for method, run in summary["runs"].items():
        assert run["epochs"] >= 1 and run["images_per_s"] > 0 and run["protocol_hours"] > 0, (method, run)
        assert 0 <= run["metrics"]["nmi"] <= 1 and 0 <= run["metrics"]["acc"] <= 1, (method, run["metrics"])
        assert run["config"]["eval_subset"] == 64 and run["config"]["backbone"] == "tiny"
        images = [c["images"] for c in run["curve"]]   # during training the fixed sample; the last epoch of the run (2 here) all images
        assert run["curve"][0]["epoch"] == 0 and images == [64] * (len(images) - 1) + [240], images
    bench = json.loads((out/"bench.json").read_text())
    assert {row["method"] for row in bench["rows"]} == set(METHODS)

    with tarfile.open(out/"runs.tar.gz") as tf: names = set(tf.getnames())
    for method in METHODS:
        assert {f"{method}/history.json", f"{method}/train.json", f"{method}/provenance.json"} <= names, sorted(names)
    assert not any(n.endswith(".pt") for n in names)   # no weights: the archive must stay small
