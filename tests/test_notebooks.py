"""Every library notebook runs top to bottom, its test cells included (cells flagged `slow` too; `cuda` cells only with a GPU).

Pipeline stage notebooks (nbs/pipeline) and benchmarks (nbs/benchmarks) are run by DVC and by hand, not here."""
import subprocess
import pytest
import torch
from conftest import REPO, BIN

NOTEBOOKS = sorted(p.relative_to(REPO/"nbs") for p in (REPO/"nbs").rglob("*.ipynb")
                   if not {"pipeline", "benchmarks"} & set(p.parts) and not p.name.startswith("_") and ".ipynb_checkpoints" not in p.parts)

@pytest.mark.parametrize("nb", NOTEBOOKS, ids=str)
def test_notebook_runs(nb):
    flags = "slow cuda" if torch.cuda.is_available() else "slow"
    r = subprocess.run([str(BIN/"nbdev_test"), "--path", str(nb), "--flags", flags, "--do_print"],
                       cwd=REPO/"nbs", capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, f"{nb} failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"
