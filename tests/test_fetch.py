"`deepclust fetch`: a local copy of CIFAR-10 imports; without a copy and without network it fails fast and clearly."
import subprocess, time
import pytest
from conftest import BIN, SHARED_DATASETS

def test_fetch_cifar10_from_local_copy(isolated_data):
    src = SHARED_DATASETS/"cifar10"
    if not src.exists(): pytest.skip("no local CIFAR-10 copy at ../shared/datasets/cifar10")
    r = subprocess.run([str(BIN/"deepclust"), "fetch", "cifar10", "--from", str(src)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "cifar10: 60000 images (3, 32, 32), 10 classes" in r.stdout
    assert "per class [6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000, 6000]" in r.stdout

def test_fetch_without_network_fails_fast(isolated_data):
    t = time.perf_counter()
    r = subprocess.run([str(BIN/"deepclust"), "fetch", "cifar10"], capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t
    assert r.returncode == 2
    assert "cifar-10-python.tar.gz" in r.stderr and "--from" in r.stderr, r.stderr
    assert "Traceback" not in r.stderr
    assert elapsed < 60, f"took {elapsed:.0f} s"
    assert not any(p.is_file() for p in isolated_data.rglob("*")), "a failed download left files behind"
