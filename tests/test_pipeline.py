"""The DVC pipeline end to end on the `tiny` profile (CC and JULE on digits, 2 epochs), plus the tutorial's `cc_sharp` as a plugin, in a copy of the
checkout, interrupted once by SIGKILL, then continued with one more run on a fresh clone of it, as the README says."""
import json, os, re, shutil, signal, subprocess, time
import yaml
from conftest import REPO, BIN
from deepclust_nb.core import file_hash
from deepclust_nb.engine import METHODS
from deepclust_nb.pipeline import add_run, export_plugin, load_plugins, read_params, write_params

def _copy_checkout(dst):
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           capture_output=True, check=True).stdout.decode().split("\0")
    for f in filter(None, files):
        src = REPO/f
        if not src.is_file() or f.startswith("reports/"): continue   # a fresh pipeline writes its own reports
        (dst/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dst/f)

def _run(args, cwd, **kw):
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=1200, **kw)

def _runs(root):
    return yaml.safe_load((root/"params.yaml").read_text())["runs"]

def _add_tutorial_plugin(root):
    "What the tutorial (nbs/tutorials/01_prototype_a_loss.ipynb, section 4) tells a reader to do in their checkout: its `cc_sharp` as a plugin."
    plugin = export_plugin(root/"nbs"/"tutorials"/"01_prototype_a_loss.ipynb", root/"plugins"/"cc_sharp.py")
    params = read_params(root/"params.yaml")
    params["plugins"] = ["plugins/cc_sharp.py"]
    try:
        load_plugins(params, root)
        run = add_run(params, "cc_sharp", "digits", "digits", seed=0, root=root)
        params["methods"]["cc_sharp"] = dict(overrides=dict(epochs=2), args=dict(sharpness_weight=0.1))
        write_params(root/"params.yaml", params)
    finally:
        METHODS.pop("cc_sharp", None)   # registered in this process by load_plugins; other tests must not see it
    assert plugin.is_file() and run == "cc_sharp-digits-s0"

def _cached_outs(root):
    "Glob patterns of the outputs dvc.yaml keeps in the DVC cache only (every `outs` entry without `cache: false`), templates as `*`."
    stages = yaml.safe_load((root/"dvc.yaml").read_text())["stages"].values()
    outs = [o for st in stages for o in st.get("do", st).get("outs", [])]
    paths = [o if isinstance(o, str) else next(iter(o)) for o in outs if isinstance(o, str) or next(iter(o.values())).get("cache", True)]
    return [re.sub(r"\$\{[^}]*\}", "*", p) for p in paths]

def _fresh_clone(root, dst):
    "What `git clone` of `root` gives once its runs are committed: every file but the DVC cache and the outputs kept only there."
    shutil.copytree(root, dst)
    for d in (".dvc/cache", ".dvc/tmp", "plots"): shutil.rmtree(dst/d, ignore_errors=True)
    for pattern in _cached_outs(dst):
        for f in dst.glob(pattern): f.unlink()
    assert not (dst/".dvc"/"cache").exists() and not list(dst.glob("reports/runs/*/predictions.npz")) and not list(dst.glob("data/prepared/*.npz"))

def test_tiny_profile_end_to_end(tmp_path, record_property):
    "One test, not three: under pytest-xdist a shared fixture would run the pipeline once per worker."
    root = tmp_path/"checkout"
    _copy_checkout(root)
    # no network: proxies that refuse every connection; the tiny profile must not need one
    env = {**os.environ, "PATH": f"{BIN}:{os.environ['PATH']}", **{v: "http://127.0.0.1:9" for v in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY")}}
    assert _run([str(BIN/"dvc"), "config", "--local", "core.no_scm", "true"], root, env=env).returncode == 0
    r = _run([str(BIN/"deepclust"), "profile", "tiny"], root, env=env)
    assert r.returncode == 0, r.stderr
    _add_tutorial_plugin(root)

    # interrupted: dvc repro is killed (with its papermill kernels) once the first train stage has checkpointed its first epoch
    first = next(iter(_runs(root)))
    ckpt = root/"reports"/"runs"/first/"checkpoint.json"
    proc = subprocess.Popen([str(BIN/"dvc"), "repro"], cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 900
    while proc.poll() is None and time.time() < deadline and not (ckpt.is_file() and json.loads(ckpt.read_text())["epoch"] >= 1): time.sleep(0.05)
    assert proc.poll() is None, "dvc repro ended before it could be interrupted"
    os.killpg(proc.pid, signal.SIGKILL); proc.wait()
    record_property("faults_injected", 1)

    # started again, it finishes and reuses what was complete: the check and fetch stages are not run again
    r = _run([str(BIN/"dvc"), "repro"], root, env=env)
    assert r.returncode == 0, f"dvc repro failed:\n{r.stdout[-5000:]}\n{r.stderr[-5000:]}"
    assert "Stage 'fetch@digits' didn't change, skipping" in r.stdout, r.stdout[-3000:]
    resumed = "resuming the interrupted attempt" in (root/"reports"/"notebooks"/f"train-{first}.ipynb").read_text()
    record_property("runs_resumed", int(resumed))

    # reports/ is filled
    runs = json.loads((root/"reports/runs.json").read_text())["runs"]
    assert sorted(runs) == ["cc-digits-s0", "cc_sharp-digits-s0", "jule-digits-s0"], runs
    for key in runs:
        assert (root/f"reports/runs/{key}/predictions.npz").is_file()
        assert {"nmi", "nmi_geo", "acc", "ari"} <= set(json.loads((root/f"reports/runs/{key}/eval.json").read_text())["metrics"])
    report = (root/"reports/README.md").read_text()
    assert report.count("![") >= 5
    assert "| cc_sharp | digits |" in report.split("## Our runs", 1)[1].split("\n## ", 1)[0]   # the tutorial's method, in the comparison table
    figures = {p.stem.split("-")[0] for p in (root/"reports/figures").glob("*.svg")}
    assert {"curves", "confusion", "tsne", "samples", "sizes", "nmi", "jule"} <= figures, figures
    assert "mean" in (root/"reports/metrics.json").read_text()

    # the plots page needs no network: images only, no script or style from elsewhere
    r = _run([str(BIN/"dvc"), "plots", "show", "-o", str(root/"plots")], root, env=env)
    assert r.returncode == 0, r.stderr
    page = (root/"plots"/"index.html").read_text()
    assert page.count("<img") >= 10 and "http://" not in page and "https://" not in page

    # a second repro does nothing
    r = _run([str(BIN/"dvc"), "status"], root, env=env)
    assert r.returncode == 0 and "up to date" in r.stdout, r.stdout

    # a fresh clone goes on where the committed runs stopped (the README's `dvc repro fetch && dvc repro --allow-missing`): the prepared
    # data is rebuilt bit for bit, the finished runs are kept from git, and only a new run trains; the report shows both seeds
    clone = tmp_path/"clone"
    _fresh_clone(root, clone)
    params = read_params(clone/"params.yaml")
    assert add_run(params, "cc", "digits", "digits", seed=1, root=clone) == "cc-digits-s1"
    write_params(clone/"params.yaml", params)
    r = _run([str(BIN/"dvc"), "repro", "fetch"], clone, env=env)
    assert r.returncode == 0 and "Running stage 'fetch@digits'" in r.stdout, r.stdout[-3000:] + r.stderr[-3000:]
    assert file_hash(clone/"data/prepared/digits.npz") == file_hash(root/"data/prepared/digits.npz")
    r = _run([str(BIN/"dvc"), "repro", "--allow-missing"], clone, env=env)
    assert r.returncode == 0, f"dvc repro --allow-missing failed:\n{r.stdout[-5000:]}\n{r.stderr[-5000:]}"
    ran = {line.split("'")[1] for line in r.stdout.splitlines() if line.startswith("Running stage '")}
    assert ran == {"check", "train@cc-digits-s1", "evaluate@cc-digits-s1", "figures", "report"}, ran
    cc = [[c.strip() for c in line.strip("|").split("|")] for line in (clone/"reports/tables/runs.md").read_text().splitlines()
          if line.startswith("| tiny | cc | digits |")]
    assert len(cc) == 1 and cc[0][4] == "2" and "±" in cc[0][6], cc   # one row: seeds, NMI mean ± std over the finished seed 0 and the new seed 1
    r = _run([str(BIN/"dvc"), "repro", "--allow-missing"], clone, env=env)
    assert r.returncode == 0 and "Running stage" not in r.stdout, r.stdout[-3000:]

    # a bad method name stops the first stage, before any training
    params = (root/"params.yaml").read_text()
    (root/"params.yaml").write_text(params.replace("method: cc,", "method: ccx,", 1))
    r = _run([str(BIN/"dvc"), "repro"], root, env=env)
    assert r.returncode != 0
    assert "unknown method 'ccx'; accepted:" in r.stdout + r.stderr
    assert "Running stage 'train" not in r.stdout
