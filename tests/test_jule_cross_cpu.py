"""nbs/benchmarks/jule_cross_cpu.ipynb on two fake checkouts: which runs it compares, what it counts as bit-identical, and the profile's
wall time from a timestamped `dvc repro` log interrupted once."""
import json
from pathlib import Path

import papermill
import yaml

from deepclust_nb.core import write_json

NOTEBOOK = Path(__file__).resolve().parents[1]/"nbs"/"benchmarks"/"jule_cross_cpu.ipynb"

def _checkout(root:Path, runs:dict) -> Path:
    "A checkout holding `runs` ({key: (rc, sf, trained, predictions md5, eta)}) as the train and evaluate stages leave them."
    lock = {"schema": "2.0", "stages": {}}
    for key, (rc, sf, trained, md5, eta) in runs.items():
        d = root/"reports"/"runs"/key; d.mkdir(parents=True)
        dataset, seed = key.split("-")[1], int(key.split("-s")[-1][0])
        tag = key.split("-s")[-1][2:]
        metrics = dict(nmi_geo=sf, rc_nmi_geo=rc, rc_acc=0.9)
        write_json(d/"metrics.json", dict(metrics=metrics, periods=3))
        write_json(d/"run.json", dict(key=key, profile="jule", method="jule", dataset=dataset, preset="paper", seed=seed, tag=tag, args={}))
        write_json(d/"provenance.json", dict(git_commit="abc", time=trained, config=dict(method="jule", seed=seed, eta=eta)))
        write_json(d/"eval.json", dict(metrics=metrics, other_algorithms=dict(features=dict(spectral=dict(nmi_geo=rc + 0.01)))))
        write_json(root/"reports"/"benchmarks"/f"{key}.json", dict(wall_time_s=60.0, peak_rss_gib=1.0, measured_on=dict(cpu="Test CPU", cpus=2)))
        lock["stages"][f"train@{key}"] = dict(cmd="papermill ...", outs=[dict(path=f"reports/runs/{key}/predictions.npz", md5=md5)])
    (root/"dvc.lock").write_text(yaml.safe_dump(lock))
    return root

def test_cross_cpu_compares_retrained_runs_only(tmp_path):
    here = _checkout(tmp_path/"here", {"jule-usps-s0": (0.910, 0.912, "t0", "aaa", 0.9), "jule-usps-s1": (0.899, 0.884, "t0", "bbb", 0.9),
                                       "jule-coil20-s0": (0.968, 0.906, "t0", "ccc", 0.9), "jule-mnist-s0": (0.69, 0.89, "t0", "ddd", 0.9),
                                       "jule-usps-s0-official": (0.930, 0.900, "t0", "eee", 0.9)})
    other = _checkout(tmp_path/"other", {"jule-usps-s0": (0.897, 0.911, "t1", "fff", 0.9),      # retrained, another result
                                         "jule-usps-s1": (0.899, 0.884, "t1", "bbb", 0.9),      # retrained, bit-identical predictions
                                         "jule-coil20-s0": (0.968, 0.906, "t0", "ccc", 0.9),    # not retrained there yet: left out
                                         "jule-mnist-s0": (0.70, 0.89, "t1", "ggg", 0.2),       # another configuration: not compared
                                         "jule-usps-s0-official": (0.935, 0.905, "t1", "hhh", 0.9)})
    log = tmp_path/"repro.log"
    log.write_text("1000 Running stage 'check':\n1002 Running stage 'train@jule-usps-s0':\n1060 epoch 60\n"          # killed after 1060
                   "5000 === dvc repro started\n5001 Running stage 'train@jule-usps-s0':\n5061 Running stage 'train@jule-usps-s1':\n"
                   "5121 Running stage 'evaluate@jule-usps-s0':\n5131 Updating lock file 'dvc.lock'\n5131 === dvc repro ended rc=0\n")
    out = tmp_path/"out"
    papermill.execute_notebook(str(NOTEBOOK), str(tmp_path/"executed.ipynb"), cwd=str(tmp_path), progress_bar=False,
                               parameters=dict(here=str(here), other=str(other), repro_log=str(log), out_json=str(out/"x.json"),
                                               out_md=str(out/"x.md"), out_png=str(out/"x.png")))
    res = json.loads((out/"x.json").read_text())
    assert [r["key"] for r in res["runs"]] == ["jule-usps-s0", "jule-usps-s0-official", "jule-usps-s1"]
    assert [r["identical"] for r in res["runs"]] == [False, False, True]
    usps = next(s for s in res["summary"] if s["dataset"] == "usps" and s["runs"] == "our defaults")
    assert usps["n"] == 2 and usps["identical"] == 1 and abs(usps["rc_abs_diff_max"] - 0.013) < 1e-9
    assert abs(usps["rc_other"]["mean"] - 0.898) < 1e-9 and abs(usps["spectral_here"]["mean"] - 0.9145) < 1e-9
    assert res["other_cpu"] == ["Test CPU"]
    # 2 s of check, 58 s of the interrupted attempt (to its last line), then 131 s from the restart on (60 + 60 + 10 in stages); the stop is not counted
    assert res["profile"]["total_s"] == 60 + 131 and res["profile"]["by_kind"] == dict(check=2.0, train=58.0 + 60 + 60, evaluate=10.0)
    assert res["profile"]["finished"]
    md = (out/"x.md").read_text()
    assert "**0.1 h** in all (4 stages" in md
    assert "| jule-usps-s1 | 0.899 | 0.899 | 0.884 | 0.884 | yes |" in md and (out/"x.png").stat().st_size > 10_000
