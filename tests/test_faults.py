"""The fault-injection suite: killed runs, interrupted checkpoint writes, checkpoints of other runs, bad inputs, numerical faults,
determinism and malformed dataset files. Each test records what it injected and checked (`record_property`); conftest.py adds the
counts up, prints them at the end of the session and writes them to reports/reliability.json and .md."""
import errno, io, json, os, random, signal, subprocess, sys, time, warnings
from pathlib import Path
from unittest import mock

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import BIN, REPO
from deepclust_nb import cli
from deepclust_nb.core import ConfigError, RunConfig
from deepclust_nb.data import DatasetError, DatasetWarning, ImageDataset, RemoteFile, download, fetch, load, cache_paths
from deepclust_nb.harness import NonFiniteLossError
from deepclust_nb.checkpoint import save_checkpoint
from deepclust_nb.engine import CheckpointError, evaluate_checkpoint, fit, load_checkpoint, run_identity

ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}   # the same thread count in every process: bit-identical runs
TRAIN = ["train", "--method", "simclr", "--dataset", "digits", "--backbone", "tiny", "--image-size", "8", "--epochs", "3",
         "--batch-size", "128", "--seed", "5", "--checkpoint-every", "1", "--eval-every", "0", "--no-progress"]

def _train(out, wrapper=()):
    "Run the training command to its end (or its death); return the process."
    cmd = ([sys.executable, str(REPO/"tests"/"fault_inject.py"), *wrapper, "--"] if wrapper else [str(BIN/"deepclust")]) + TRAIN + ["--out", str(out)]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)

def _final(out):
    state = load_checkpoint(out/"checkpoint.pt")
    return state, json.loads((out/"metrics.json").read_text())["metrics"]

def _same_run(a, b):
    (sa, ma), (sb, mb) = _final(a), _final(b)
    assert (sa["epoch"], sa["step"]) == (sb["epoch"], sb["step"])
    for k in sa["model"]: assert torch.equal(sa["model"][k], sb["model"][k]), k
    assert ma == mb, (ma, mb)

def test_killed_runs_resume_to_the_uninterrupted_result(tmp_path, isolated_data, record_property):
    """SIGKILL at random instants, inside a checkpoint write and between its commit and rename: every run ends as the uninterrupted one
    (bit-identical weights and metrics), which also proves that training resumes exactly."""
    t = time.perf_counter()
    ref = _train(tmp_path/"reference"); assert ref.returncode == 0, ref.stderr
    duration = time.perf_counter() - t
    faults = resumed = 0

    # random instants: one during start-up, then one inside the second epoch (after the first checkpoint); a fixed
    # seed makes the schedule repeatable, and each kill is followed by a restart in the same folder
    epoch_s = max(r["epoch_time_s"] for r in map(json.loads, (tmp_path/"reference"/"metrics.jsonl").read_text().splitlines()) if "epoch_time_s" in r)
    rng, out = random.Random(0), tmp_path/"random"
    for wait_for_epoch in (0, 1):
        proc = subprocess.Popen([str(BIN/"deepclust"), *TRAIN, "--out", str(out)], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        ckpt, deadline = out/"checkpoint.json", time.time() + 300
        while proc.poll() is None and time.time() < deadline and (json.loads(ckpt.read_text())["epoch"] if ckpt.exists() else 0) < wait_for_epoch:
            time.sleep(0.02)
        time.sleep(rng.uniform(0.05, 0.9) * (duration / 2 if wait_for_epoch == 0 else epoch_s))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL); proc.wait(); faults += 1; resumed += 1
    done = _train(out); assert done.returncode == 0, done.stderr
    _same_run(tmp_path/"reference", out)

    for mode, k in (("mid-write", 2), ("after-commit", 1)):
        out = tmp_path/f"{mode}-{k}"
        died = _train(out, wrapper=(mode, str(k)))
        assert died.returncode == -signal.SIGKILL, (died.returncode, died.stderr)
        faults += 1
        done = _train(out); resumed += 1
        assert done.returncode == 0, done.stderr
        _same_run(tmp_path/"reference", out)
        assert sorted(p.name for p in out.iterdir() if "checkpoint" in p.name) == ["checkpoint.json", "checkpoint.pt"]   # nothing stale
    record_property("faults_injected", faults); record_property("runs_resumed", resumed); record_property("files_checked", 1 + 2)

def _small(n=256):
    d = load("digits")
    return ImageDataset(d.images[:n], d.labels[:n], d.class_names, "digits", d.variant, d.protocol, d.meta)

SMALL = dict(method="simclr", dataset="digits", backbone="tiny", stem="cifar", image_size=8, epochs=1, batch_size=64, eval_every=0)

def test_checkpoints_of_other_runs_and_of_epoch_0_are_refused(tmp_path, isolated_data, record_property):
    data = _small()
    cfg = RunConfig.from_dict(SMALL)
    fit(cfg, tmp_path/"run", data=data, progress=False)
    tried = 0
    for change, shown in ((dict(method="cc"), "method: checkpoint has 'simclr', this run has 'cc'"),
                          (dict(backbone="resnet18"), "backbone: checkpoint has 'tiny', this run has 'resnet18'"),
                          (dict(n_clusters=7), "n_clusters: checkpoint has 10, this run has 7")):
        with pytest.raises(CheckpointError, match="belongs to another run") as e: fit(cfg.replace(**change), tmp_path/"run", data=data, progress=False)
        assert shown in str(e.value); tried += 1
    other = ImageDataset(data.images, data.labels, data.class_names, "usps", data.variant, data.protocol, data.meta)
    with pytest.raises(CheckpointError, match="dataset: checkpoint has 'digits', this run has 'usps'"):
        fit(cfg.replace(dataset="usps"), tmp_path/"run", data=other, progress=False)
    tried += 1
    state = load_checkpoint(tmp_path/"run"/"checkpoint.pt")
    save_checkpoint(tmp_path/"untrained"/"checkpoint.pt", {**state, "epoch": 0, "step": 0})
    with pytest.raises(CheckpointError, match="is from epoch 0"): evaluate_checkpoint(tmp_path/"untrained"/"checkpoint.pt", data=data)
    assert evaluate_checkpoint(tmp_path/"untrained"/"checkpoint.pt", data=data, allow_untrained=True)["epoch"] == 0
    tried += 1
    record_property("bad_inputs_tried", tried); record_property("files_checked", tried + 1)

def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with mock.patch("sys.stdout", out), mock.patch("sys.stderr", err): status = cli.main(list(argv))
    return status, err.getvalue()

@pytest.mark.filterwarnings("ignore::deepclust_nb.data.DatasetWarning")   # the truncated archive's md5 is not the official one
def test_bad_inputs_fail_clearly_and_leave_nothing_behind(tmp_path, isolated_data, record_property, monkeypatch):
    monkeypatch.chdir(tmp_path)
    base = ["train", "--method", "simclr", "--preset", "digits", "--epochs", "1", "--no-progress"]
    fetch("digits")
    cache, _ = cache_paths("digits")
    (tmp_path/"a-file").write_text("not a folder")
    truncated = tmp_path/"copy"/"cifar-10-python.tar.gz"; truncated.parent.mkdir()
    truncated.write_bytes(b"\x1f\x8b\x08\x00" + bytes(60))   # a gzip header, then nothing: an interrupted copy of the archive
    cases = [
        (["train", "--method", "simclx"], "unknown method 'simclx'; accepted: cc, cdc, cdec, jule, sacc, simclr"),
        (["train", "--method", "cc", "--dataset", "cifar-11"], "unknown dataset 'cifar-11'; accepted:"),
        (["profile", "huge", "--params", str(tmp_path/"params.yaml")], "unknown profile 'huge'; accepted: default, tiny, fast, paper, jule"),
        ([*base, "--epochs", "0"], "epochs must be an integer >= 1, got 0"),
        ([*base, "--epochs", "-3"], "epochs must be an integer >= 1, got -3"),
        ([*base, "--batch-size", "4096"], "batch_size 4096 is larger than dataset 'digits' (1797 images)"),
        ([*base, "--n-clusters", "5000"], "n_clusters 5000 is larger than the number of images in 'digits' (1797)"),
        ([*base, "--backbone", "resnet18", "--stem", "imagenet"], "image_size=8 is too small for resnet18 with the imagenet stem"),
        ([*base, "--dataset", "usps", "--data-from", str(tmp_path/"no-such-copy")], "does not exist; give a file or folder holding usps"),
        ([*base, "--out", str(tmp_path/"a-file"/"run")], "is not writable"),
        (["fetch", "cifar10", "--from", str(tmp_path/"a-file")], "no CIFAR-10 data at"),
        (["fetch", "cifar10", "--from", str(truncated)], "cifar-10-python.tar.gz is neither a zip nor a tar archive"),
        (["evaluate", str(tmp_path/"no-run")], "no checkpoint at"),
    ]
    for argv, message in cases:
        status, err = _cli(*argv)
        assert status == 2 and message in err and "Traceback" not in err, (argv, status, err)
    assert not (tmp_path/"runs").exists() and not (tmp_path/"params.yaml").exists()   # nothing started, nothing half-written

    # a corrupt dataset cache is detected, not used
    good = cache.read_bytes()
    cache.write_bytes(good[:100] + bytes([good[100] ^ 0xFF]) + good[101:])
    status, err = _cli(*base, "--out", str(tmp_path/"corrupt"))
    assert status == 2 and "prepared digits cache" in err and "is corrupt" in err, err
    cache.write_bytes(good)

    # a download whose checksum does not match is not kept
    (tmp_path/"served.bin").write_bytes(b"not the official bytes")
    rf = RemoteFile("fake.tar.gz", ((tmp_path/"served.bin").as_uri(),), md5="0" * 32)
    with pytest.raises(DatasetError, match="checksum mismatch for fake.tar.gz .* expected md5 0{32}"): download(rf, tmp_path/"raw", "fake")
    assert not any((tmp_path/"raw").iterdir())

    # a full disk while writing the second checkpoint: a clear error, the first checkpoint kept, nothing half-written
    real_save, calls = torch.save, []
    def full_disk(obj, f, *a, **kw):
        calls.append(1)
        if len(calls) == 2: f.write(b"partial"); raise OSError(errno.ENOSPC, "No space left on device")
        return real_save(obj, f, *a, **kw)
    with mock.patch("torch.save", full_disk):
        status, err = _cli(*base, "--epochs", "2", "--checkpoint-every", "1", "--out", str(tmp_path/"full"))
    assert status == 2 and "could not write checkpoint" in err and "No space left on device" in err and "previous checkpoint is kept" in err, err
    assert load_checkpoint(tmp_path/"full"/"checkpoint.pt")["epoch"] == 1
    assert sorted(p.name for p in (tmp_path/"full").iterdir() if "checkpoint" in p.name) == ["checkpoint.json", "checkpoint.pt"]
    record_property("bad_inputs_tried", len(cases) + 3); record_property("faults_injected", 2); record_property("files_checked", 3)

def test_numerical_faults_are_stopped_and_reported(tmp_path, isolated_data, record_property):
    from deepclust_nb.methods.simclr import SimCLR
    from deepclust_nb.models import ClusterHead
    from deepclust_nb.report import aggregate, evaluate_run, write_report
    data, cfg = _small(), RunConfig.from_dict({**SMALL, "epochs": 3, "checkpoint_every": 1})
    real_loss, steps = SimCLR.loss, []
    def nan_from_step_9(self, model, views, cfg):
        parts = real_loss(self, model, views, cfg); steps.append(1)
        return {**parts, "loss": parts["loss"] * float("nan")} if len(steps) > 9 else parts
    with mock.patch.object(SimCLR, "loss", nan_from_step_9), pytest.raises(NonFiniteLossError) as e:
        fit(cfg, tmp_path/"nan", data=data, progress=False, sync_every=1)
    assert "non-finite loss at step 9 (epoch 3)" in str(e.value) and "last good checkpoint (epoch 2) is kept" in str(e.value), e.value
    assert load_checkpoint(tmp_path/"nan"/"checkpoint.pt")["epoch"] == 2

    # a cluster head that sends every image to cluster 3: the metrics say so, and so does the report
    real_head = ClusterHead.forward
    def one_cluster(self, h):
        p = real_head(self, h)
        return torch.nn.functional.one_hot(torch.full((len(h),), 3), p.shape[1]).float() + 0 * p
    with mock.patch.object(ClusterHead, "forward", one_cluster):
        res = fit(RunConfig.from_dict({**SMALL, "method": "cc"}), tmp_path/"runs"/"cc-digits-s0", data=data, progress=False)
    assert res["metrics"]["n_clusters_used"] == 1 and res["metrics"]["nmi"] == 0
    write_report(tmp_path, aggregate([evaluate_run(tmp_path/"runs"/"cc-digits-s0")]), papers=["CC"])
    assert "**Collapsed**: run `cc-digits-s0`" in (tmp_path/"README.md").read_text()
    record_property("faults_injected", 2)

def test_the_same_seed_gives_the_same_bits_on_the_cpu(tmp_path, isolated_data, record_property):
    data, cfg = _small(), RunConfig.from_dict({**SMALL, "method": "cc", "epochs": 2, "eval_every": 1})
    a, b = (fit(cfg, tmp_path/n, data=data, progress=False) for n in ("a", "b"))
    assert a["metrics"] == b["metrics"]
    sa, sb = (load_checkpoint(tmp_path/n/"checkpoint.pt")["model"] for n in ("a", "b"))
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    record_property("files_checked", 2)

# -- malformed dataset files: every importer raises a DatasetError or ConfigError (or accepts the file), never anything else, never hangs

def _npz_bytes(**arrays) -> bytes:
    buf = io.BytesIO(); np.savez(buf, **arrays); return buf.getvalue()

_dtypes = st.sampled_from([np.uint8, np.int64, np.float32, np.bool_])
_images = st.tuples(st.integers(0, 4), st.sampled_from([(8, 8), (16, 16), (28, 28), (32, 32)]), st.sampled_from([(), (1,), (3,), (2,)]), _dtypes)
_labels = st.tuples(st.integers(-2, 12), st.integers(0, 5), st.sampled_from(["int", "float", "2d", "str"]))

def _build_split(images, labels, rng) -> dict:
    n, hw, c, dt = images
    arrays = dict(images=(rng.integers(0, 256, (n, *hw, *c))).astype(dt))
    hi, m, kind = labels
    y = rng.integers(min(hi, 0), max(hi, 1), m)
    arrays["labels"] = {"int": y, "float": y + 0.5, "2d": y.reshape(-1, 1) if m else y, "str": y.astype(str)}[kind]
    return arrays

def test_importers_survive_malformed_files(tmp_path_factory, record_property):
    "Truncated files, wrong shapes and dtypes, labels out of range or of the wrong type: a DatasetError or ConfigError, or a valid dataset."
    cases = []
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(name=st.sampled_from(["usps", "mnist", "cifar10"]), train=_images, test=_images, labels=_labels,
           cut=st.one_of(st.none(), st.floats(0.0, 0.99)), seed=st.integers(0, 2**16))
    def check(name, train, test, labels, cut, seed):
        rng = np.random.default_rng(seed)
        src = tmp_path_factory.mktemp("fuzz")
        for split, images in (("train", train), ("test", test)):
            data = _npz_bytes(**_build_split(images, labels, rng))
            if cut is not None and split == "train": data = data[:int(len(data) * cut)]   # a truncated file
            (src/f"{split}.npz").write_bytes(data)
        t = time.perf_counter()
        try:
            ds = fetch(name, source=src, root=src/"root")
            assert ds.exists()
        except (DatasetError, ConfigError): pass
        assert time.perf_counter() - t < 10, "an importer took more than 10 s on a tiny file"
        cases.append(name)
    check()

    # the official formats: each dataset's archive or raw files, as random bytes behind the right magic numbers and compression headers
    from deepclust_nb.data import get_spec
    heads = [b"", b"\x1f\x8b\x08\x00", b"BZh91AY&SY", b"PK\x03\x04", b"\x00\x00\x08\x03", b"\x00\x00\x08\x01", b"1 1:0.5 2:-1\n"]
    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True)
    @given(name=st.sampled_from(["usps", "mnist", "mnist-test", "cifar10", "cifar100", "stl10", "coil20", "tiny-imagenet"]),
           head=st.sampled_from(heads), body=st.binary(max_size=2048))
    def check_raw(name, head, body):
        src = tmp_path_factory.mktemp("fuzz-raw")
        for fname in get_spec(name).downloads: (src/fname).write_bytes(head + body)
        t = time.perf_counter()
        try: fetch(name, source=src, root=src/"root")
        except (DatasetError, ConfigError): pass
        assert time.perf_counter() - t < 10, "an importer took more than 10 s on a tiny file"
        cases.append(name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)   # the md5 of a fuzzed archive is never the official one
        check_raw()
    record_property("files_checked", len(cases)); record_property("bad_inputs_tried", len(cases))
