"""Benchmark: the distributed path costs nothing in a job of one process (issue 6's acceptance on a GPU).

The same training run (`engine.fit` on a synthetic, GPU-resident dataset) is started as a plain process and under `torchrun --nproc_per_node=1`,
alternately (plain, torchrun, plain, torchrun, ...), each in a fresh process; the training throughput of the two must agree within 5 %.
It also records the peak GPU memory of each run, and a second workload measures one GPU's share of the ImageNet-1k guide's job (CDC-R,
ResNet-50, 224 px views, 256 images per GPU) to check the guide's memory and time estimates (`nbs/07_distributed.ipynb`).

Throughput is the engine's per-epoch `images_per_s` (training steps only, evaluation excluded), the median over the epochs after the first
(the first pays for cuDNN autotuning and the allocator's warm-up); the ratio is torchrun's median over plain's median of the per-run values.

Usage, from the repository root:

    python nbs/benchmarks/ddp_overhead.py                                   # GPU: both workloads, writes reports/benchmarks/ddp_overhead.json
    python nbs/benchmarks/ddp_overhead.py --workloads cc-cifar --repeats 3
    python nbs/benchmarks/ddp_overhead.py --smoke --out /tmp/ddp_smoke.json   # CPU smoke test of the script itself (tiny model, seconds)

A CPU smoke run proves only that the script works: its throughputs are not the acceptance measurement.
"""
from __future__ import annotations
import argparse, json, os, shutil, statistics, subprocess, sys, tempfile, time
from pathlib import Path

HERE = Path(__file__).resolve()
TOLERANCE = 0.05   # issue 6: the same throughput within 5 %

# name -> (RunConfig fields, synthetic dataset: images, channels, side, classes)
WORKLOADS = {
    # CC on CIFAR-sized data at native resolution: STYLE.md 6.3's ResNet-18 row (23.5k images/s on an H100 in the project's earlier measurement)
    "cc-cifar": (dict(method="cc", backbone="resnet18", stem="cifar", image_size=32, batch_size=512, epochs=5),
                 dict(n=50_000, channels=3, side=32, classes=10)),
    # one GPU's share of the ImageNet-1k guide: CDC-R, ResNet-50, 224 px views of 64-px images, 256 images per GPU, K = 1000
    "cdc-imagenet1k-gpu-share": (dict(method="cdc", backbone="resnet50", stem="imagenet", image_size=224, batch_size=256, epochs=3,
                                      n_clusters=1000, method_args=dict(jitter_strength=1.0, blur=True)),
                                 dict(n=12_800, channels=3, side=64, classes=1000)),
    # the CPU smoke test
    "smoke": (dict(method="cc", backbone="tiny", stem="cifar", image_size=8, batch_size=256, epochs=3, device="cpu"),
              dict(n=2048, channels=1, side=8, classes=10)),
}
COMMON = dict(eval_every=0, checkpoint_every=0, seed=0)   # evaluation only at epochs 0 and last, one checkpoint: training dominates


def worker(workload:str, out_dir:Path) -> None:
    "One run of `workload` in this process (plain, or one rank under torchrun); writes out_dir/result.json."
    import torch
    from deepclust_nb.core import RunConfig, write_json
    from deepclust_nb.data import ImageDataset
    from deepclust_nb.engine import fit, MetricsLog
    from deepclust_nb.distributed import launched
    fields, spec = WORKLOADS[workload]
    g = torch.Generator().manual_seed(0)
    data = ImageDataset(torch.randint(0, 256, (spec["n"], spec["channels"], spec["side"], spec["side"]), dtype=torch.uint8, generator=g),
                        torch.arange(spec["n"]) % spec["classes"], [str(k) for k in range(spec["classes"])], "synthetic",
                        variant=f"uniform random uint8, {spec['n']} x {spec['channels']} x {spec['side']}^2")
    cfg = RunConfig.from_dict({**COMMON, **fields, "dataset": "synthetic"})
    if torch.cuda.is_available(): torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    summary = fit(cfg, out_dir, data=data, resume=False, progress=False)
    wall = time.perf_counter() - t0
    rates = [r["images_per_s"] for r in MetricsLog(out_dir).records if r["epoch"] >= 1]
    prov = json.loads((out_dir/"provenance.json").read_text())
    write_json(out_dir/"result.json", dict(
        workload=workload, launched_by_torchrun=launched(), distributed=prov["distributed"], device=prov["device"],
        device_name=prov["device_name"], torch=prov["torch"], precision=summary["precision"], config=cfg.to_dict(),
        images_per_s_per_epoch=rates, images_per_s=statistics.median(rates[1:] if len(rates) > 1 else rates),
        peak_gpu_memory_gib=torch.cuda.max_memory_allocated() / 2**30 if torch.cuda.is_available() else None,
        fit_wall_s=wall))


def run_once(workload:str, mode:str, root:Path, timeout:int, threads:str) -> dict:
    "A fresh process running `workload`, plain or under torchrun --nproc_per_node=1; its result."
    out = Path(tempfile.mkdtemp(prefix=f"{workload}-{mode}-", dir=root))
    me = [str(HERE), "--worker", workload, str(out)]
    cmd = ([sys.executable, *me] if mode == "plain" else
           [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=1", *me])
    t0 = time.perf_counter()
    # the same thread count in both modes (torchrun alone would set OMP_NUM_THREADS=1 when it is unset)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "OMP_NUM_THREADS": threads})
    if r.returncode != 0:
        raise RuntimeError(f"{mode} run of {workload} failed (exit {r.returncode}):\n{r.stderr[-4000:]}")
    return {**json.loads((out/"result.json").read_text()), "mode": mode, "process_wall_s": time.perf_counter() - t0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--workloads", nargs="+", choices=sorted(WORKLOADS), help="default: cc-cifar and cdc-imagenet1k-gpu-share (GPU) or smoke (--smoke)")
    p.add_argument("--repeats", type=int, default=2, help="plain/torchrun pairs per workload (default 2)")
    p.add_argument("--smoke", action="store_true", help="CPU smoke test of the script: the tiny workload, one pair")
    p.add_argument("--out", default="reports/benchmarks/ddp_overhead.json", help="JSON summary to write")
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per run")
    p.add_argument("--worker", nargs=2, metavar=("WORKLOAD", "DIR"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker(args.worker[0], Path(args.worker[1])); return 0
    import torch
    from deepclust_nb.core import provenance, write_json
    if not args.smoke and not torch.cuda.is_available():
        print("ddp_overhead: no CUDA GPU visible; the acceptance check needs one (use --smoke to test the script on the CPU)", file=sys.stderr)
        return 2
    workloads = args.workloads or (["smoke"] if args.smoke else ["cc-cifar", "cdc-imagenet1k-gpu-share"])
    repeats = 1 if args.smoke else args.repeats
    root = Path(tempfile.mkdtemp(prefix="ddp_overhead_"))
    threads = os.environ.get("OMP_NUM_THREADS", "1" if args.smoke else "4")
    results = {}
    for w in workloads:
        runs = [run_once(w, mode, root, args.timeout, threads) for _ in range(repeats) for mode in ("plain", "torchrun")]
        plain = statistics.median(r["images_per_s"] for r in runs if r["mode"] == "plain")
        ddp = statistics.median(r["images_per_s"] for r in runs if r["mode"] == "torchrun")
        ratio = ddp / plain
        results[w] = dict(plain_images_per_s=plain, torchrun_images_per_s=ddp, ratio=ratio, within_tolerance=abs(ratio - 1) <= TOLERANCE,
                          peak_gpu_memory_gib=max((r["peak_gpu_memory_gib"] or 0) for r in runs) or None, runs=runs)
        print(f"{w}: plain {plain:,.0f} images/s, torchrun --nproc_per_node=1 {ddp:,.0f} images/s, ratio {ratio:.3f} "
              f"({'within' if results[w]['within_tolerance'] else 'OUTSIDE'} {TOLERANCE:.0%})"
              + (f", peak GPU memory {results[w]['peak_gpu_memory_gib']:.1f} GiB" if results[w]["peak_gpu_memory_gib"] else ""))
    write_json(args.out, dict(benchmark="ddp_overhead", smoke=args.smoke, tolerance=TOLERANCE, repeats=repeats, omp_num_threads=threads,
                              measured=time.strftime("%Y-%m-%dT%H:%M:%S%z"), environment=provenance(), workloads=results))
    shutil.rmtree(root, ignore_errors=True)   # the runs' folders; what matters is in the summary
    print(f"summary: {args.out}")
    return 0 if all(r["within_tolerance"] for r in results.values()) or args.smoke else 1


if __name__ == "__main__":
    sys.exit(main())
