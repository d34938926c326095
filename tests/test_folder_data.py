"""A folder of the user's own images through the library as the pipeline's stages use it, without DVC: params.yaml with a `folder:` dataset,
the check and fetch stages (the fetch stage's notebook code itself), training without labels, the evaluate, figures and report stages' notebook
code (no metrics: cluster sizes, a gallery and the README's section instead); and the command line's refusals and its failure on a corrupt file, which leaves nothing behind."""
import json, warnings, zipfile
from pathlib import Path
import numpy as np
import pytest
from PIL import Image
from conftest import REPO, SHARED_DATASETS
from deepclust_nb.data import DATASETS, DatasetWarning, cache_paths, load
from deepclust_nb.pipeline import add_folder_dataset, add_run, check_params, fetch_dataset, train_run, write_params, read_params

def _photos(folder:Path, n:int=48) -> Path:
    "A flat folder of small images of three colours, of different sizes and modes (RGB, RGBA, L, P), one of them nested."
    g = np.random.default_rng(0)
    for i in range(n):
        c = np.array([[200, 40, 40], [40, 200, 40], [40, 40, 200]][i % 3], np.uint8)
        img = Image.fromarray(np.clip(c + g.integers(-20, 20, (10 + i % 5, 12 + i % 3, 3)), 0, 255).astype(np.uint8))
        img = [img, img.convert("RGBA"), img.convert("P", palette=Image.ADAPTIVE), img][i % 4]
        path = folder/("trip" if i == 5 else "")/f"p{i:02d}.png"
        path.parent.mkdir(parents=True, exist_ok=True); img.save(path)
    return folder

def _notebook_code(nb:Path, **params) -> str:
    "The code of a pipeline notebook with its `parameters` cell replaced by `params`, as papermill would inject them."
    cells = json.loads(nb.read_text())["cells"]
    code = []
    for c in cells:
        if c["cell_type"] != "code": continue
        if "parameters" in c.get("metadata", {}).get("tags", []): code.append("\n".join(f"{k} = {v!r}" for k, v in params.items()))
        else: code.append("".join(c["source"]))
    return "\n\n".join(code).replace("plt.show()", "plt.close('all')")

def test_a_folder_as_a_pipeline_run(tmp_path, isolated_data, monkeypatch):
    import matplotlib; matplotlib.use("Agg")
    photos = _photos(tmp_path/"photos")
    params = dict(profile="default", datasets={}, methods={}, runs={}, figures=dict(tsne_points=0))
    add_folder_dataset(params, "my-photos", photos, image_size=8, fit="square")
    key = add_run(params, "simclr", "my-photos", "digits", root=REPO)
    params["methods"]["simclr"]["overrides"] = dict(epochs=1, batch_size=16, n_clusters=3, probe_size=0)
    monkeypatch.chdir(tmp_path)
    write_params("params.yaml", params)   # checks it: the folder's name is registered from params.yaml
    DATASETS.pop("my-photos")             # each stage is a new process: it registers the folder again from params.yaml
    exec(_notebook_code(REPO/"nbs"/"pipeline"/"fetch.ipynb", dataset="my-photos", params_file="params.yaml", root="data"), {})
    ds = load("my-photos", root="data")
    assert (len(ds), tuple(ds.images.shape[1:]), ds.labelled, ds.meta["folder"]["fit"]) == (48, (3, 8, 8), False, "square")
    assert ds.paths[:6] == ["p00.png", "p01.png", "p02.png", "p03.png", "p04.png", "p06.png"] and ds.paths[-1] == "trip/p05.png"
    DATASETS.pop("my-photos")
    assert check_params(read_params("params.yaml"), REPO) == [key]
    with pytest.warns(UserWarning, match="has no labels: NMI, ACC and ARI are not computed"):
        summary = train_run(read_params("params.yaml"), key, "data", "reports/runs", root=REPO, progress=False, bench_root="reports/benchmarks")
    assert summary["complete"] and summary["metrics"] == {} and summary["n_clusters"] == 3
    exec(_notebook_code(REPO/"nbs"/"pipeline"/"evaluate.ipynb", run=key, out_root="reports/runs", data_root="data", other_methods="jule",
                        max_n=10000, n_neighbors=10), {})
    ev = json.loads((tmp_path/"reports"/"runs"/key/"eval.json").read_text())
    assert (ev["labelled"], ev["metrics"], sum(ev["cluster_sizes"]), ev["confusion"]) == (False, {}, 48, None)
    assert set(ev["gallery"].values()) == {"assignments.csv", "clusters.json", "gallery.html", "gallery.png"}
    rows = (tmp_path/"reports"/"runs"/key/"assignments.csv").read_text().splitlines()
    assert rows[0] == "path,cluster,confidence,similarity" and len(rows) == 49 and {r.split(",")[0] for r in rows[1:]} == set(ds.paths)
    (tmp_path/"reports"/"runs.json").write_text(json.dumps(dict(profile="default", runs=[key])))   # what the check stage writes
    DATASETS.pop("my-photos")
    exec(_notebook_code(REPO/"nbs"/"pipeline"/"figures.ipynb", runs_file="reports/runs.json", out_root="reports/runs", out_dir="reports/figures",
                        data_root="data", max_points=0), {})
    assert sorted(p.name for p in (tmp_path/"reports"/"figures").glob("*.png")) == ["curves-my-photos.png", "sizes-simclr-my-photos.png"]
    exec(_notebook_code(REPO/"nbs"/"pipeline"/"report.ipynb", runs_file="reports/runs.json", out_root="reports/runs",
                        benchmarks="reports/benchmarks", out_dir="reports"), {})
    readme = (tmp_path/"reports"/"README.md").read_text()
    assert "## Your own images" in readme and f"[gallery.html](runs/{key}/gallery.html)" in readme and "3 of 3 clusters used" in readme, readme[:3000]

def test_the_command_line_on_a_corrupt_folder_leaves_nothing(tmp_path, isolated_data):
    photos = _photos(tmp_path/"photos", 6)
    (photos/"broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    from deepclust_nb.cli import main
    assert main(["fetch", "mine", "--from", str(photos), "--image-size", "8"]) == 2
    assert not (isolated_data/"prepared").exists() or not any((isolated_data/"prepared").iterdir())
    with warnings.catch_warnings(): warnings.simplefilter("ignore", DatasetWarning); assert main(["fetch", "mine", "--from", str(photos), "--on-error", "skip"]) == 0
    info = json.loads(cache_paths("mine", isolated_data)[1].read_text())
    assert (info["n_images"], list(info["meta"]["folder"]["skipped"]), info["labelled"], info["images_shape"]) == (6, ["broken.jpg"], False, [6, 3, 64, 64])

@pytest.mark.skipif(not (SHARED_DATASETS/"coil20"/"coil-20-proc.zip").exists(), reason="the project's copy of coil-20-proc.zip is absent (optional)")
def test_coil20_pngs_as_a_flat_folder(tmp_path, isolated_data):
    "COIL-20's 1,440 PNGs extracted as they are (one top folder, coil-20-proc/: read as unlabelled, with a warning), grey, 128 px kept."
    with zipfile.ZipFile(SHARED_DATASETS/"coil20"/"coil-20-proc.zip") as z: z.extractall(tmp_path/"coil")
    from deepclust_nb.data import fetch_folder
    with pytest.warns(DatasetWarning, match="one class subfolder \\(coil-20-proc\\)"): fetch_folder("coil-flat", tmp_path/"coil", image_size=128)
    ds = load("coil-flat")
    assert (len(ds), tuple(ds.images.shape[1:]), ds.labelled) == (1440, (1, 128, 128), False)
    ref = load("coil20", source=SHARED_DATASETS/"coil20")
    by_path = {p.split("/")[-1]: i for i, p in enumerate(ds.paths)}
    assert (ds.images[by_path["obj3__10.png"]] == ref.images[2 * 72 + 10]).all()   # the same pixels as the registered COIL-20

def test_jule_without_labels_reports_no_metrics(tmp_path, isolated_data):
    "JULE's own loop measures every period against the labels: without labels it measures nothing (not NMI 0 against a label -1), with them as before."
    import torch
    from deepclust_nb.core import RunConfig
    from deepclust_nb.data import ImageDataset
    from deepclust_nb.engine import METHODS, fit, list_methods
    list_methods()
    d = load("digits").subset(range(150))
    cfg = RunConfig.from_dict({**METHODS["jule"].preset_for("digits", "digits"), "method": "jule", "n_clusters": 10})
    unlabelled = ImageDataset(d.images, torch.full((150,), -1), [], "digits", paths=[f"{i}.png" for i in range(150)])
    with pytest.warns(UserWarning, match="has no labels"): res = fit(cfg, tmp_path/"u", data=unlabelled, progress=False)
    assert res["complete"] and res["metrics"] == {}
    assert not any("nmi" in json.loads(line) for line in (tmp_path/"u"/"metrics.jsonl").read_text().splitlines())
    assert fit(cfg, tmp_path/"l", data=d, progress=False)["metrics"]["rc_nmi_geo"] > 0.3
