"""Every library notebook runs top to bottom, its test cells included (`cuda` cells only with a GPU), and leaves the checkout's pipeline as it
found it: a notebook that writes pipeline files (the tutorial's plugin and `params.yaml`) writes them to a temporary folder.

Cells flagged `slow` (each method's full `digits` run, which the `default` profile of the pipeline trains as well) run only with
DEEPCLUST_SLOW_TESTS=1: they would take a third of the suite's time on CI's 2 cores. Their code paths stay covered here by the short runs of
tests/test_methods.py and the `tiny` pipeline of tests/test_pipeline.py.

Each notebook runs by `python tools/build_docs.py --run`, which is nbdev_test's own `test_nb` (the same cells skipped, in the same folder, stopping
at the first error) and which, when the notebook passes, keeps its executed copy in .cache/executed/ (git-ignored): the docs build
(tests/test_docs.py, `python tools/build_docs.py`) shows those outputs on the pages instead of running the notebooks a second time.

Pipeline stage notebooks (nbs/pipeline) and benchmarks (nbs/benchmarks) are run by DVC and by hand, not here."""
import hashlib, os, subprocess
import pytest
import torch
from conftest import REPO, BIN

NOTEBOOKS = sorted(p.relative_to(REPO/"nbs") for p in (REPO/"nbs").rglob("*.ipynb")
                   if not {"pipeline", "benchmarks"} & set(p.parts) and not p.name.startswith("_") and ".ipynb_checkpoints" not in p.parts)

def pipeline_state() -> dict[str, str]:
    "A hash of each file that says what the pipeline is and what it produced: parameters, stages, lock, and the report with its runs."
    files = [REPO/f for f in ("params.yaml", "dvc.yaml", "dvc.lock", "reports/README.md", "reports/metrics.json", "reports/runs.json")]
    files += sorted((REPO/"reports"/"runs").rglob("*"))
    return {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_notebook_runs(nb):
    flags = " ".join(["slow"] * bool(os.environ.get("DEEPCLUST_SLOW_TESTS")) + ["cuda"] * torch.cuda.is_available())
    before = pipeline_state()
    r = subprocess.run([str(BIN/"python"), "tools/build_docs.py", "--run", f"nbs/{nb.as_posix()}", "--flags", flags],
                       cwd=REPO, capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{nb} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
    assert (REPO/".cache"/"executed"/nb).is_file(), f"{nb} passed but left no executed copy in .cache/executed/ for the docs"
    after = pipeline_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{nb} changed the checkout's pipeline files (a notebook must work on copies): {changed}"
