"`n_clusters: auto` end to end (issue 15): a tiny CC run on `digits` trains with the upper bound, estimates K from its features and records it; the CLI takes `--n-clusters auto`; JULE is refused before any data is loaded."
import json
import numpy as np
import pytest
from deepclust_nb.core import RunConfig, ConfigError
from deepclust_nb.data import load
from deepclust_nb.engine import fit, evaluate_checkpoint, list_methods, METHODS, MetricsLog
from deepclust_nb.cli import build_parser, train_config

def test_auto_digits_run_records_estimate(tmp_path):
    list_methods()   # registers the library's methods
    cfg = RunConfig.from_dict({**METHODS["cc"].presets["digits"], "method": "cc", "epochs": 1, "batch_size": 128, "seed": 0,
                               "n_clusters": "auto", "max_clusters": 15, "eval_every": 0, "probe_size": 0, "checkpoint_every": 0})
    data = load("digits")
    res = fit(cfg, tmp_path, data=data, progress=False)
    summary = json.loads((tmp_path/"metrics.json").read_text())
    auto = summary["n_clusters_auto"]
    assert summary["n_clusters"] == 15 and auto["max_clusters"] == 15 and auto["estimator"] == "silhouette" and auto["sample"] == 2000
    k = auto["n_clusters_estimated"]
    assert isinstance(k, int) and 2 <= k <= 15 and summary["metrics"]["n_clusters_estimated"] == k == res["n_clusters_auto"]["n_clusters_estimated"]
    z = np.load(tmp_path/"predictions.npz")
    assert int(z["n_clusters_estimated"]) == k and len(np.unique(z["pred"])) <= k and (z["pred"] == z["kmeans_pred"]).all()
    assert z["probs"].shape == (len(data), 15)   # the head trained with K_max
    assert all(r["n_clusters_estimated"] >= 2 for r in MetricsLog(tmp_path).records if "nmi" in r)
    ev = evaluate_checkpoint(tmp_path/"checkpoint.pt", data=data, device="cpu")   # the checkpoint re-estimates K the same way
    assert ev["metrics"]["n_clusters_estimated"] == k and ev["metrics"]["nmi"] == summary["metrics"]["nmi"]

def test_cli_takes_auto():
    args = build_parser().parse_args(["train", "--method", "cc", "--preset", "digits", "--n-clusters", "auto", "--max-clusters", "30"])
    cfg = train_config(args)
    assert cfg.n_clusters == "auto" and cfg.max_clusters == 30
    with pytest.raises(ConfigError, match="max_clusters is the upper bound of n_clusters 'auto'"):
        train_config(build_parser().parse_args(["train", "--method", "cc", "--preset", "digits", "--max-clusters", "30"]))

def test_jule_refuses_auto():
    with pytest.raises(ConfigError, match="method 'jule' trains and predicts in its own loop, so it cannot estimate n_clusters"):
        train_config(build_parser().parse_args(["train", "--method", "jule", "--preset", "digits", "--n-clusters", "auto"]))
