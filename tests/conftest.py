"Shared fixtures: paths of the repository and of the optional offline datasets."
import os, sys
from pathlib import Path
import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_DATASETS = REPO.parent/"shared"/"datasets"
BIN = Path(sys.executable).parent

@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    "A private data folder, and no network: proxies that refuse every connection at once."
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path/"data"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False); monkeypatch.delenv("NO_PROXY", raising=False)
    return tmp_path/"data"
