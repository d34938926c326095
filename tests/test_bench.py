"""The throughput bench: its CPU smoke mode end to end through `deepclust bench`, and its DVC stage kept out of the main pipeline.

The smoke mode runs every code path (ceiling, the engine, the papers' PIL pipeline with one worker process, JSON and table) for every contrastive
method in seconds; its numbers say nothing about speed, so nothing here checks them beyond being positive."""
import json, os, subprocess
from conftest import REPO, BIN

CONTRASTIVE = {"cc", "cdec", "sacc", "cdc", "simclr"}

def test_bench_smoke(tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}   # tiny models: more threads than free cores only slow them down
    r = subprocess.run([str(BIN/"deepclust"), "bench", "--smoke", "--strict", "--out", str(tmp_path/"bench.json")],
                       cwd=REPO, capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, f"deepclust bench --smoke failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}"
    result = json.loads((tmp_path/"bench.json").read_text())
    rows = result["rows"]
    methods = {row["method"] for row in rows}
    assert methods >= CONTRASTIVE and "jule" not in methods, methods   # JULE runs its own loop: no training step to time
    for row in rows:
        for part in ("ceiling", "ours", "papers"):
            assert row[part]["images_per_s"] > 0 and row[part]["step_time_s"] > 0, (row["method"], part, row[part])
        assert row["papers"]["workers"] == 1 and 0 <= row["papers"]["data_wait_fraction"] <= 1
        assert row["ours_over_ceiling"] > 0 and row["ours_over_papers"] > 0 and row["protocol_hours"] > 0
    assert {"git_commit", "torch", "device"} <= set(result["provenance"])
    table = (tmp_path/"bench.md").read_text().splitlines()
    assert len(table) == len(rows) + 2 and table[0].startswith("| method | size | stem |")

def _dvc(*args, cwd):
    r = subprocess.run([str(BIN/"dvc"), *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout

def test_bench_stage_is_outside_the_main_pipeline():
    "benchmarks/ is a DVC project of its own: the top level (`dvc repro`, `dvc status`) never sees its stage; `cd benchmarks && dvc repro` runs it."
    assert (REPO/"benchmarks"/".dvc"/"config").is_file()
    assert "bench" not in _dvc("stage", "list", "--all", "--name-only", cwd=REPO).split()
    assert _dvc("stage", "list", "--name-only", cwd=REPO/"benchmarks").split() == ["bench"]
