"""Two CPU processes (gloo, started by torchrun) train exactly like one process with the doubled batch.

1. For CC, SACC (both objectives), CDEC, CDC and SimCLR, and for the pre-pass losses of CC and SACC, one step of two processes with 16 images
   each gives the loss and the parameter gradients of one process with the 32 images (the engine's DistributedDataParallel wrapper, the
   methods' gathers); without the gathers it does not.
2. A two-process `deepclust train` killed with SIGKILL and started again ends exactly like an uninterrupted two-process run.
3. An error that only rank 0 meets (in `on_main`) is raised on both ranks, which then leave the process group.

Run as a script (`torchrun ... tests/test_distributed.py OUT`), this file is the worker of test 1.

BatchNorm: in the step comparison every module is in eval mode, so BatchNorm uses its running statistics and each image's outputs depend on that
image only; with batch statistics, each process would normalise its own 16 images and one process all 32, a difference by design (see
`nbs/07_distributed.ipynb`; `sync_bn` removes it, on GPUs only)."""
import json, os, signal, subprocess, sys, time
from pathlib import Path
import torch

BIN = Path(sys.executable).parent
PER_RANK, WORLD, K = 16, 2, 10
CASES = {  # name -> (method, method_args): every contrastive method, CDC also with the Sinkhorn-balanced categorical part inside the contrast
    "cc": ("cc", {}), "sacc": ("sacc", {}), "cdec": ("cdec", {"init_bn": "eval"}), "cdc": ("cdc", {}),
    "cdc-sinkhorn": ("cdc", {"categorical": "sinkhorn"}), "simclr": ("simclr", {}),
    "sacc-stl10": ("sacc", {"objective": "stl10"}),
    # the pre-pass over unlabelled images (cases ending in "-pre"): the instance terms, the cluster head at weight 0
    "cc-pre": ("cc", {}), "sacc-stl10-pre": ("sacc", {"objective": "stl10"}),
}
METHOD_MODULES = ("cc", "sacc", "cdec", "cdc", "simclr")


def _views(method, cfg):
    "A fixed global batch of 32 digits-sized images and its views, the same in every process (CPU, seeded)."
    g = torch.Generator().manual_seed(1)
    images = torch.randint(0, 256, (PER_RANK * WORLD, 1, 8, 8), dtype=torch.uint8, generator=g)
    torch.manual_seed(2)
    return method.views(images, cfg)


def one_step(case:str, rows:slice) -> dict:
    "Loss parts and parameter gradients of one step of `case` on rows `rows` of the global batch, through the engine's DDP wrapper."
    from torch import nn
    from deepclust_nb.core import RunConfig, set_seed
    from deepclust_nb.engine import make_method
    from deepclust_nb.distributed import data_parallel
    name, args = CASES[case]
    method = make_method(name, args)
    cfg = RunConfig(method=name, backbone="tiny", image_size=8, batch_size=PER_RANK * WORLD, method_args=args)
    views = tuple(v[rows] for v in _views(method, cfg))
    set_seed(0)
    model = method.build_model(cfg, 1, K).eval()   # eval mode: BatchNorm with running statistics (see the module docstring)
    step_model = data_parallel(model, torch.device("cpu"))
    parts = (method.pre_pass_loss if case.endswith("-pre") else method.loss)(step_model, views, cfg)
    parts["loss"].backward()
    return dict(parts={k: v.item() for k, v in parts.items()},
                grads={n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None})


def _fail_on_rank_0():
    from deepclust_nb.engine import CheckpointError
    raise CheckpointError("cannot resume: written by another run")


def _worker(out:Path) -> None:
    "Rank r's steps of every case, with the methods' gathers and, as a control, with them switched off; then an error on rank 0."
    import importlib
    from deepclust_nb.engine import CheckpointError
    from deepclust_nb.distributed import process_group, rank, rank_slice, on_main, in_group
    r, error = int(os.environ["RANK"]), None
    try:
        with process_group("cpu"):
            rows = rank_slice(PER_RANK * WORLD)
            results = {case: one_step(case, rows) for case in CASES}
            modules = [importlib.import_module(f"deepclust_nb.methods.{m}") for m in METHOD_MODULES]
            for m in modules: m.global_batch = lambda x: x   # what a port without all_gather computes
            results_no_gather = {case: one_step(case, rows) for case in CASES}
            on_main(_fail_on_rank_0)
    except CheckpointError as e: error = str(e)
    torch.save(dict(gathered=results, not_gathered=results_no_gather, error=error, left_group=not in_group()), out/f"rank{r}.pt")


def _torchrun(nproc:int, *cmd:str) -> list[str]:
    return [str(BIN/"torchrun"), "--standalone", f"--nproc_per_node={nproc}", *cmd]


def _env(**extra) -> dict:
    return {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONFAULTHANDLER": "1", **extra}   # a crash prints its Python stack


def _max_rel(a:torch.Tensor, b:torch.Tensor) -> float:
    return float((a - b).abs().max() / b.abs().max().clamp_min(1e-12))


def test_two_processes_equal_one_process_with_the_doubled_batch(tmp_path):
    r = subprocess.run(_torchrun(WORLD, __file__, str(tmp_path)), env=_env(), capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-4000:]
    ranks = [torch.load(tmp_path/f"rank{i}.pt", weights_only=False) for i in range(WORLD)]
    for case in CASES:
        single = one_step(case, slice(None))   # one process, all 32 images
        for i, got in enumerate(ranks):
            g = got["gathered"][case]
            for k, v in single["parts"].items():
                assert abs(g["parts"][k] - v) <= 1e-5 * max(1.0, abs(v)), f"{case} rank {i}: {k} {g['parts'][k]} != {v}"
            assert g["grads"].keys() == single["grads"].keys(), case
            for n, ref in single["grads"].items():
                assert _max_rel(g["grads"][n], ref) < 1e-4, f"{case} rank {i}: gradient of {n} differs by {_max_rel(g['grads'][n], ref):.2e}"
        # the control: without the gathers, each rank computes its own 16-image loss, and neither the loss nor the gradients match
        control = ranks[0]["not_gathered"][case]
        assert abs(control["parts"]["loss"] - single["parts"]["loss"]) > 1e-3, f"{case}: the loss does not depend on the gather"
        assert max(_max_rel(control["grads"][n], ref) for n, ref in single["grads"].items()) > 1e-2, case
    for got in ranks:   # rank 0's error reached rank 1 too, and both left the group on the way out
        assert got["error"] == "cannot resume: written by another run" and got["left_group"]


# ---- kill and resume, as tests/test_resume.py, with two processes
ARGS = ["train", "--method", "cc", "--preset", "digits", "--epochs", "4", "--batch-size", "128", "--seed", "3", "--no-progress"]


def _train(out:Path, *extra:str) -> list[str]:
    return _torchrun(WORLD, "--no-python", str(BIN/"deepclust"), *ARGS, "--out", str(out), *extra)


def _epochs_logged(out:Path) -> int:
    p = out/"checkpoint.json"
    try: return json.loads(p.read_text())["epoch"] if p.exists() else 0
    except json.JSONDecodeError: return 0


def test_two_process_kill_and_resume_matches_uninterrupted(tmp_path, isolated_data):
    from deepclust_nb.data import load
    load("digits")   # prepare the dataset once, before the processes that all read it
    env = _env()
    full = subprocess.run(_train(tmp_path/"full"), env=env, capture_output=True, text=True, timeout=600)
    assert full.returncode == 0, full.stderr[-4000:]

    # the whole job (torchrun and both ranks) is killed at once, as when a node or a SLURM allocation goes away
    proc = subprocess.Popen(_train(tmp_path/"killed"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 300
    while _epochs_logged(tmp_path/"killed") < 2 and time.time() < deadline and proc.poll() is None: time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make it longer"
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    killed_at = _epochs_logged(tmp_path/"killed")
    assert 2 <= killed_at < 4

    resumed = subprocess.run(_train(tmp_path/"killed"), env=env, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    a = torch.load(tmp_path/"full"/"checkpoint.pt", weights_only=False)
    b = torch.load(tmp_path/"killed"/"checkpoint.pt", weights_only=False)
    assert a["epoch"] == b["epoch"] == 4 and a["step"] == b["step"] and a["world_size"] == b["world_size"] == WORLD
    assert len(a["rng_other_ranks"]) == WORLD - 1
    for k in a["model"]: assert torch.equal(a["model"][k], b["model"][k]), k
    ma, mb = (json.loads((tmp_path/d/"metrics.json").read_text()) for d in ("full", "killed"))
    strip = lambda m: {k: v for k, v in m.items() if not k.endswith("_s")}
    assert strip(ma["metrics"]) == strip(mb["metrics"]) and ma["world_size"] == WORLD
    epochs = [json.loads(line)["epoch"] for line in (tmp_path/"killed"/"metrics.jsonl").read_text().splitlines()]
    assert epochs == [0, 1, 2, 3, 4], epochs   # rank 0 alone writes the log: one line per epoch
    assert json.loads((tmp_path/"full"/"provenance.json").read_text())["distributed"]["world_size"] == WORLD


if __name__ == "__main__":
    _worker(Path(sys.argv[1]))
