"""Run the code of the guide's pages, so that what they show cannot rot.

A page is a Markdown file in ``docs/``. Its ```` ```python ```` blocks run in order, in one
namespace per page, in a scratch directory. A block followed directly by an ```` ```output ````
block must print exactly that text (pages print rounded numbers, so the output does not depend
on the thread count or the backend). Blocks fenced ```` ```python no-run ```` are shown only.

    python docs/run_pages.py                 # every page
    python docs/run_pages.py 03-losses.md    # one page
"""

import contextlib
import io
import os
import re
import sys
import tempfile
import types
from pathlib import Path

DOCS = Path(__file__).resolve().parent
FENCE = re.compile(r"^```([^\n]*)\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


def pages():
    """The guide's pages in reading order (their names start with a two-digit number)."""
    return sorted(p for p in DOCS.glob("[0-9][0-9]-*.md"))


def blocks(text):
    """``(line, code, expected_output_or_None)`` for every runnable block of a page."""
    found = []
    fences = list(FENCE.finditer(text))
    for i, fence in enumerate(fences):
        info = fence.group(1).strip().split()
        if not info or info[0] != "python" or "no-run" in info[1:]:
            continue
        expected = None
        if i + 1 < len(fences):
            nxt = fences[i + 1]
            between = text[fence.end():nxt.start()]
            if nxt.group(1).strip() == "output" and not between.strip():
                expected = nxt.group(2)
        line = text.count("\n", 0, fence.start()) + 2
        found.append((line, fence.group(2), expected))
    return found


class PageError(AssertionError):
    pass


def run_page(path):
    """Run one page's blocks; raise ``PageError`` naming the page and line on a failure or
    on printed output that differs from the page's."""
    path = Path(path)
    # a page runs as a script's module does: importable by name while it runs, so that what
    # it defines can be found again by name (pynn.load of a whole model)
    page = types.ModuleType(f"docs_{path.stem.replace('-', '_')}")
    namespace = page.__dict__
    sys.modules[page.__name__] = page
    cwd = os.getcwd()
    with tempfile.TemporaryDirectory() as scratch:
        os.chdir(scratch)
        try:
            for line, code, expected in blocks(path.read_text()):
                captured = io.StringIO()
                with contextlib.redirect_stdout(captured):
                    try:
                        exec(compile(code, f"{path.name}:{line}", "exec"), namespace)  # noqa: S102  (our own pages)
                    except Exception as exc:
                        raise PageError(f"{path.name}, block at line {line}: "
                                        f"{type(exc).__name__}: {exc}") from exc
                if expected is not None and captured.getvalue() != expected:
                    raise PageError(f"{path.name}, block at line {line} printed\n"
                                    f"{captured.getvalue()}\ninstead of\n{expected}")
        finally:
            os.chdir(cwd)
            sys.modules.pop(page.__name__, None)


def main(argv):
    chosen = [DOCS / name for name in argv] or pages()
    for page in chosen:
        run_page(page)
        print(f"ok  {page.name}")


if __name__ == "__main__":
    main(sys.argv[1:])
