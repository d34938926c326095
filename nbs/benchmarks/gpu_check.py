"""The prepared GPU job: the throughput bench, then every contrastive method's `fast` preset on CIFAR-10, each for an equal share of the time.

On a machine with one GPU, from the repository root (the library is imported from this checkout, not installed; python3 needs torch,
torchvision, numpy, scipy, scikit-learn, Pillow, matplotlib and tqdm, no fastcore, DVC or nbdev):

    python3 nbs/benchmarks/gpu_check.py --data .devdata/cifar10 --out "$OUT"

Inside `--budget-minutes` (default 9; the device tool allows 10 per command and brings back at most 8 files):
1. bench (`bench.run_bench`, at most `--bench-minutes`): every contrastive method at 32 px (CIFAR stem) and 224 px (ImageNet stem, the
   papers' protocol), ResNet-34, batch 256: the ceiling, ours (the engine end to end) and the papers' PIL pipeline -> bench.json, bench.md;
2. train (`bench.train_for`): each method's `fast` preset (ResNet-18 at 32 px; a fixed sample of 10,000 images evaluated every 5 epochs)
   for an equal share of what the bench left, through `fit`'s stop and resume, then its last checkpoint evaluated on all 60,000 images
   (`engine.evaluate_checkpoint`);
3. gpu_slice.json (everything measured: provenance, the bench's checks against their targets, each method's epochs, speed, final metrics
   and curve), gpu_slice.png (NMI over epochs and training speed, per method) and runs.tar.gz (each run's metrics.jsonl, history.json,
   provenance.json, checkpoint.json and train.json; no weights).

Keep the results: copy the files into reports/gpu_slice/ and unpack runs.tar.gz there (`tar xzf runs.tar.gz -C reports/gpu_slice`).
`--smoke` runs every step on the CPU in seconds (the bench's smoke settings, a tiny CNN, small batches), for CI; its numbers mean nothing.
"""
import argparse, os, shutil, sys, tarfile, tempfile, time, traceback
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

import torch
from deepclust_nb.core import RunConfig, write_json, provenance, get_device
from deepclust_nb.data import load
from deepclust_nb.engine import make_method
from deepclust_nb.bench import BenchSettings, SMOKE, contrastive_methods, run_bench, train_for

# the bench's targets (issue 5): speed targets live here, in the benchmark that measures them
TARGETS = {"ours / ceiling at 224 px": 0.9, "ours / papers' pipeline at 224 px": 4.0, "ours / ceiling at 32 px": 0.9}
SAFETY_S = 30   # left unused at the end of the budget: the figure, the archive, the interpreter's exit
MIN_SHARE_S = 20   # a method whose share is shorter is not started (building, the first epoch and the final evaluation need more)
# --smoke: a tiny CNN on whatever images --data holds; every code path, no meaningful number
SMOKE_TRAIN = dict(backbone="tiny", batch_size=32, epochs=2, eval_subset=64, eval_every=1, device="cpu", precision="fp32", channels_last=False)
RUN_FILES = ("metrics.jsonl", "history.json", "provenance.json", "checkpoint.json", "train.json")


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="folder with CIFAR-10 (the .npz copies of shared/datasets/cifar10, or the official archive)")
    p.add_argument("--out", required=True, help="folder for the results (on the device machine: $OUT)")
    p.add_argument("--phases", default="bench,train", help="comma-separated: bench, train (default: both)")
    p.add_argument("--budget-minutes", type=float, default=9.0, help="wall-clock budget of the whole job (default: 9)")
    p.add_argument("--bench-minutes", type=float, default=1.5, help="the bench starts no row after this (default: 1.5)")
    p.add_argument("--methods", help="comma-separated contrastive methods (default: all of them)")
    p.add_argument("--sizes", default="32,224", help="input protocols SIZE[:STEM] to bench (default: 32,224)")
    p.add_argument("--compile", action="store_true", help="torch.compile the model in the bench and in training")
    p.add_argument("--n-images", type=int, help="use the first N images only (default: all 60,000)")
    p.add_argument("--smoke", action="store_true", help="every step on the CPU in seconds, with tiny models (CI); the numbers mean nothing")
    return p.parse_args(argv)


def checks(bench):
    "Each speed target of the bench as measured, per method."
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
    return out


def fast_config(method:str, smoke:bool, compile:bool) -> RunConfig:
    "The method's `fast` preset on CIFAR-10 (with --smoke: a tiny CNN on the CPU)."
    preset = make_method(method).preset_for("fast", "cifar10")
    return RunConfig.from_dict({**preset, "method": method, "dataset": "cifar10", "compile": compile, **(SMOKE_TRAIN if smoke else {})})


def train_all(methods, data, work:Path, seconds_left, smoke:bool, compile:bool, errors:dict) -> dict:
    "Each method's fast preset for an equal share of the time left (a method that ends early leaves its rest to the others)."
    results = {}
    for i, method in enumerate(methods):
        share = seconds_left() / (len(methods) - i)
        if share < MIN_SHARE_S:
            errors[f"train {method}"] = f"not started: its share of the time left was {share:.0f} s (needs {MIN_SHARE_S} s)"
            print(errors[f"train {method}"], flush=True)
            continue
        try:
            cfg = fast_config(method, smoke, compile)
            print(f"{method}: fast preset for {share / 60:.1f} min ({cfg.backbone}, batch {cfg.batch_size}, {cfg.image_size} px)", flush=True)
            res = train_for(cfg, work/method, data, share / 60, eval_every=cfg.eval_every)
            write_json(work/method/"train.json", res)
            results[method] = res
            m = res["metrics"]
            print(f"{method}: {res['epochs']} epochs in {res['wall_time_s']:.0f} s, {res['images_per_s']:,.0f} img/s; "
                  f"all {len(data):,} images: NMI {m['nmi']:.4f}, ACC {m['acc']:.4f}, ARI {m['ari']:.4f}", flush=True)
        except Exception as e:   # the next method still gets its share
            errors[f"train {method}"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
    return results


def plot(results:dict, path:Path, title:str) -> None:
    "NMI over epochs (sample evaluations, and the final evaluation of every image as a star) and training speed, per method."
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(11, 4), gridspec_kw=dict(width_ratios=[3, 2]))
    for i, (method, res) in enumerate(results.items()):
        color = f"C{i}"
        curve = res["curve"]
        ax.plot([c["epoch"] for c in curve], [c["nmi"] for c in curve], "o-", color=color, ms=3, label=method)
        ax.plot([res["evaluated_epoch"]], [res["metrics"]["nmi"]], "*", color=color, ms=12)
        bx.bar(i, res["images_per_s"], color=color)
        bx.text(i, res["images_per_s"], f"{res['epochs']} ep", ha="center", va="bottom", fontsize=8)
    ax.set(xlabel="epoch", ylabel="NMI", title="NMI (dots: the fixed sample; stars: all images)", ylim=(0, 1))
    if results: ax.legend(frameon=False)
    bx.set_xticks(range(len(results)), list(results))
    bx.set(ylabel="training images / s", title="training speed (epochs done above)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def archive_runs(work:Path, methods, path:Path) -> None:
    "Each run's logs and summaries (no weights) in one archive, `METHOD/FILE`."
    with tarfile.open(path, "w:gz") as tf:
        for method in methods:
            for name in RUN_FILES:
                if (f := work/method/name).exists(): tf.add(f, arcname=f"{method}/{name}")


def main(argv=None) -> int:
    args = parse_args(argv)
    t0 = time.perf_counter()
    seconds_left = lambda: 60 * args.budget_minutes - (time.perf_counter() - t0) - SAFETY_S
    out = Path(args.out); out.mkdir(parents=True, exist_ok=True)
    phases = {p.strip() for p in args.phases.split(",") if p.strip()}
    if not phases <= {"bench", "train"}: raise SystemExit(f"unknown phase(s) {sorted(phases - {'bench', 'train'})}; accepted: bench, train")
    methods = [m.strip() for m in args.methods.split(",")] if args.methods else contrastive_methods()
    if unknown := sorted(set(methods) - set(contrastive_methods())):
        raise SystemExit(f"unknown method(s) {unknown}; accepted: {', '.join(contrastive_methods())}")
    device = get_device("cpu" if args.smoke else "auto")
    shm = f"{shutil.disk_usage('/dev/shm').free / 2**30:.1f} GiB" if Path("/dev/shm").exists() else "none"
    print(f"torch {torch.__version__}, device {torch.cuda.get_device_name(device) if device.type == 'cuda' else 'cpu'}, "
          f"{len(os.sched_getaffinity(0))} CPU cores, /dev/shm free {shm} (the papers' DataLoader workers pass batches through it)", flush=True)
    work = Path(tempfile.mkdtemp(prefix="gpu-check-"))
    data = load("cifar10", source=args.data, root=work/"data")   # decoded once into a private cache
    if args.n_images: data = data.subset(slice(0, args.n_images))
    print(f"{data} loaded in {time.perf_counter() - t0:.0f} s", flush=True)

    bench, results, errors = None, {}, {}
    if "bench" in phases:
        try:
            settings = BenchSettings(**{**SMOKE, "methods": methods}) if args.smoke else BenchSettings(methods=methods, sizes=args.sizes, dataset="cifar10",
                                                                                 compile=args.compile)
            bench = run_bench(settings, out/"bench.json", data=None if args.smoke else data, minutes=args.bench_minutes,
                              log=lambda line: print(line, flush=True))
            print(f"bench done in {bench['wall_time_s']:.0f} s", flush=True)
        except Exception as e:   # go on to the training: one failed phase must not cost the other
            errors["bench"] = f"{type(e).__name__}: {e}"
            traceback.print_exc()
    if "train" in phases:
        results = train_all(methods, data, work, seconds_left, args.smoke, args.compile, errors)
        archive_runs(work, results, out/"runs.tar.gz")
        plot(results, out/"gpu_slice.png", f"fast presets on {data.name} ({len(data):,} images), "
                                           f"{torch.cuda.get_device_name(device) if device.type == 'cuda' else 'CPU'}")

    summary = dict(provenance=provenance(device), wall_time_s=time.perf_counter() - t0, budget_minutes=args.budget_minutes,
                   phases=sorted(phases), smoke=args.smoke, dataset=data.name, variant=data.variant, n_images=len(data), errors=errors,
                   checks=checks(bench), bench_complete=None if bench is None else bench["complete"],
                   runs={m: dict(config=r["config"], minutes=r["minutes"], wall_time_s=r["wall_time_s"], epochs=r["epochs"],
                                 images_per_s=r["images_per_s"], epoch_cost_s=r["epoch_cost_s"], eval_time_s=r["eval_time_s"],
                                 metrics=r["metrics"], evaluated_epoch=r["evaluated_epoch"], curve=r["curve"],
                                 protocol_hours=r["protocol_hours"], protocol_epochs=r["protocol_epochs"])
                         for m, r in results.items()})
    summary["files"] = sorted({p.name for p in out.iterdir()} | {"gpu_slice.json"})
    write_json(out/"gpu_slice.json", summary)
    for c in summary["checks"]:
        print(f"{c['check']:<36} {c['method']:<7} measured {c['measured'] if c['measured'] is None else round(c['measured'], 3)}, "
              f"target {c['target']}: {'ok' if c['passed'] else 'NOT MET' if c['passed'] is False else 'not measured'}")
    print(f"done in {summary['wall_time_s']:.0f} s; results in {out}", flush=True)
    shutil.rmtree(work, ignore_errors=True)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
