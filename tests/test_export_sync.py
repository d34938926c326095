"The library is exactly the export of the notebooks: exporting a copy of the notebooks reproduces deepclust_nb/ byte for byte."
import filecmp, shutil, subprocess
from pathlib import Path
from conftest import REPO, BIN

def _tree(root: Path) -> dict:
    return {p.relative_to(root): p for p in root.rglob("*.py") if "__pycache__" not in p.parts}

def test_export_changes_nothing(tmp_path):
    # export from the notebooks alone into an empty library folder, so every module must be regenerated
    shutil.copytree(REPO/"nbs", tmp_path/"nbs", ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
    shutil.copy(REPO/"settings.ini", tmp_path)
    (tmp_path/"deepclust_nb").mkdir()
    shutil.copy(REPO/"deepclust_nb"/"__init__.py", tmp_path/"deepclust_nb")
    r = subprocess.run([str(BIN/"nbdev_export")], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    before, after = _tree(REPO/"deepclust_nb"), _tree(tmp_path/"deepclust_nb")
    assert sorted(before) == sorted(after), f"exported modules differ: {sorted(set(before) ^ set(after))}"
    changed = [str(k) for k in before if not filecmp.cmp(before[k], after[k], shallow=False)]
    assert not changed, f"these modules differ from the export of their notebooks (edit the notebook, then nbdev_export): {changed}"

def test_tools_are_the_export_of_their_notebooks(tmp_path):
    "The development tools outside the package (tools/build_docs.py) are the export of their notebooks in tools/, by the documented command."
    shutil.copy(REPO/"settings.ini", tmp_path)
    (tmp_path/"tools").mkdir()
    notebooks = sorted((REPO/"tools").glob("*.ipynb"))
    assert notebooks
    for nb in notebooks:
        shutil.copy(nb, tmp_path/"tools")
        r = subprocess.run([str(BIN/"python"), "-c", f"from nbdev.export import nb_export; nb_export('tools/{nb.name}', 'tools')"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        script = nb.with_suffix(".py")
        assert filecmp.cmp(script, tmp_path/"tools"/script.name, shallow=False), f"{script.relative_to(REPO)} differs from the export of {nb.name}"
