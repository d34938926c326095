"""The GPU check of issue 5 as one prepared job: the throughput bench, then CC's `fast` preset on CIFAR-10 for a wall-clock budget.

On a machine with one GPU, from the repository root (the library is imported from this checkout, not installed; python3 needs torch,
torchvision, numpy, scipy, scikit-learn, Pillow and tqdm, no fastcore, DVC or nbdev):

    python3 nbs/benchmarks/gpu_check.py --data .devdata/cifar10 --out "$OUT"

1. `bench.run_bench`: every contrastive method at 32 px (CIFAR stem) and 224 px (ImageNet stem, the papers' protocol), ResNet-34, batch 256:
   the ceiling, ours (the engine end to end) and the papers' PIL pipeline with 8 DataLoader workers -> bench.json, bench.md;
2. `bench.train_for`: CC's `fast` preset on CIFAR-10 for what the budget leaves (`--budget-minutes` for the whole job, or `--train-minutes`),
   compilation, evaluation and checkpoints included, then the final checkpoint evaluated -> train_cc_fast.json;
3. gpu_check.json: the issue's acceptance numbers as measured, each next to its target, and the extrapolated duration of the 1000-epoch protocol.

The job ends well inside `--budget-minutes` (the device tool allows 10 minutes per command). Every file goes to --out; copy bench.json and
bench.md into reports/benchmarks/ afterwards.
"""
import argparse, os, shutil, sys, tempfile, time, traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import torch
from deepclust_nb.core import RunConfig, write_json, provenance, get_device
from deepclust_nb.data import load
from deepclust_nb.methods.cc import CC
from deepclust_nb.bench import BenchSettings, run_bench, train_for

# the targets: speed targets live here, in the benchmark that measures them
TARGETS = {"ours / ceiling at 224 px": 0.9, "ours / papers' pipeline at 224 px": 4.0, "ours / ceiling at 32 px": 0.9,
           "NMI of CC's fast preset": 0.60}
SAFETY_S = 30   # left unused at the end of the budget: writing the results, the interpreter's exit


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder with CIFAR-10 (the .npz copies of shared/datasets/cifar10, or the official archive)")
    p.add_argument("--out", required=True, help="folder for the results (on the device machine: $OUT)")
    p.add_argument("--phases", default="bench,train", help="comma-separated: bench, train (default: both)")
    p.add_argument("--budget-minutes", type=float, default=9.0, help="wall-clock budget of the whole job; training gets what the bench leaves")
    p.add_argument("--train-minutes", type=float, help="a fixed training budget instead of what the bench leaves")
    p.add_argument("--methods", help="comma-separated methods to bench (default: every contrastive method)")
    p.add_argument("--sizes", default="32,224", help="input protocols SIZE[:STEM] to bench (default: 32,224)")
    p.add_argument("--backbone", default="resnet34", help="backbone of the bench (default: resnet34)")
    p.add_argument("--batch-size", type=int, default=256, help="batch size of the bench (default: 256)")
    p.add_argument("--workers", type=int, default=8, help="DataLoader workers of the papers' pipeline (default: 8)")
    p.add_argument("--window-s", type=float, default=2.0, help="seconds per timed window of the bench (default: 2)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model in the bench and in training")
    p.add_argument("--eval-every", type=int, default=10, help="epochs between evaluations (and checkpoints) of the training run (default: 10)")
    p.add_argument("--n-images", type=int, help="use the first N images only, for a dry run of this script on a CPU (default: all 60,000)")
    return p.parse_args(argv)


def row_of(bench, method, size):
    return next((r for r in bench["rows"] if r["method"] == method and r["image_size"] == size), None)


def checks(bench, train):
    "Each acceptance number of the issue as measured, with its target, per method where the issue names none."
    out = []
    def add(name, method, value):
        out.append(dict(check=name, method=method, measured=value, target=TARGETS[name],
                        passed=None if value is None else bool(value >= TARGETS[name])))
    for r in (bench or {}).get("rows", []):
        if r["image_size"] == 224:
            add("ours / ceiling at 224 px", r["method"], r["ours_over_ceiling"])
            add("ours / papers' pipeline at 224 px", r["method"], r["ours_over_papers"])
        elif r["image_size"] == 32:
            add("ours / ceiling at 32 px", r["method"], r["ours_over_ceiling"])
    if train: add("NMI of CC's fast preset", "cc", train["metrics"].get("nmi"))
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if not phases <= {"bench", "train"}: raise SystemExit(f"unknown phase(s) {sorted(phases - {'bench', 'train'})}; accepted: bench, train")
    device = get_device("auto")
    shm = f"{shutil.disk_usage('/dev/shm').free / 2**30:.1f} GiB" if Path("/dev/shm").exists() else "none"
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, "
          f"{len(os.sched_getaffinity(0))} CPU cores, /dev/shm free {shm} (the papers' DataLoader workers pass batches through it)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    data = load("cifar10", source=args.data, root=work/"data")   # decoded once into a private cache
    if args.n_images: data = data.subset(slice(0, args.n_images))
    print(f"{data} loaded in {time.perf_counter() - t0:.0f} s", flush=True)

    bench, train, errors = None, None, {}
    if "bench" in phases:
        try:
            settings = BenchSettings(methods=args.methods, sizes=args.sizes, backbone=args.backbone, batch_size=args.batch_size,
                                     dataset="cifar10", workers=args.workers, window_s=args.window_s, compile=args.compile)
            bench = run_bench(settings, out/"bench.json", data=data, log=lambda line: print(line, flush=True))
            print(f"bench done in {bench['wall_time_s']:.0f} s", flush=True)
        except Exception as e:   # go on to the training: one failed phase must not cost the other
            errors["bench"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()

    if "train" in phases:
        minutes = args.train_minutes or (60 * args.budget_minutes - (time.perf_counter() - t0) - SAFETY_S) / 60
        if minutes < (args.train_minutes or 1):
            errors["train"] = f"no time left to train ({minutes:.1f} min); give --train-minutes or a larger --budget-minutes"
            print(errors["train"], flush=True)
        else:
            try:
                cfg = RunConfig.from_dict({**CC.presets["fast"], "method": "cc", "dataset": "cifar10", "compile": args.compile})
                print(f"training CC's fast preset for {minutes:.1f} min", flush=True)
                train = train_for(cfg, work/"cc-fast", data, minutes, eval_every=args.eval_every)
                write_json(out/"train_cc_fast.json", train)
                print(f"CC fast: {train['epochs']} epochs in {train['wall_time_s']:.0f} s, NMI {train['metrics']['nmi']:.4f}, "
                      f"ACC {train['metrics']['acc']:.4f}, ARI {train['metrics']['ari']:.4f}", flush=True)
            except Exception as e:
                errors["train"] = f"{type(e).__name__}: {e}"
                traceback.print_exc()

    protocol = {f"{r['method']} at {r['image_size']} px ({r['backbone']}, batch {r['batch_size']})": r.get("protocol_hours")
                for r in (bench or {}).get("rows", [])}
    if train: protocol[f"cc fast preset at 32 px ({train['config']['backbone']}, evaluation every {args.eval_every} epochs included)"] = train["protocol_hours"]
    summary = dict(provenance=provenance(device), wall_time_s=time.perf_counter() - t0, phases=sorted(phases), errors=errors,
                   checks=checks(bench, train), protocol_1000_epochs_hours=protocol,
                   cc_fast=None if train is None else dict(minutes=train["minutes"], wall_time_s=train["wall_time_s"], epochs=train["epochs"],
                                                           images_per_s=train["images_per_s"], epoch_cost_s=train["epoch_cost_s"],
                                                           metrics=train["metrics"]),
                   files=sorted(p.name for p in out.iterdir()))
    write_json(out/"gpu_check.json", summary)
    for c in summary["checks"]:
        print(f"{c['check']:<36} {c['method']:<7} measured {c['measured'] if c['measured'] is None else round(c['measured'], 3)}, "
              f"target {c['target']}: {'ok' if c['passed'] else 'NOT MET' if c['passed'] is False else 'not measured'}")
    print(f"done in {summary['wall_time_s']:.0f} s; results in {out}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
