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

# the longest tests first: pytest-xdist hands tests out in collection order, and a long test started last would be the suite's tail
# (with --dist worksteal, set in pyproject.toml, the other worker takes the short tests queued behind a long one)
LONGEST_FIRST = ("test_pipeline.py", "test_faults.py::test_killed", "test_docs.py::test_builder_notebook", "_report_", "test_distributed.py",
                 "tutorials", "02_data")
# ...but the docs site last: its build shows the notebooks' outputs from the executed copies that tests/test_notebooks.py keeps in
# .cache/executed/ and runs every notebook whose copy is not there yet (which the notebook tests then reuse), so it should come after them
LAST = ("test_docs.py::test_docs_site_in_chromium",)

def pytest_collection_modifyitems(items):
    def rank(item):
        if any(key in item.nodeid for key in LAST): return len(LONGEST_FIRST) + 1
        return next((i for i, key in enumerate(LONGEST_FIRST) if key in item.nodeid), len(LONGEST_FIRST))
    items.sort(key=rank)   # stable: the rest keep their order

@pytest.fixture
def isolated_data(tmp_path, monkeypatch):
    "A private data folder, and no network: proxies that refuse every connection at once."
    monkeypatch.setenv("DEEPCLUST_DATA", str(tmp_path/"data"))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(var, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False); monkeypatch.delenv("NO_PROXY", raising=False)
    return tmp_path/"data"

# -- the fault-injection suite's counts: tests record them with `record_property`; the controller (also under xdist) adds them up,
#    prints them at the end and writes reliability.json and .md: into test-artifacts/ (git-ignored), so that a test run leaves the checkout
#    as it found it, or, on request, into the folder DEEPCLUST_RELIABILITY_REPORT names; the committed reports/reliability.* (from which the
#    report's reliability section is generated) are refreshed with `DEEPCLUST_RELIABILITY_REPORT=reports .venv/bin/python -m pytest tests/test_faults.py`.
FAULT_COUNTS = ("faults_injected", "runs_resumed", "files_checked", "bad_inputs_tried")
_fault_results: dict[str, dict] = {}

def pytest_runtest_logreport(report):
    props = dict(report.user_properties)   # the same properties come with every phase: count them from the call phase only
    if not (any(k in props for k in FAULT_COUNTS) or report.nodeid.startswith("tests/test_faults.py")): return
    entry = _fault_results.setdefault(report.nodeid, dict(outcome="passed", seconds=0.0, **{k: 0 for k in FAULT_COUNTS}))
    entry["seconds"] += report.duration
    if report.failed: entry["outcome"] = "failed"
    if report.when == "call":
        if report.skipped: entry["outcome"] = "skipped"
        for k in FAULT_COUNTS: entry[k] += int(props.get(k, 0))

def pytest_terminal_summary(terminalreporter):
    if not _fault_results or os.environ.get("PYTEST_XDIST_WORKER"): return
    totals = {k: sum(r[k] for r in _fault_results.values()) for k in FAULT_COUNTS}
    failed = sorted(n for n, r in _fault_results.items() if r["outcome"] != "passed")
    terminalreporter.write_sep("=", "fault-injection suite")
    terminalreporter.write_line(", ".join(f"{v} {k.replace('_', ' ')}" for k, v in totals.items())
                                + f"; {len(_fault_results) - len(failed)} of {len(_fault_results)} tests passed"
                                + (f"; FAILED: {', '.join(failed)}" if failed else ""))
    from deepclust_nb.core import provenance, write_json
    from deepclust_nb.report import write_reliability
    import torch
    prov = provenance(torch.device("cpu"))
    out = Path(os.environ.get("DEEPCLUST_RELIABILITY_REPORT") or REPO/"test-artifacts")
    if not out.is_absolute(): out = REPO/out
    out.mkdir(parents=True, exist_ok=True)
    write_reliability(out, dict(totals=totals, tests=dict(sorted(_fault_results.items())), all_passed=not failed,
                                git_commit=prov.get("git_commit"), git_dirty=prov.get("git_dirty"),
                                seconds=round(sum(r["seconds"] for n, r in _fault_results.items() if "test_faults.py" in n), 1)))
    terminalreporter.write_line(f"written: {out/'reliability.md'} and .json")
