"""JULE's face datasets (cmu-pie, umist, frgc, ytf): every accepted form on tiny fixtures written here, column-major `.mat` images,
damaged and mislabelled files (a DatasetError naming the file, nothing left behind), local-folder aliases, and the offline CMU-PIE copy."""
import io, shutil, subprocess, tarfile, zipfile
import numpy as np
import pytest
import scipy.io
from PIL import Image
from conftest import BIN, SHARED_DATASETS
from deepclust_nb.core import ConfigError
from deepclust_nb.data import (DatasetError, DownloadError, build_cmu_pie, build_frgc, build_umist, build_ytf, fetch, get_spec,
                               list_datasets, load, local_dirs, read_image_folders, read_mat_cells, read_mat_faces)

PIE_SHA256 = "6c6c67b481ef72e178af028e4af9f2291c6673e3e2cdadaa2b105d6ad2c0c109"
RNG = np.random.default_rng(0)

# -- fixture writers ---------------------------------------------------------------------------------------------------------------

def mat_bytes(**variables) -> bytes:
    b = io.BytesIO(); scipy.io.savemat(b, variables); return b.getvalue()

def fea_columns(images:np.ndarray) -> np.ndarray:
    "MATLAB's fea(:, i) = img(:) for images (N, H, W[, C]): a D x N matrix of column-major vectors."
    return np.stack([im.ravel(order="F") for im in images], axis=1)

def image_bytes(a:np.ndarray, fmt:str="PNG") -> bytes:
    b = io.BytesIO(); Image.fromarray(a).save(b, fmt); return b.getvalue()

def write_folders(root, groups:dict, fmt:str="PNG", ext:str="png"):
    "root/<subject>/<i>.<ext> for each subject's list of arrays; returns root."
    for s, images in groups.items():
        (root/s).mkdir(parents=True, exist_ok=True)
        for i, a in enumerate(images): (root/s/f"{i:03d}.{ext}").write_bytes(image_bytes(a, fmt))
    return root

def tar_of(path, folder, arcroot:str):
    with tarfile.open(path, "w:gz") as tf: tf.add(folder, arcname=arcroot)
    return path

def zip_of(path, folder, arcroot:str):
    with zipfile.ZipFile(path, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file(): zf.write(p, f"{arcroot}/{p.relative_to(folder).as_posix()}")
    return path

def asymmetric(h:int, w:int, c:int|None=None) -> np.ndarray:
    "An image whose transpose or flip differs from it: a gradient down the rows plus a smaller one across the columns."
    a = (np.arange(h)[:, None] * 7 + np.arange(w)[None, :] * 2) % 256
    a = a.astype(np.uint8)
    return a if c is None else np.stack([a, 255 - a, a // 2][:c], axis=-1)

def no_files(root) -> bool:
    return not any(p.is_file() for p in root.rglob("*")) if root.exists() else True

@pytest.fixture
def root(tmp_path):
    return tmp_path/"data"

# -- read_mat_faces: layout, orientation, values, labels ------------------------------------------------------------------------

def test_mat_column_major_is_upright():
    face = asymmetric(5, 3)
    r = read_mat_faces(mat_bytes(fea=fea_columns(np.stack([face, 255 - face])), gnd=[[2], [1]]), (5, 3))
    assert r["layout"] == "D x N (one image per column)"
    assert np.array_equal(r["images"][0, ..., 0], face)                      # not face.T reshaped, not flipped
    assert r["labels"].tolist() == [1, 0] and r["class_ids"] == [1, 2]
    rows = read_mat_faces(mat_bytes(fea=fea_columns(np.stack([face, 255 - face])).T, gnd=[2, 1]), (5, 3))
    assert rows["layout"] == "N x D (one image per row)" and np.array_equal(rows["images"], r["images"])

def test_mat_rgb_values_and_ids():
    rgb = asymmetric(4, 6, 3)
    r = read_mat_faces(mat_bytes(fea=fea_columns(rgb[None]), gnd=[0]), (4, 6, 3))
    assert np.array_equal(r["images"][0], rgb)
    faces = np.stack([asymmetric(4, 3), 255 - asymmetric(4, 3), asymmetric(4, 3) // 3])
    for fea, values in [(fea_columns(faces) / 255.0, "float64 in [0, 1], scaled by 255 and rounded"),
                        (fea_columns(faces).astype(np.float32), "float32 in [0, 255], rounded"),
                        (fea_columns(faces).astype(np.int16), "int16 in 0..255")]:
        r = read_mat_faces(mat_bytes(fea=fea, gnd=np.array([10, 0, 10], float)), ((8, 8), (4, 3)))
        assert r["values"] == values and np.array_equal(r["images"][..., 0], faces)
        assert r["labels"].tolist() == [1, 0, 1] and r["class_ids"] == [0, 10]

@pytest.mark.parametrize("variables, shape, k, message", [
    (dict(fea=np.zeros((12, 3), np.uint8), gnd=[1, 2]), (4, 3), None, "`fea` is 12x3 but `gnd` holds 2 ids"),          # gnd too short
    (dict(fea=np.zeros((12, 3), np.uint8), gnd=[1, 2, 3]), (4, 4), None, "3 images of 12 values, expected 16 (4x4)"),  # wrong image size
    (dict(fea=np.zeros((12, 3), np.uint8), gnd=[1, 2, 2]), (4, 3), 3, "`gnd` holds 2 distinct subject ids (1..2), expected 3 subjects"),
    (dict(fea=np.zeros((12, 3), np.uint8), gnd=[1, 2.5, 3]), (4, 3), None, "integer subject ids, found 2.5"),
    (dict(fea=np.full((12, 3), -1.0), gnd=[1, 2, 3]), (4, 3), None, "`fea` values span -1..-1"),
    (dict(fea=np.zeros((12, 3), np.uint8)), (4, 3), None, "has no `gnd` variable (it holds: fea)"),
])
def test_mat_mislabelled_or_inconsistent(variables, shape, k, message):
    with pytest.raises(DatasetError, match="PIE_bad.mat") as e: read_mat_faces(mat_bytes(**variables), shape, k, name="PIE_bad.mat")
    assert message in str(e.value)

def test_mat_truncated_corrupt_and_v73(tmp_path):
    good = mat_bytes(fea=fea_columns(np.stack([asymmetric(4, 3)] * 2)), gnd=[1, 2])
    for n, data in [("cut.mat", good[:-9]), ("header.mat", good[:60]), ("noise.mat", RNG.integers(0, 256, 400, dtype=np.uint8).tobytes())]:
        (tmp_path/n).write_bytes(data)
        with pytest.raises(DatasetError, match=f"{tmp_path/n} is not a readable MATLAB .mat file"): read_mat_faces(tmp_path/n, (4, 3))
    (tmp_path/"v73.mat").write_bytes(b"MATLAB 7.3 MAT-file, Platform: GLNXA64, HDF5 schema 1.00 ." + bytes(453) + b"\x89HDF\r\n\x1a\n" + bytes(64))
    with pytest.raises(DatasetError, match="v73.mat is a MATLAB v7.3 \\(HDF5\\) file.*-v7"): read_mat_faces(tmp_path/"v73.mat", (4, 3))

# -- image folders ---------------------------------------------------------------------------------------------------------------

def test_image_folders_sorted_upright_and_archived(tmp_path):
    face = asymmetric(6, 4)
    src = write_folders(tmp_path/"wrap"/"faces", {"s10": [face + 30], "s2": [face + 20, face + 21], "s1": [face]})
    (tmp_path/"wrap"/"faces"/"s1"/"notes.txt").write_text("x")
    r = read_image_folders(tmp_path/"wrap")
    assert r["class_names"] == ["s1", "s2", "s10"] and r["labels"].tolist() == [0, 1, 1, 2]
    assert np.array_equal(r["images"][0, ..., 0], face) and r["images"][1:, 0, 0, 0].tolist() == [20, 21, 30]
    for archive in (tar_of(tmp_path/"f.tar.gz", src, "faces"), zip_of(tmp_path/"f.zip", src, "x/faces")):
        assert np.array_equal(read_image_folders(archive)["images"], r["images"])

def test_image_folders_damaged(tmp_path):
    src = write_folders(tmp_path/"f", {"a": [asymmetric(6, 4)] * 2, "b": [asymmetric(6, 4)]})
    (src/"b"/"000.png").write_bytes(image_bytes(asymmetric(6, 4))[:40])
    with pytest.raises(DatasetError, match=f"{src}/b/000.png: cannot decode the image"): read_image_folders(src)
    (src/"b"/"000.png").write_bytes(image_bytes(asymmetric(7, 4)))
    with pytest.raises(DatasetError, match=f"{src}/b/000.png is 4x7, {src}/a/000.png is 4x6"): read_image_folders(src)
    (src/"b"/"000.png").write_bytes(image_bytes(asymmetric(6, 4)))
    tgz = tar_of(tmp_path/"f.tar.gz", src, "f")
    (tmp_path/"cut.tar.gz").write_bytes(tgz.read_bytes()[:len(tgz.read_bytes()) // 2])
    with pytest.raises(DatasetError, match="cut.tar.gz"): read_image_folders(tmp_path/"cut.tar.gz")
    with pytest.raises(ConfigError, match="no images in subject folders"): read_image_folders(src/"a")
    z = zip_of(tmp_path/"f.zip", src, "f")
    data = bytearray(z.read_bytes()); at = data.index(b"\x89PNG") + 20; data[at:at + 8] = bytes(8)   # damage a stored member
    (tmp_path/"bad.zip").write_bytes(bytes(data))
    with pytest.raises(DatasetError, match=f"{tmp_path/'bad.zip'}: cannot read member f/a/000.png"): read_image_folders(tmp_path/"bad.zip")

# -- cmu-pie -------------------------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def pie_images():
    return RNG.integers(0, 256, (68, 32, 32), dtype=np.uint8)    # one image for each of the 68 subjects: K is checked by the registry

def test_cmu_pie_every_form(tmp_path, pie_images):
    (tmp_path/"PIE_32x32.mat").write_bytes(mat_bytes(fea=fea_columns(pie_images), gnd=np.arange(1, 69)[:, None]))
    m = build_cmu_pie(tmp_path/"PIE_32x32.mat")
    assert (m.variant, m.meta["form"], m.class_names[67]) == ("CMU-PIE (32x32 grey) [only 68 of 2,856 images]", "mat fea/gnd", "subject68")
    assert np.array_equal(m.images[:, 0].numpy(), pie_images)
    np.savez_compressed(tmp_path/"all.npz", images=pie_images[..., None], labels=np.arange(68),
                        class_names=np.array([f"subject{i}" for i in range(1, 69)]))
    n = build_cmu_pie(tmp_path/"all.npz")
    assert n.meta["form"] == "npz" and n.images.equal(m.images) and n.class_names == m.class_names
    folders = write_folders(tmp_path/"pie_folders", {f"subject{i + 1}": [pie_images[i]] for i in range(68)})
    f = build_cmu_pie(folders)
    assert f.meta["form"] == "image folders" and f.images.equal(m.images) and f.class_names == m.class_names   # natural order: 2 before 10
    assert build_cmu_pie(zip_of(tmp_path/"pie.zip", folders, "PIE")).images.equal(m.images)
    assert build_cmu_pie(tmp_path).meta["form"] == "mat fea/gnd"            # a folder holding all forms: the .mat first

def test_cmu_pie_fetch_failures_leave_nothing(tmp_path, root, pie_images):
    with pytest.raises(DownloadError) as e: fetch("cmu-pie", root=root)
    for part in ("no public download URL", "--from PATH", "http://www.ri.cmu.edu/projects/project_418.html",
                 "http://www.cad.zju.edu.cn/home/dengcai/Data/FaceData.html", "research use"):
        assert part in str(e.value)
    good = mat_bytes(fea=fea_columns(pie_images), gnd=np.arange(1, 69))
    cases = {"gnd_short.mat": (mat_bytes(fea=fea_columns(pie_images), gnd=np.arange(1, 68)), "`gnd` holds 67 ids"),
             "gnd_67.mat": (mat_bytes(fea=fea_columns(pie_images), gnd=np.arange(68) % 67 + 1), "67 distinct subject ids (1..67), expected 68"),
             "truncated.mat": (good[:len(good) * 2 // 3], "is not a readable MATLAB .mat file"),
             "corrupt.mat": (good[:128] + bytes(b ^ 0xFF for b in good[128:]), "is not a readable MATLAB .mat file")}
    for name, (data, message) in cases.items():
        (tmp_path/name).write_bytes(data)
        with pytest.raises(DatasetError) as e: fetch("cmu-pie", source=tmp_path/name, root=root)
        assert str(tmp_path/name) in str(e.value) and message in str(e.value), str(e.value)
    np.savez(tmp_path/"all.npz", images=pie_images[..., None], labels=np.arange(68) % 60)
    npz_cases = {"all.npz": "labels` span 0..59 with 60 distinct values, expected all 68 subjects"}
    (tmp_path/"cut.npz").write_bytes((tmp_path/"all.npz").read_bytes()[:5000]); npz_cases["cut.npz"] = "is not a readable .npz file"
    for name, message in npz_cases.items():
        with pytest.raises(DatasetError) as e: fetch("cmu-pie", source=tmp_path/name, root=root)
        assert str(tmp_path/name) in str(e.value) and message in str(e.value), str(e.value)
    folders = write_folders(tmp_path/"pie67", {f"subject{i + 1}": [pie_images[i]] for i in range(67)})
    with pytest.raises(DatasetError, match="holds 67 subject folders .*expected 68 for CMU-PIE"): fetch("cmu-pie", source=folders, root=root)
    assert no_files(root/"prepared") and no_files(root)

# -- umist ---------------------------------------------------------------------------------------------------------------------

def umist_cells(n_people:int=20):
    cells, names = np.empty((1, n_people), object), np.empty((1, n_people), object)
    for i in range(n_people):
        cells[0, i] = np.stack([asymmetric(112, 92) // (1 + i)] * (1 + i % 2), axis=-1)
        names[0, i] = f"1{chr(ord('a') + i)}"
    return cells, names

def test_umist_every_form(tmp_path):
    cells, names = umist_cells()
    (tmp_path/"umist_cropped.mat").write_bytes(mat_bytes(facedat=cells, dirnames=names))
    c = build_umist(tmp_path/"umist_cropped.mat")
    assert (c.variant, len(c), c.class_names[::19], c.meta["form"], c.meta["jule_setting"]) == \
        ("UMist (112x92 grey) [only 30 of 575 images]", 30, ["1a", "1t"], "mat facedat", True)
    assert np.array_equal(c.images[0, 0].numpy(), asymmetric(112, 92))
    faces = np.stack([asymmetric(112, 92) // (1 + i) for i in range(20)])
    (tmp_path/"umist_fea.mat").write_bytes(mat_bytes(fea=fea_columns(faces).T, gnd=np.arange(1, 21)))
    f = build_umist(tmp_path/"umist_fea.mat")
    assert f.meta["layout"] == "N x D (one image per row)" and np.array_equal(f.images[:, 0].numpy(), faces)
    small = RNG.integers(0, 256, (20, 32, 32), dtype=np.uint8)
    (tmp_path/"umist32.mat").write_bytes(mat_bytes(fea=fea_columns(small), gnd=np.arange(20)))
    s = build_umist(tmp_path/"umist32.mat")
    assert (s.variant, s.meta["image_size"], s.meta["jule_setting"]) == ("UMist (32x32 grey) [only 20 of 575 images]", [32, 32], False)
    assert np.array_equal(s.images[:, 0].numpy(), small)
    np.savez(tmp_path/"umist.npz", images=faces[..., None], labels=np.arange(20))
    assert build_umist(tmp_path/"umist.npz").images.equal(f.images)
    pgm = write_folders(tmp_path/"official"/"faces", {f"1{chr(ord('a') + i)}": [faces[i]] for i in range(20)}, "PPM", "pgm")
    p = build_umist(tmp_path/"official")
    assert p.meta["form"] == "image folders" and p.images.equal(f.images) and p.class_names[:2] == ["1a", "1b"]
    assert build_umist(tar_of(tmp_path/"umist.tar.gz", pgm, "faces")).images.equal(f.images)

def test_umist_refused(tmp_path, root):
    cells, names = umist_cells(19)
    (tmp_path/"umist_cropped.mat").write_bytes(mat_bytes(facedat=cells, dirnames=names))
    with pytest.raises(DatasetError, match="umist_cropped.mat: `facedat` holds 19 cells \\(subjects\\), expected 20"):
        fetch("umist", source=tmp_path/"umist_cropped.mat", root=root)
    (tmp_path/"odd.mat").write_bytes(mat_bytes(fea=np.zeros((20, 100), np.uint8), gnd=np.arange(20)))
    with pytest.raises(DatasetError, match="odd.mat: `fea` is 20x100: 20 images of 100 values, expected 10304 \\(112x92\\) or 4096"):
        fetch("umist", source=tmp_path/"odd.mat", root=root)
    with pytest.raises(DownloadError, match="umist needs umist_cropped.mat.*Sheffield"): fetch("umist", root=root)
    assert no_files(root)

# -- frgc ----------------------------------------------------------------------------------------------------------------------

def test_frgc_every_form(tmp_path, root):
    crops = {f"{4200 + s:05d}": [asymmetric(40, 40, 3) // (1 + s), asymmetric(40, 40, 3)] for s in range(20)}
    src = write_folders(tmp_path/"frgc", crops, "JPEG", "jpg")
    d = build_frgc(src)
    assert (d.variant, tuple(d.images.shape), d.class_names[0]) == ("FRGC-v2.0 subset (20 subjects, 32x32 RGB) [only 40 of 2,462 images]", (40, 3, 32, 32), "04200")
    assert d.meta["resize"].startswith("32x32") and d.meta["jule_setting"]
    rgb = np.stack([asymmetric(32, 32, 3) // (1 + s) for s in range(20)])
    (tmp_path/"frgc.mat").write_bytes(mat_bytes(fea=fea_columns(rgb), gnd=np.arange(1, 21)))
    m = build_frgc(tmp_path/"frgc.mat")
    assert np.array_equal(m.images.permute(0, 2, 3, 1).numpy(), rgb)
    png = write_folders(tmp_path/"frgc_png", {f"s{s}": [rgb[s]] for s in range(20)})
    assert build_frgc(png).images.equal(m.images)                       # 32x32 crops are kept as they are
    np.savez(tmp_path/"frgc.npz", images=rgb, labels=np.arange(20))
    assert build_frgc(tmp_path/"frgc.npz").images.equal(m.images)
    np.savez(tmp_path/"grey.npz", images=rgb[..., :1], labels=np.arange(20))
    with pytest.raises(DatasetError, match="grey.npz: images have 1 channel"): fetch("frgc", source=tmp_path/"grey.npz", root=root)
    write_folders(src, {"04999": [asymmetric(40, 40, 3)]}, "JPEG", "jpg")
    with pytest.raises(DatasetError, match="holds 21 subject folders .*JULE's 20 randomly chosen subjects are not published"):
        fetch("frgc", source=src, root=root)
    with pytest.raises(DownloadError, match="licence agreement with the University of Notre Dame.*https://cvrl.nd.edu/projects/data/"):
        fetch("frgc", root=root)
    assert no_files(root)

# -- ytf -----------------------------------------------------------------------------------------------------------------------

def ytf_tree(base, n_persons:int=42):
    persons = sorted(f"{a}_{b}" for a in ("Aaron", "Zoe") for b in "ABCDEFGHIJKLMNOPQRSTUVWXYZ")[:n_persons]
    for i, p in enumerate(persons):
        for v in (0, 3):
            (base/"aligned_images_DB"/p/str(v)).mkdir(parents=True)
            for frame in (2, 10):
                (base/"aligned_images_DB"/p/str(v)/f"aligned_detect_{v}.{frame}.jpg").write_bytes(image_bytes(np.full((24, 32, 3), 4 * i + frame, np.uint8), "JPEG"))
        (base/"frame_images_DB"/p/"0").mkdir(parents=True)
        (base/"frame_images_DB"/p/"0"/"1.jpg").write_bytes(image_bytes(np.zeros((50, 50, 3), np.uint8), "JPEG"))
    return persons

def test_ytf_first_41_subjects(tmp_path, root):
    persons = ytf_tree(tmp_path/"YouTubeFaces", 43)
    d = build_ytf(tmp_path/"YouTubeFaces", size=12)
    assert (d.variant, tuple(d.images.shape), d.meta["n_subjects_found"]) == ("YouTube Faces (first 41 of 43 subjects, 12x12 RGB)", (164, 3, 12, 12), 43)
    assert d.class_names == persons[:41] and d.labels.bincount().tolist() == [4] * 41
    assert abs(int(d.images[1, 0, 6, 6]) - 10) <= 2                     # frames in natural order: .2 before .10
    assert build_ytf(tmp_path/"YouTubeFaces"/"aligned_images_DB", size=12).images.equal(d.images)
    tgz = tar_of(tmp_path/"YouTubeFaces.tar.gz", tmp_path/"YouTubeFaces", "YouTubeFaces")
    assert build_ytf(tgz, size=12).images.equal(d.images)
    with tarfile.open(tmp_path/"frames_first.tar", "w") as tf:      # unaligned frames listed before the aligned ones: still ignored
        for sub in ("frame_images_DB", "aligned_images_DB"): tf.add(tmp_path/"YouTubeFaces"/sub, arcname=f"YTF/{sub}")
    assert build_ytf(tmp_path/"frames_first.tar", size=12).images.equal(d.images)
    assert tuple(build_ytf(tmp_path/"YouTubeFaces").images.shape[1:]) == (3, 55, 55)
    np.savez(tmp_path/"ytf.npz", images=d.images.permute(0, 2, 3, 1).numpy(), labels=d.labels.numpy())
    assert build_ytf(tmp_path/"ytf.npz").images.equal(d.images)
    ytf_tree(tmp_path/"few", 40)
    with pytest.raises(DatasetError, match="holds 40 subject folders .*expected 41"): fetch("ytf", source=tmp_path/"few", root=root)
    with pytest.raises(DownloadError, match="https://www.cs.tau.ac.il/~wolf/ytfaces/"): fetch("ytf", root=root)
    assert no_files(root)

# -- registry, local folders and the CLI -------------------------------------------------------------------------------------------

def test_registered_with_aliases(tmp_path, root, pie_images):
    for name, k in [("cmu-pie", 68), ("umist", 20), ("frgc", 20), ("ytf", 41)]:
        assert name in list_datasets() and get_spec(name).n_classes == k and get_spec(name).description
    assert local_dirs("cmu-pie", root) == [root/"local"/"cmu-pie", root/"local"/"cmu_pie"]
    assert local_dirs("mnist-test", root) == [root/"local"/"mnist-test", root/"local"/"mnist_test", root/"local"/"mnist"]
    assert local_dirs("umist", root) == [root/"local"/"umist"]
    (root/"local"/"cmu_pie").mkdir(parents=True)
    (root/"local"/"cmu_pie"/"PIE_32x32.mat").write_bytes(mat_bytes(fea=fea_columns(pie_images), gnd=np.arange(1, 69)))
    assert load("cmu-pie", root=root).meta["source"]["path"] == str((root/"local"/"cmu_pie").resolve())
    (root/"local"/"mnist").mkdir()
    for split, n in (("train", 5), ("test", 3)):
        np.savez(root/"local"/"mnist"/f"{split}.npz", images=np.zeros((n, 28, 28, 1), np.uint8), labels=np.arange(n))
    mt = load("mnist-test", root=root)
    assert len(mt) == 3 and mt.meta["source"]["path"] == str((root/"local"/"mnist").resolve())

def test_cli_fetch_from(tmp_path, isolated_data, pie_images):
    "One subprocess (imports cost seconds): `deepclust fetch cmu-pie --from FILE`; the refusals' messages are checked in-process above."
    (tmp_path/"PIE_32x32.mat").write_bytes(mat_bytes(fea=fea_columns(pie_images), gnd=np.arange(1, 69)))
    r = subprocess.run([str(BIN/"deepclust"), "fetch", "cmu-pie", "--from", str(tmp_path/"PIE_32x32.mat")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "cmu-pie: 68 images (1, 32, 32), 68 classes" in r.stdout
    assert (isolated_data/"prepared"/"cmu-pie.npz").is_file()

# -- the offline copy --------------------------------------------------------------------------------------------------------------

def test_shared_cmu_pie_mat_and_npz_identical(root):
    src = SHARED_DATASETS/"cmu_pie"
    if not (src/"PIE_32x32.mat").exists() or not (src/"all.npz").exists(): pytest.skip("no CMU-PIE copy at ../shared/datasets/cmu_pie")
    m, n = build_cmu_pie(src/"PIE_32x32.mat"), build_cmu_pie(src/"all.npz")
    for ds in (m, n):
        assert (len(ds), ds.variant, ds.labels.bincount().tolist()) == (2856, "CMU-PIE (32x32 grey)", [42] * 68)
        assert ds.meta["splits"]["all"]["sha256"] == PIE_SHA256 and ds.meta["splits"]["all"]["matches_reference"]
    assert m.images.equal(n.images) and m.labels.equal(n.labels) and m.class_names == n.class_names
    assert m.meta["file_sha256"] == "d0e0a37aea4623e0505c5d7f5372ee1df8ecd5ca46ba4523765d45e05ac360c2"
    shutil.copytree(src, root/"local"/"cmu_pie")                         # the shared folder copied into data/local/
    assert load("cmu-pie", root=root).meta["splits"]["all"]["sha256"] == PIE_SHA256
