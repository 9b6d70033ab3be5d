"""Render the executed notebooks to a static site in _site/ (`make site`).

    .venv/bin/python tools/build_site.py [--out _site] [--notebooks notebooks]

One page per notebook (as stored: nothing is executed), an index page with the course map
(titles from each notebook's first heading, its opening paragraph, and what it holds), and
previous / next navigation on every page. The pages are self-contained and load nothing
from outside: CSS and figures are inlined, there is no JavaScript at all.

- Interactive figures: a stored ``InteractiveFigure`` output carries a static PNG next to its
  widget view. Without a kernel the controls can not do anything, so the page shows that PNG
  as a figure with a caption naming the control values it was drawn at (the widget view and
  the saved widget state are left out: rendering them would need the widget manager's
  JavaScript from a CDN and would still show dead sliders).
- Math: rendered to MathML at build time when the ``latex2mathml`` package is installed
  (browsers draw MathML natively, so no MathJax from a CDN); without it, formulas stay as
  TeX source and the script says so.
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat
from jinja2 import DictLoader
from nbconvert import HTMLExporter
from nbconvert.filters import markdown_mistune

ROOT = Path(__file__).resolve().parent.parent
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
COURSE_TITLE = "The Neural Tangent Kernel, interactively"

# --------------------------------------------------------------------------------- math
try:  # optional: TeX -> MathML at build time
    from latex2mathml.converter import convert as _latex_to_mathml
except ImportError:  # pragma: no cover - depends on the environment
    _latex_to_mathml = None


def _mathml(tex: str, display: bool) -> str | None:
    if _latex_to_mathml is None:
        return None
    try:
        return _latex_to_mathml(tex, display="block" if display else "inline")
    except Exception:  # a construct latex2mathml does not know: keep the TeX source
        return None


class _MathStats:
    converted = 0
    kept_as_tex = 0


def _install_math_rendering() -> None:
    """Make nbconvert's Markdown renderer emit MathML instead of $...$ for MathJax."""
    renderer = markdown_mistune.IPythonRenderer
    original_block, original_inline = renderer.block_math, renderer.inline_math
    original_env = renderer.latex_environment

    def render(self, tex: str, display: bool, fallback: str) -> str:
        out = _mathml(tex, display)
        if out is None:
            _MathStats.kept_as_tex += 1
            return f'<span class="tex-source">{fallback}</span>'
        _MathStats.converted += 1
        return out

    def block_math(self, body):
        return render(self, body, True, original_block(self, body))

    def inline_math(self, body):
        return render(self, body, False, original_inline(self, body))

    def latex_environment(self, name, body):
        tex = f"\\begin{{{name}}}{body}\\end{{{name}}}"
        return render(self, tex, True, original_env(self, name, body))

    renderer.block_math = block_math
    renderer.inline_math = inline_math
    renderer.latex_environment = latex_environment


# --------------------------------------------------------------------------------- template
SITE_CSS = """
.site-nav { display: flex; justify-content: space-between; align-items: center; gap: 1em;
  max-width: 1100px; margin: 0 auto; padding: 0.6em 1em; font-family: var(--jp-ui-font-family, sans-serif);
  font-size: 0.95em; border-bottom: 1px solid #ddd; }
.site-nav.bottom { border-top: 1px solid #ddd; border-bottom: none; margin-top: 2em; }
.site-nav a { text-decoration: none; color: #1a5fb4; }
.site-nav a:hover { text-decoration: underline; }
.site-nav .prev, .site-nav .next { flex: 1; }
.site-nav .next { text-align: right; }
.site-nav .home { flex: 0 0 auto; font-weight: bold; }
main { max-width: 1100px; margin: 0 auto; }
figure.interactive-snapshot { margin: 0.5em 0; }
figure.interactive-snapshot img { max-width: 100%; }
figure.interactive-snapshot figcaption { font-size: 0.85em; color: #555; font-style: italic; }
math { font-size: 1.12em; }
math[display="block"] { margin: 0.6em 0; }
.tex-source { font-family: var(--jp-code-font-family, monospace); }
"""

PAGE_TEMPLATE = """
{%- extends 'lab/index.html.j2' -%}
{%- block html_head_js -%}{%- endblock html_head_js -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}<style type="text/css">{{ resources.site_css }}</style>{%- endblock extra_css -%}
{%- block body_header -%}
<body class="jp-Notebook" data-jp-theme-light="true" data-jp-theme-name="JupyterLab Light">
{{ resources.site_nav_top }}
<main>
{%- endblock body_header -%}
{%- block body_footer -%}
</main>
{{ resources.site_nav_bottom }}
</body>
{%- endblock body_footer -%}
"""


def _exporter() -> HTMLExporter:
    exporter = HTMLExporter(
        template_name="lab",
        extra_loaders=[DictLoader({"ntk_site.html.j2": PAGE_TEMPLATE})],
        template_file="ntk_site.html.j2",
        embed_images=True,
        exclude_anchor_links=False,
    )
    return exporter


# --------------------------------------------------------------------------------- notebooks
def _first_heading(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                match = re.match(r"^#{1,6}\s+(.*\S)\s*$", line)
                if match:
                    return match.group(1).strip()
    return "Untitled"


def _opening_paragraph(nb) -> str:
    """The first plain paragraph of the notebook (after its title), as Markdown."""
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        for block in re.split(r"\n\s*\n", cell.source):
            text = block.strip()
            if text and not text.startswith(("#", "|", "-", "*", "1.", "<", ">", "!")):
                return text
    return ""


def _snapshot_figure(output) -> None:
    """Turn a stored InteractiveFigure output into a static figure with a caption."""
    data = output.get("data", {})
    png = data.get("image/png")
    if png is None:
        return
    label = data.get("text/plain", "")
    label = label if isinstance(label, str) else "".join(label)
    match = re.match(r"^\w+\((.*)\)$", label.strip())
    values = match.group(1) if match else ""
    caption = "Interactive figure, shown as a static snapshot"
    caption += f" at {values}" if values else ""
    caption += ". Run the notebook in JupyterLab or on Binder to move its controls."
    png = png if isinstance(png, str) else "".join(png)
    png = png.replace("\n", "")
    base64.b64decode(png[:64] + "=" * (-len(png[:64]) % 4))  # sanity: it is base64
    alt = html.escape(caption, quote=True)
    output["data"] = {
        "text/html": (
            '<figure class="interactive-snapshot">'
            f'<img src="data:image/png;base64,{png}" alt="{alt}"/>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        ),
        "text/plain": label,
    }


def prepare(nb):
    """A copy of ``nb`` ready for static HTML: widget views become captioned PNG figures."""
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    counts = {"figures": 0, "interactive": 0, "exercises": 0}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        if "show_solution" in cell.source:
            counts["exercises"] += 1
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                if "image/png" in data:
                    counts["interactive"] += 1
                    _snapshot_figure(output)
            elif "image/png" in data:
                counts["figures"] += 1
    return nb, counts


def _nav(pages: list[dict], index: int, where: str) -> str:
    prev_link = next_link = ""
    if index > 0:
        p = pages[index - 1]
        prev_link = f'<a rel="prev" href="{p["file"]}">&larr; {html.escape(p["title"])}</a>'
    if index < len(pages) - 1:
        n = pages[index + 1]
        next_link = f'<a rel="next" href="{n["file"]}">{html.escape(n["title"])} &rarr;</a>'
    return (
        f'<nav class="site-nav {where}" aria-label="course navigation">'
        f'<span class="prev">{prev_link}</span>'
        f'<a class="home" href="index.html">Course map</a>'
        f'<span class="next">{next_link}</span></nav>'
    )


def _index_html(pages: list[dict]) -> str:
    items = []
    for page in pages:
        holds = []
        if page["counts"]["interactive"]:
            holds.append(f'{page["counts"]["interactive"]} interactive figure(s)')
        if page["counts"]["figures"]:
            holds.append(f'{page["counts"]["figures"]} static figure(s)')
        if page["counts"]["exercises"]:
            holds.append(f'{page["counts"]["exercises"]} exercise(s)')
        items.append(
            f'<li class="course-entry"><a href="{page["file"]}">{html.escape(page["title"])}</a>'
            f'<div class="summary">{page["summary_html"]}</div>'
            f'<div class="holds">{", ".join(holds)}</div></li>'
        )
    first = pages[0]["file"] if pages else "#"
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1.0"/>
<title>{html.escape(COURSE_TITLE)}: course map</title>
<style type="text/css">
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 900px;
  margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }}
h1 {{ font-size: 1.8em; margin-bottom: 0.2em; }}
ol.course-map {{ list-style: none; padding: 0; }}
li.course-entry {{ border-left: 4px solid #1a5fb4; padding: 0.4em 0.9em; margin: 1em 0; background: #f7f9fc; }}
li.course-entry > a {{ font-size: 1.15em; font-weight: bold; color: #1a5fb4; text-decoration: none; }}
li.course-entry > a:hover {{ text-decoration: underline; }}
.summary p {{ margin: 0.3em 0; }}
.holds {{ font-size: 0.85em; color: #666; }}
</style>
</head>
<body>
<h1>{html.escape(COURSE_TITLE)}</h1>
<p>The executed notebooks of the course, to read without a kernel. Every figure is shown as
it was drawn when the notebook was run; to move the <b>width</b> and <b>time</b> controls,
open the notebooks in JupyterLab (<code>make lab</code>) or on Binder. Start with
<a href="{first}">the first notebook</a>.</p>
<h2>Course map</h2>
<ol class="course-map">
{chr(10).join(items)}
</ol>
</body>
</html>
"""


def build(notebook_dir: Path, out_dir: Path) -> list[dict]:
    """Render every notebook of ``notebook_dir`` into ``out_dir``; return the page list."""
    paths = sorted(notebook_dir.glob("*.ipynb"))
    if not paths:
        raise SystemExit(f"no notebooks in {notebook_dir}")
    _install_math_rendering()
    pages = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        prepared, counts = prepare(nb)
        unexecuted = [c for c in nb.cells if c.cell_type == "code" and c.source.strip() and c.execution_count is None]
        pages.append(
            {
                "path": path,
                "nb": prepared,
                "counts": counts,
                "file": path.stem + ".html",
                "title": _first_heading(nb),
                "summary_html": markdown_mistune.markdown2html_mistune(_opening_paragraph(nb)),
                "unexecuted": len(unexecuted),
            }
        )
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    exporter = _exporter()
    for i, page in enumerate(pages):
        resources = {
            "metadata": {"name": page["title"], "path": str(page["path"].parent)},
            "site_css": SITE_CSS,
            "site_nav_top": _nav(pages, i, "top"),
            "site_nav_bottom": _nav(pages, i, "bottom"),
        }
        body, _ = exporter.from_notebook_node(page["nb"], resources=resources)
        (out_dir / page["file"]).write_text(body, encoding="utf-8")
    (out_dir / "index.html").write_text(_index_html(pages), encoding="utf-8")
    manifest = [
        {"file": p["file"], "title": p["title"], "source": p["path"].name, **p["counts"]} for p in pages
    ]
    (out_dir / "site.json").write_text(json.dumps(manifest, indent=1))
    return pages


EXTERNAL_LOAD = re.compile(
    r"""(?:<script[^>]+src|<link[^>]+href|<img[^>]+src|<iframe[^>]+src)\s*=\s*["']?(?:https?:)?//"""
    r"""|@import\s+(?:url\()?["']?(?:https?:)?//|url\(\s*["']?(?:https?:)?//""",
    re.IGNORECASE,
)


def external_loads(out_dir: Path) -> list[str]:
    """Every place a page would load something from another host (should be none)."""
    found = []
    for page in sorted(out_dir.glob("*.html")):
        for match in EXTERNAL_LOAD.finditer(page.read_text(encoding="utf-8")):
            found.append(f"{page.name}: {match.group(0)[:80]}")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the executed notebooks to a static site.")
    parser.add_argument("--notebooks", type=Path, default=ROOT / "notebooks")
    parser.add_argument("--out", type=Path, default=ROOT / "_site")
    args = parser.parse_args(argv)
    pages = build(args.notebooks, args.out)
    for page in pages:
        c = page["counts"]
        note = f"  (WARNING: {page['unexecuted']} code cells were never run)" if page["unexecuted"] else ""
        print(
            f"{page['file']}: {page['title']} -- {c['interactive']} interactive + {c['figures']} static figures{note}"
        )
    if _latex_to_mathml is None:
        print("math: latex2mathml is not installed; formulas are shown as TeX source")
    else:
        print(f"math: {_MathStats.converted} formulas as MathML, {_MathStats.kept_as_tex} kept as TeX")
    outside = external_loads(args.out)
    if outside:
        print("pages load from other hosts:\n  " + "\n  ".join(outside[:20]), file=sys.stderr)
        return 1
    print(f"site: {args.out}/index.html ({len(pages)} notebooks)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
