"""The report and figures of several profiles at once, and JULE's extra results (seeds, official switches, other clustering algorithms,
NMI per period, example clusters over the periods), on fake run folders with the shape the pipeline writes (reports/runs/<key>/...)."""
import json
import numpy as np
import pytest
import torch
from sklearn.cluster import AgglomerativeClustering, KMeans, SpectralClustering
from sklearn.metrics import normalized_mutual_info_score
from sklearn.neighbors import kneighbors_graph

from deepclust_nb.core import write_json
from deepclust_nb.data import ImageDataset
from deepclust_nb.metrics import cluster_metrics
from deepclust_nb.published import PUBLISHED
from deepclust_nb.report import (aggregate, find_runs, make_figures, other_algorithms, pixel_features, read_eval, run_other_algorithms,
                                 switches_table, write_eval, write_report)

N, K = 60, 3

def _dataset(seed=0) -> ImageDataset:
    "60 tiny grey images of 3 classes: class k is bright in its own third of the image."
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(K), N // K)
    x = rng.integers(0, 60, (N, 1, 12, 12))
    for k in range(K): x[y == k, :, 4 * k:4 * k + 4, :] += 180
    return ImageDataset(torch.from_numpy(x.astype(np.uint8)), torch.from_numpy(y.astype(np.int64)), ["a", "b", "c"], "usps", "USPS (9,298)", "whole set")

def _jule_run(runs, key, seed, tag="", profile="jule", dataset="usps", flip=0, bench=True, old_format=False):
    "A finished JULE run folder as the pipeline writes it (old_format: no run.json, period_labels or benchmark, like jule-digits-s0)."
    d = runs/key; d.mkdir(parents=True)
    data = _dataset()
    y = data.labels.numpy()
    final = y.copy(); final[:flip] = (final[:flip] + 1) % K       # `flip` images put in the wrong cluster
    p1 = final * 2 + (np.arange(N) % 2)                           # 6 clusters, each a half of a final one
    p0 = p1 * 10 + (np.arange(N) % 10) // 4                       # initial clusters of 2-4 images, nested in p1
    _, p0 = np.unique(p0, return_inverse=True)
    rc = y.copy(); rc[:max(flip - 1, 0)] = (rc[:max(flip - 1, 0)] + 2) % K
    feats = np.eye(K)[y] + 0.3 * np.random.default_rng(seed).standard_normal((N, K))
    feats = np.hstack([feats, np.zeros((N, 157))]).astype(np.float32)
    arrays = dict(labels=y, pred=final, rc_pred=rc, kmeans_pred=y, features=feats)
    if not old_format: arrays["period_labels"] = np.stack([p0, p1, final]).astype(np.int32)
    np.savez_compressed(d/"predictions.npz", **arrays)
    m = {**cluster_metrics(y, final), **{f"rc_{k}": v for k, v in cluster_metrics(y, rc).items()}}
    summary = dict(method="jule", method_args={}, dataset=dataset, variant="USPS (9,298)", protocol="whole set", n_images=N, n_clusters=K, epoch=40,
                   periods=2, complete=True, metrics=m, train_time_s=30.0 + seed, images_per_s=100.0, wall_time_s=40.0 + seed, precision="fp32")
    if not old_format: summary.update(arch="usps", input_size=[1, 12, 12], eta=0.9, knn_time_s=1.0, merge_time_s=2.0, cnn_time_s=25.0)
    write_json(d/"metrics.json", summary)
    write_json(d/"provenance.json", dict(git_commit="abc", git_dirty=False, device="cpu", device_name="x86_64", seed=seed))
    log = [dict(epoch=0, step=0, period=0, n_clusters=int(p0.max()) + 1, **cluster_metrics(y, p0)),
           dict(epoch=1, step=1, period=0, loss=0.5),
           dict(epoch=20, step=20, period=1, loss=0.3, n_clusters=int(p1.max()) + 1, **cluster_metrics(y, p1)),
           dict(epoch=40, step=40, period=2, loss=0.2, n_clusters=K, **cluster_metrics(y, final))]
    (d/"metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in log))
    if not old_format:
        write_json(d/"run.json", dict(key=key, profile=profile, method="jule", dataset=dataset, preset="paper", seed=seed, tag=tag, args={}))
        if bench:
            write_json(runs.parent/"benchmarks"/f"{key}.json", dict(key=key, wall_time_s=50.0 + seed, peak_rss_bytes=int(1.5 * 2**30),
                                                                    peak_rss_gib=1.5, stages=dict(knn_graph_s=1.0), device="cpu"))
    return d

def _cc_run(runs, key="cc-digits-s0"):
    "An older `default` run: no run.json; its eval.json is committed but its predictions.npz is not checked out."
    d = runs/key; d.mkdir(parents=True)
    y = np.repeat(np.arange(K), N // K); pred = y.copy(); pred[:5] = 1
    np.savez_compressed(d/"predictions.npz", labels=y, pred=pred, kmeans_pred=y, features=np.eye(K)[pred].astype(np.float32))
    write_json(d/"metrics.json", dict(method="cc", dataset="digits", variant="digits", protocol="whole set", n_images=N, n_clusters=K, epoch=2,
                                      complete=True, metrics=cluster_metrics(y, pred), train_time_s=5.0, images_per_s=50.0, wall_time_s=6.0))
    write_json(d/"history.json", [dict(epoch=0, nmi=0.2), dict(epoch=1, loss=1.0, nmi=0.5), dict(epoch=2, loss=0.8, nmi=0.7)])
    write_eval(d)
    (d/"predictions.npz").unlink()
    return d

@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("reports")
    runs = root/"runs"
    _cc_run(runs)
    _jule_run(runs, "jule-digits-s0", 0, profile="default", dataset="digits", old_format=True)
    for s in (0, 1, 2): _jule_run(runs, f"jule-usps-s{s}", s, flip=s)
    _jule_run(runs, "jule-usps-s0-gamma1", 0, tag="gamma1", flip=12)
    _jule_run(runs, "jule-usps-s1-gamma1", 1, tag="gamma1", flip=14, bench=False)
    data = _dataset()
    for key in ("jule-usps-s0", "jule-usps-s1", "jule-usps-s2", "jule-usps-s0-gamma1", "jule-usps-s1-gamma1", "jule-digits-s0"):
        ev = json.loads(write_eval(runs/key).read_text())   # what the evaluate stage does: raw pixels once per dataset (seed 0, default)
        ev["other_algorithms"] = run_other_algorithms(runs/key, data if ev["seed"] == 0 and not ev["tag"] and ev["dataset"] == "usps" else None)
        write_json(runs/key/"eval.json", ev)
    return root

def test_every_profile_is_kept_and_labelled(reports):
    runs = find_runs(reports/"runs")
    assert [r.name for r in runs] == ["cc-digits-s0", "jule-digits-s0", "jule-usps-s0", "jule-usps-s0-gamma1", "jule-usps-s1",
                                      "jule-usps-s1-gamma1", "jule-usps-s2"]
    evals = [read_eval(r) for r in runs]
    assert [(e["profile"], e["tag"]) for e in evals[:3]] == [("default", ""), ("default", ""), ("jule", "")]
    agg = aggregate(evals)
    assert list(agg) == ["cc-digits", "jule-digits", "jule-usps@jule", "jule-usps-gamma1@jule"]
    usps = agg["jule-usps@jule"]
    assert (usps["n_seeds"], usps["seeds"], usps["setup"]["arch"]) == (3, [0, 1, 2], "usps")
    sf = [cluster_metrics(np.repeat(np.arange(K), N // K), _flipped(f))["nmi_geo"] for f in (0, 1, 2)]
    assert usps["metrics"]["nmi_geo"]["mean"] == pytest.approx(np.mean(sf)) and usps["metrics"]["nmi_geo"]["std"] == pytest.approx(np.std(sf, ddof=1))
    assert usps["cost"]["peak_rss_gib"]["mean"] == pytest.approx(1.5) and usps["cost"]["wall_time_s"]["mean"] == pytest.approx(51.0)   # benchmark clock

    written = write_report(reports, agg, PUBLISHED)
    readme = written["README.md"].read_text()
    ours = readme.split("## Our runs", 1)[1].split("\n## ", 1)[0]
    assert "| default | cc | digits |" in ours and "| default | jule | digits |" in ours and "| jule | jule | USPS |" in ours
    assert "| jule | jule [switch: gamma1] | USPS |" in ours
    assert ours.index("| default | cc |") < ours.index("| jule | jule | USPS |")   # grouped by profile, default first
    assert "1.50 GiB" in ours

    # JULE's NMI table: published SF and RC beside the mean ± std of our 3 untagged seeds; the gamma1 runs stay out
    nmi_table = readme.split("#### NMI on JULE's datasets", 1)[1].split("\n#### ", 1)[0]
    sf_row = next(l for l in nmi_table.splitlines() if l.startswith("| JULE (SF) | USPS |"))
    assert f"| 0.858 | S1 | jule | {np.mean(sf):.3f} ± {np.std(sf, ddof=1):.3f} | 3 | {np.mean(sf) - 0.858:+.3f} |" in sf_row, sf_row
    assert "51 s wall, 1.50 GiB peak" in sf_row and "USPS (9,298); JULE's paper used 11,000 images" in sf_row
    assert "| JULE (RC) | USPS | geometric | 0.913 | V2 | jule |" in nmi_table
    assert "| DEPICT | USPS | unknown | 0.927 | V2 | – | not re-run (published baseline) |" in nmi_table
    assert "| JULE (SF) | COIL-20 | geometric | 1.000 | S1 | – | not run |" in nmi_table

    # the switches table: our default, gamma1 (paired difference over its 2 seeds), the other switches not run
    switches = readme.split("#### JULE.torch's official switches", 1)[1].split("\n#### ", 1)[0]
    rows = [l for l in switches.splitlines() if l.startswith("| USPS | jule |")]
    assert len(rows) == 6 and "(reference)" in rows[0] and "`gamma1`: γ = 1 as train.lua passes it" in rows[1]
    g = [cluster_metrics(np.repeat(np.arange(K), N // K), _flipped(f))["nmi_geo"] for f in (12, 14)]
    assert f"| 2 |" in rows[1] and f"{np.mean([g[0] - sf[0], g[1] - sf[1]]):+.3f} (paired, 2 seeds)" in rows[1], rows[1]
    assert all("not run" in r for r in rows[2:])
    assert not any("digits" in r for r in switches_table(agg))   # no switch was run on digits' profile

    # other algorithms: raw pixels once (seed 0), features over the 3 seeds
    other = readme.split("#### Other clustering algorithms on JULE's learned features", 1)[1].split("\n### ", 1)[0]
    assert "##### USPS (profile jule)" in other and "##### digits (profile default)" in other
    km = next(l for l in other.split("##### USPS")[1].splitlines() if l.startswith("| k-means"))
    assert "| all 60 |" in km and km.count("±") >= 3 and "| 1; 3 |" in km, km
    assert "not computed" in other.split("##### digits")[1]   # the default profile's digits run had no dataset given
    assert (reports/"tables"/"JULE-switches.tex").is_file() and (reports/"tables"/"JULE-other-algorithms.md").is_file()
    assert json.loads((reports/"metrics.json").read_text())["jule-usps@jule"]["profile"] == "jule"

def _flipped(flip):
    y = np.repeat(np.arange(K), N // K); p = y.copy(); p[:flip] = (p[:flip] + 1) % K
    return p

def test_figures_of_every_profile(reports, tmp_path):
    data = _dataset()
    figs = make_figures(find_runs(reports/"runs"), tmp_path/"figures", load_data=lambda name: data if name == "usps" else None, max_points=0)
    assert {"confusion-cc-digits", "sizes-cc-digits", "curves-digits", "nmi-vs-time", "periods-jule-digits", "curves-usps@jule",
            "confusion-jule-usps@jule", "samples-jule-usps@jule", "periods-jule-usps@jule", "period-clusters-jule-usps@jule"} <= set(figs), sorted(figs)
    assert not any("gamma1" in name for name in figs)   # switch runs appear in the per-period figure only
    assert "period-clusters-jule-digits" not in figs     # the older run has no period_labels
    assert all(p.is_file() and p.stat().st_size > 1000 for ps in figs.values() for p in ps)
    written = write_report(tmp_path, aggregate(find_runs(reports/"runs")), PUBLISHED)
    readme = written["README.md"].read_text()
    assert "(figures/periods-jule-usps@jule.png)" in readme and "jule-usps (profile jule)" in readme
    assert readme.index("### Profile `default`") < readme.index("curves-digits.png") < readme.index("### Profile `jule`") < readme.index("curves-usps@jule.png")

@pytest.mark.filterwarnings("ignore:Graph is not fully connected", "ignore:the number of connected components")   # the direct calls below
def test_other_algorithms_match_scikit_learn():
    data = _dataset(1)
    x = pixel_features(data.images.numpy())
    assert x.shape == (N, 144) and np.allclose(np.linalg.norm(x, axis=1), 1)
    y = data.labels.numpy()
    res = other_algorithms(x, y, seed=3)
    assert list(res) == ["kmeans", "spectral", "agglomerative"]
    assert set(res["kmeans"]) == {"nmi", "nmi_geo", "acc", "n_images", "n_total", "subsampled", "time_s"} and res["spectral"]["graph_components"] >= 1
    direct = dict(kmeans=KMeans(K, n_init=10, random_state=3).fit_predict(x),
                  spectral=SpectralClustering(K, affinity="nearest_neighbors", n_neighbors=10, assign_labels="cluster_qr", random_state=3).fit_predict(x),
                  agglomerative=AgglomerativeClustering(K, linkage="ward", connectivity=kneighbors_graph(x, 10, include_self=True)).fit_predict(x))
    for name, p in direct.items():
        assert res[name]["nmi_geo"] == pytest.approx(normalized_mutual_info_score(y, p, average_method="geometric"))
        assert res[name]["acc"] == pytest.approx(cluster_metrics(y, p)["acc"])
    sub = other_algorithms(x, y, max_n=30)
    assert (sub["kmeans"]["n_images"], sub["spectral"]["n_images"], sub["spectral"]["subsampled"]) == (N, 30, True)
