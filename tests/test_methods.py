"Every registered method trains on `digits` on the CPU through `fit` for a few epochs: the loss goes down and NMI rises above its value at initialisation."
import pytest
from deepclust_nb.core import RunConfig
from deepclust_nb.data import load
from deepclust_nb.engine import fit, list_methods, METHODS, MetricsLog

SHORT_EPOCHS = 10

@pytest.mark.parametrize("name", list_methods())
def test_short_digits_run_learns(name, tmp_path):
    preset = METHODS[name].presets.get("digits")
    assert preset is not None, f"method {name!r} has no `digits` preset (the embedded dataset every method must run on)"
    cfg = RunConfig.from_dict({**preset, "method": name, "seed": 0, "epochs": min(preset.get("epochs", SHORT_EPOCHS), SHORT_EPOCHS),
                               "checkpoint_every": 0})
    fit(cfg, tmp_path, data=load("digits"), progress=False)
    log = [r for r in MetricsLog(tmp_path).records]
    losses = [r["loss"] for r in log if "loss" in r]
    nmis = [r["nmi"] for r in log if "nmi" in r]
    assert len(losses) >= 2 and losses[-1] < losses[0], f"{name}: loss did not go down: {losses}"
    assert nmis[-1] > nmis[0], f"{name}: NMI did not rise above its value at initialisation: {nmis}"
