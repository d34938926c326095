"""Every library notebook runs top to bottom, its test cells included (`cuda` cells only with a GPU), and leaves the checkout's pipeline as it
found it: a notebook that writes pipeline files (the tutorial's plugin and `params.yaml`) writes them to a temporary folder.

Cells flagged `slow` (each method's full `digits` run, which the `default` profile of the pipeline trains as well) run only with
DEEPCLUST_SLOW_TESTS=1: they would take a third of the suite's time on CI's 2 cores. Their code paths stay covered here by the short runs of
tests/test_methods.py and the `tiny` pipeline of tests/test_pipeline.py.

Each notebook runs as `python tools/build_docs.py --run` runs it, by nbdev_test's own `test_nb` (the same cells skipped, in the same folder,
stopping at the first error), in a fresh process forked from a server that has imported torch and the other heavy libraries once
(`build_docs.run_fresh`), and, when it passes, its executed copy is kept in .cache/executed/ (git-ignored): the docs build
(tests/test_docs.py, `python tools/build_docs.py`) shows those outputs on the pages instead of running the notebooks a second time. Both pass
the test run's id (pytest-xdist's `testrun_uid`), so whichever comes first runs a notebook and the other reuses that pass (tools/build_docs.ipynb,
"Executed outputs"); the docs test checks the pipeline's files around its build as this test does around each run.

Pipeline stage notebooks (nbs/pipeline) and benchmarks (nbs/benchmarks) are run by DVC and by hand, not here."""
import hashlib, sys
import pytest
from conftest import REPO
sys.path.insert(0, str(REPO/"tools"))
import build_docs

NOTEBOOKS = sorted(p.relative_to(REPO/"nbs") for p in (REPO/"nbs").rglob("*.ipynb")
                   if not {"pipeline", "benchmarks"} & set(p.parts) and not p.name.startswith("_") and ".ipynb_checkpoints" not in p.parts)

def pipeline_state() -> dict[str, str]:
    "A hash of each file that says what the pipeline is and what it produced: parameters, stages, lock, and the report with its runs."
    files = [REPO/f for f in ("params.yaml", "dvc.yaml", "dvc.lock", "reports/README.md", "reports/metrics.json", "reports/runs.json")]
    files += sorted((REPO/"reports"/"runs").rglob("*"))
    return {str(p.relative_to(REPO)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_notebook_runs(nb, testrun_uid):
    before = pipeline_state()
    _, error = build_docs.run_fresh(REPO/"nbs"/nb, build_docs.suite_flags(), session=testrun_uid)
    assert not error, f"{nb} failed:\n{error}"
    assert (REPO/".cache"/"executed"/nb).is_file(), f"{nb} passed but left no executed copy in .cache/executed/ for the docs"
    after = pipeline_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{nb} changed the checkout's pipeline files (a notebook must work on copies): {changed}"
