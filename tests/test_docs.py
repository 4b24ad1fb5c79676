"""The guide in docs/: every page's code runs and prints what the page says it prints, every
figure a page shows exists and its plotting code runs, and every relative link resolves."""

import importlib.util
import re

import pytest
from helpers import DATA_DIR, ROOT, needs_mnist

import pynn

DOCS = ROOT / "docs"


def _load(name):
    spec = importlib.util.spec_from_file_location(f"docs_{name}", DOCS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


run_pages = _load("run_pages")
PAGES = run_pages.pages()
MARKDOWN = PAGES + [ROOT / "README.md", ROOT / "CONTRIBUTING.md", DOCS / "README.md"]


@pytest.fixture
def guide_env(monkeypatch, restore_threads):
    monkeypatch.setenv("PYNN_DATA_DIR", str(DATA_DIR))
    before = pynn.get_backend()
    yield
    pynn.set_backend(before)


def test_the_guide_has_pages():
    assert len(PAGES) >= 12


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_page_code_runs(page, guide_env):
    run_pages.run_page(page)


def test_output_mismatch_is_reported(tmp_path):
    page = tmp_path / "00-check.md"
    page.write_text("```python\nprint(1 + 1)\n```\n```output\n3\n```\n")
    with pytest.raises(run_pages.PageError, match="00-check.md, block at line 2 printed"):
        run_pages.run_page(page)


@pytest.mark.parametrize("doc", MARKDOWN, ids=[str(p.relative_to(ROOT)) for p in MARKDOWN])
def test_links_and_images_resolve(doc):
    text = doc.read_text()
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if re.match(r"[a-z]+://", target) or target.startswith("mailto:"):
            continue
        assert (doc.parent / target).exists(), f"{doc.name} links to missing {target}"


def test_plot_scripts_run(tmp_path):
    pytest.importorskip("matplotlib")
    make_plots = _load("make_plots")
    written = make_plots.make_all(tmp_path)
    committed = {p.name for p in (DOCS / "img").glob("*.png")}
    assert {p.name for p in written} <= committed, "run python docs/make_plots.py and commit"
    assert all(p.stat().st_size > 1000 for p in written)


@needs_mnist
def test_readme_quick_start_runs(guide_env):
    run_pages.run_page(ROOT / "README.md")
