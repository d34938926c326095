"""The docs site as a person sees it: built offline with the documented command (`python tools/build_docs.py`), served on localhost and
opened page by page in headless Chromium (Debian's chromium and chromium-driver; `.ci/setup` installs them when it runs as root).

Every page must load without a Python traceback, every internal link must reach a page or file of the site (and its #heading), every image must
load, and no page may show raw TeX: math is MathML that Chromium lays out. Screenshots of the home page and of CC's page are kept as test
artifacts in $DEEPCLUST_TEST_ARTIFACTS/docs (default: test-artifacts/docs in the checkout).

The pages show the notebooks' executed outputs: the build takes the executed copies tests/test_notebooks.py keeps in .cache/executed/ when they
are fresh and runs the other notebooks itself (tools/build_docs.ipynb, "Executed outputs"); the browser test checks that CC's page shows the
numbers and the figure its cells compute, and says that its `slow` cell was not run."""
import functools, http.server, os, re, shutil, subprocess, sys, tempfile, threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote, urlsplit
import pytest
from conftest import REPO, BIN
from test_notebooks import pipeline_state

ARTIFACTS = Path(os.environ.get("DEEPCLUST_TEST_ARTIFACTS", REPO/"test-artifacts"))/"docs"
CHROMIUM, CHROMEDRIVER = shutil.which("chromium") or shutil.which("chromium-browser"), shutil.which("chromedriver")
needs_chromium = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and ChromeDriver are not installed (Debian: "
                                    "apt-get install chromium chromium-driver; .ci/setup installs them when run as root)")
# the flags this machine needs: no sandbox as root, and no background connections to a network that refuses them
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--window-size=1280,900", "--force-device-scale-factor=1", "--hide-scrollbars"]

@contextmanager
def chromium():
    "A headless Chromium driven by Selenium through Debian's chromedriver, with a fresh profile."
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    with tempfile.TemporaryDirectory() as profile:
        opts = webdriver.ChromeOptions()
        opts.binary_location = CHROMIUM
        for flag in FLAGS + [f"--user-data-dir={profile}"]: opts.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
        driver.set_page_load_timeout(60)
        try: yield driver
        finally: driver.quit()

@contextmanager
def serve(folder:Path):
    "`folder` over HTTP on a free localhost port; yields the base URL."
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args): pass
    handler = functools.partial(Quiet, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True); thread.start()
    try: yield f"http://127.0.0.1:{server.server_port}/"
    finally: server.shutdown(); server.server_close()

# What one page reports, read from the DOM once it has loaded (images included): its links, images that did not load, heading ids, its visible
# text outside code, and its MathML elements with their size (a formula Chromium did not lay out has no width).
PAGE_STATE = """
const text = document.body.cloneNode(true);
text.querySelectorAll('pre, code, script, style, math').forEach(e => e.remove());
return {
  links: Array.from(document.querySelectorAll('a[href]')).map(a => a.href),
  broken_images: Array.from(document.images).filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.getAttribute('src')),
  images: document.images.length,
  ids: Array.from(document.querySelectorAll('[id]')).map(e => e.id),
  text: text.innerText,
  all_text: document.body.innerText,
  math: Array.from(document.querySelectorAll('math')).map(m => m.getBoundingClientRect().width),
  merror: document.querySelectorAll('merror').length,
  api: Array.from(document.querySelectorAll('h3[id] + pre, h4[id] + pre')).map(p => p.innerText),
  outputs: Array.from(document.querySelectorAll('pre.output, div.output')).map(o => o.innerText),
  output_images: Array.from(document.querySelectorAll('div.output img')).filter(i => i.complete && i.naturalWidth > 0).map(i => i.getAttribute('src')),
  skipped_notes: Array.from(document.querySelectorAll('div.output-note')).map(n => n.innerText),
};
"""
RAW_TEX = re.compile(r"\$\$|\\(?:frac|mathrm|mathcal|mathbb|sum|log|left|right|begin|text|operatorname)\b|\$[^\s$][^$\n]*[^\s$\\]\$")

def check_site(driver, base:str, site:Path) -> tuple[list[str], dict]:
    "Visit every page of `site` (served at `base`); return the problems found and each page's state."
    pages = sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html"))
    problems, states = [], {}
    for page in pages:
        driver.get(base + page)
        s = states[page] = driver.execute_script(PAGE_STATE)
        if "Traceback (most recent call last)" in s["all_text"]: problems.append(f"{page}: shows a Python traceback")
        problems += [f"{page}: image {src!r} did not load" for src in s["broken_images"]]
        if (tex := RAW_TEX.search(s["text"])): problems.append(f"{page}: raw TeX on the page: {tex.group(0)!r}")
        if s["merror"] or any(w <= 0 for w in s["math"]): problems.append(f"{page}: a formula Chromium did not render")
    for page, s in states.items():   # internal links: an existing page or file of the site, and the heading they name
        for href in s["links"]:
            url = urlsplit(href)
            if not href.startswith(base): continue
            target = unquote(url.path)[len(urlsplit(base).path):] or "index.html"
            if not (site/target).is_file(): problems.append(f"{page}: broken link to {target}")
            elif url.fragment and target in states and url.fragment not in states[target]["ids"]:
                problems.append(f"{page}: link to {target}#{url.fragment}, which has no such heading")
    return problems, states

def full_page_screenshot(driver, path:Path) -> Path:
    "A screenshot of the whole current page (up to 8000 px tall)."
    height = min(8000, driver.execute_script("return document.documentElement.scrollHeight"))
    driver.set_window_size(1280, max(900, height))
    path.parent.mkdir(parents=True, exist_ok=True)
    assert driver.save_screenshot(str(path)), path
    driver.set_window_size(1280, 900)
    return path

def test_builder_notebook():
    "The builder's own tests: its notebook (tools/build_docs.ipynb, outside nbs/ and so not run by tests/test_notebooks.py) runs top to bottom."
    r = subprocess.run([str(BIN/"nbdev_test"), "--path", "build_docs.ipynb", "--do_print"], cwd=REPO/"tools", capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"tools/build_docs.ipynb failed:\n{r.stdout[-6000:]}\n{r.stderr[-6000:]}"

@needs_chromium
def test_docs_site_in_chromium(tmp_path, testrun_uid):
    "One test, not several: under pytest-xdist a shared fixture would build the site once per worker."
    site = tmp_path/"site"
    # (timeout: alone, with no executed copy kept yet, the build runs every notebook itself; what it runs, the notebook tests then reuse)
    before = pipeline_state()
    r = subprocess.run([sys.executable, "tools/build_docs.py", str(site)], cwd=REPO, capture_output=True, text=True, timeout=1800,
                       env={**os.environ, "DEEPCLUST_RUN_SESSION": testrun_uid})
    assert r.returncode == 0, f"the docs build failed:\n{r.stdout[-5000:]}\n{r.stderr[-5000:]}"
    after = pipeline_state()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"the notebooks the docs build ran changed the checkout's pipeline files: {changed}"
    pages = {p.relative_to(site).as_posix() for p in site.rglob("*.html")}
    notebooks = [p for p in (REPO/"nbs").rglob("*.ipynb") if not {"pipeline", "benchmarks"} & set(p.relative_to(REPO/"nbs").parts)
                 and not any(part.startswith(("_", ".")) for part in p.relative_to(REPO/"nbs").parts)]
    assert {"index.html", "results.html", "cc.html", "tutorials/prototype_a_loss.html"} <= pages, sorted(pages)
    assert len(pages) >= len(notebooks) + 1, (sorted(pages), notebooks)   # a page per notebook, and the results

    with serve(site) as base, chromium() as driver:
        problems, states = check_site(driver, base, site)
        assert not problems, "\n".join(problems)
        assert len(states["cc.html"]["math"]) >= 10 and len(states["losses.html"]["math"]) >= 10   # the methods' math, as MathML
        assert states["index.html"]["images"] >= 10 and states["cc.html"]["images"] >= 3   # the gallery; CC's own figures
        # the API: show_doc's heading and signature (with the docments) for each exported function and class
        assert any(sig.lstrip().startswith("def nt_xent(") and "# tau" in sig for sig in states["losses.html"]["api"]), states["losses.html"]["api"]
        assert any(sig.lstrip().startswith("def CC(") and "entropy_weight" in sig for sig in states["cc.html"]["api"]) and "show_doc(" not in states["cc.html"]["all_text"], states["cc.html"]["api"]
        # executed outputs: CC's losses at initialisation (numbers its cell computes) and its figure of views, and the note under its slow cell
        cc = states["cc.html"]
        assert any(re.search(r"256 pairs, random weights: instance loss \d\.\d{3} \(chance: log\(2N-1\) = 6\.236\)", o) for o in cc["outputs"]), cc["outputs"]
        assert any(src.startswith("cc_files/output-") and src.endswith(".png") for src in cc["output_images"]), cc["output_images"]
        if os.environ.get("DEEPCLUST_SLOW_TESTS"): assert any("k-means on raw pixels: NMI" in o for o in cc["outputs"]), cc["outputs"]   # digits trained
        else: assert any(n.startswith("Output not shown: it is a slow cell") for n in cc["skipped_notes"]), cc["skipped_notes"]
        with_outputs = sorted(page for page, st in states.items() if st["outputs"])
        assert len(with_outputs) >= 8 and {"augment.html", "tutorials/prototype_a_loss.html"} <= set(with_outputs), with_outputs
        # the tutorial "Cluster your own images" shows its gallery (the PNG grid its cell displays) and the estimated K beside the true one
        tut = states["tutorials/cluster_your_own_images.html"]
        assert any(src.endswith(".png") for src in tut["output_images"]), tut["output_images"]
        assert any(re.search(r"K: estimated \d+, true \d+ \(off by [+-]?\d+\)", o) for o in tut["outputs"]), tut["outputs"]
        driver.get(base + "index.html"); full_page_screenshot(driver, ARTIFACTS/"home.png")
        driver.get(base + "cc.html"); full_page_screenshot(driver, ARTIFACTS/"cc.png")
    assert (ARTIFACTS/"home.png").stat().st_size > 10_000 and (ARTIFACTS/"cc.png").stat().st_size > 10_000

BROKEN_PAGES = {
    "index.html": '<p>fine <a href="b.html">b</a> <a href="gone.html">gone</a> <a href="b.html#nowhere">anchor</a>'
                  '<img src="missing.png"></p><p>raw $$x^2$$ and <span>$a+b$</span></p>',
    "b.html": "<h2 id='here'>b</h2><pre>Traceback (most recent call last):\n  File ...\nValueError: boom</pre>"
              "<p><math><mi>x</mi></math> and <code>$HOME costs $5</code></p>",
}

@needs_chromium
def test_checks_catch_broken_pages(tmp_path):
    "The checks can fail: a broken link, a missing heading, an image that does not load, raw TeX and a traceback are each reported."
    for name, body in BROKEN_PAGES.items(): (tmp_path/name).write_text(f"<!doctype html><html><body>{body}</body></html>")
    with serve(tmp_path) as base, chromium() as driver:
        problems, _ = check_site(driver, base, tmp_path)
    assert sorted(problems) == sorted([
        "index.html: broken link to gone.html", "index.html: link to b.html#nowhere, which has no such heading",
        "index.html: image 'missing.png' did not load", "index.html: raw TeX on the page: '$$'", "b.html: shows a Python traceback"]), problems
