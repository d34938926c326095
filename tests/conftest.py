"Shared fixtures: paths of the repository and of the optional offline datasets."
import os, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent/"shared"/"datasets"
BIN = Path(sys.executable).parent

# pytest-xdist runs one worker per core; torch's default of one thread per core in each worker (and in the notebook kernels
# they start) would oversubscribe the CPU several times over, which slows small models by an order of magnitude.
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import torch
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))

@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    "A private data folder, and no network: proxies that refuse every connection at once."
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path/"data"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False); monkeypatch.delenv("NO_PROXY", raising=False)
    return tmp_path/"data"
