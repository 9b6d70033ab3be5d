"""Render the executed notebooks to an explorable static site in _site/ (`make site`).

    .venv/bin/python tools/build_site.py [--out _site] [--notebooks notebooks]
                                         [--max-frames 250] [--jobs 2] [--no-frames]

One page per notebook (its stored text, code and outputs: the notebook is not executed), an
index page with the course map, previous / next navigation, a search page over the course's
text, and a print stylesheet. Nothing is loaded from outside: CSS is inlined, the only script
is the site's own (a few dozen lines inlined in each page, no library), and formulas are MathML.

- Interactive figures move without a kernel. ``tools/site_frames.py`` (one process per
  notebook) runs each demo cell and renders its figure at every point of its control grid (a
  control thinned evenly only where the grid passes ``--max-frames``; the caption says so). The
  page drives the frames with plain ``<input type=range>`` controls (keyboard and ARIA come with
  them), a readout beside each and the frame's alt text following; frames are separate files,
  fetched when a control reaches them, so a first page view loads one frame per figure.
  ``--no-frames`` builds in seconds with each figure as its stored snapshot instead.
- Solutions and Think! answers stay collapsed (``<details>``) as in the notebooks.
- Search: ``search.html`` searches every section of every notebook in the browser, from an
  index the build writes next to it (``search-index.js``; works from a file:// copy too).
- Math: rendered to MathML at build time when the ``latex2mathml`` package is installed
  (browsers draw MathML natively, so no MathJax from a CDN); without it, formulas stay as
  TeX source and the script says so.
- Print: a print stylesheet drops the navigation and the controls; ``tools/build_pdf.py``
  (``make pdf``) prints the whole course as one PDF from ``print.html``.
"""

from __future__ import annotations

import argparse
import base64
import copy
import html
import json
import re
import shutil
import subprocess
import sys
import time
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
.site-nav a:hover, .site-nav a:focus { text-decoration: underline; }
.site-nav .prev, .site-nav .next { flex: 1; }
.site-nav .next { text-align: right; }
.site-nav .home { flex: 0 0 auto; font-weight: bold; }
.site-nav form.site-search { flex: 0 0 auto; margin: 0; }
.site-nav form.site-search input { font-size: 0.95em; padding: 0.15em 0.4em; width: 11em; }
main { max-width: 1100px; margin: 0 auto; }
figure.interactive-snapshot, figure.explorable { margin: 0.5em 0; }
figure.interactive-snapshot img, figure.explorable img { max-width: 100%; height: auto; }
figure figcaption { font-size: 0.85em; color: #444; font-style: italic; }
figure.explorable .frame-controls { display: flex; flex-wrap: wrap; gap: 0.3em 1.5em; margin: 0.3em 0;
  font-family: var(--jp-ui-font-family, sans-serif); font-size: 0.9em; }
figure.explorable .frame-control { display: inline-flex; align-items: center; gap: 0.5em; }
figure.explorable .frame-values { display: none; font-size: 0.85em; font-style: italic; margin: 0.2em 0; }
figure.explorable input[type=range] { width: 16em; }
figure.explorable input[type=range]:focus-visible { outline: 3px solid #1a5fb4; outline-offset: 2px; }
figure.explorable output { min-width: 5em; font-variant-numeric: tabular-nums; font-weight: bold; }
/* Text contrast of at least 4.5:1 (WCAG AA; axe-core checks it): the code colours of
   JupyterLab's light theme a shade darker, and the grey cell prompts darker. */
.jp-InputPrompt, .jp-OutputPrompt { color: #616161 !important; opacity: 1 !important; }
body .highlight .c, body .highlight .c1, body .highlight .cm, body .highlight .ch, body .highlight .cs, body .highlight .cpf { color: #2f5f5f; }
body .highlight .m, body .highlight .mi, body .highlight .mf, body .highlight .mh, body .highlight .mo, body .highlight .il { color: #006400; }
body .highlight .ow, body .highlight .nd { color: #7a16c4; }
body .highlight .se, body .highlight .si, body .highlight .sa { color: #8a4a12; }
body .highlight .nn, body .highlight .nc { color: #0000cc; }
body .highlight .gp, body .highlight .go { color: #4d4d4d; }
math { font-size: 1.12em; }
math[display="block"] { margin: 0.6em 0; }
.tex-source { font-family: var(--jp-code-font-family, monospace); }
@media print {
  .site-nav, figure.explorable .frame-controls, figure.explorable figcaption, .jp-InputPrompt, .jp-OutputPrompt { display: none !important; }
  figure.explorable .frame-values { display: block; }
  main { max-width: none; }
  figure, .jp-OutputArea-output, pre { break-inside: avoid; }
  h1, h2, h3 { break-after: avoid; }
  a { color: inherit; text-decoration: none; }
  .print-notebook + .print-notebook { break-before: page; }
}
"""

# The site's only script, inlined in each page: drives every explorable figure. A frame's number
# is the mixed-radix number of the controls' positions (tools/site_frames.py writes them so).
SITE_SCRIPT = """
(function () {
  for (const figure of document.querySelectorAll('figure.explorable')) {
    const base = figure.dataset.frames;
    const image = figure.querySelector('img');
    const inputs = [...figure.querySelectorAll('input[type=range]')];
    const meta = JSON.parse(figure.querySelector('script.frame-data').textContent);
    const number = () => inputs.reduce((k, input) => k * (Number(input.max) + 1) + Number(input.value), 0);
    const warm = (k) => { if (k >= 0 && k < meta.alt.length) { new Image().src = base + k + '.png'; } };
    const values = figure.querySelector('.frame-values');
    const show = (warmNeighbours) => {
      const shown = inputs.map((input, i) => {
        const label = meta.labels[i][Number(input.value)];
        input.setAttribute('aria-valuetext', label);
        input.parentElement.querySelector('output').textContent = label;
        return meta.names[i] + ' = ' + label;
      });
      const k = number();
      image.src = base + k + '.png';
      image.alt = meta.alt[k];
      figure.dataset.frame = k;
      values.textContent = 'Shown at ' + shown.join(', ') + '.';
      if (warmNeighbours) { warm(k + 1); warm(k - 1); }
    };
    inputs.forEach((input) => input.addEventListener('input', () => show(true)));
    // a browser may restore the sliders' positions (back, reload): the picture follows them
    if (number() !== Number(figure.dataset.default)) { show(false); }
  }
})();
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
{% block data_png scoped %}
<div class="jp-RenderedImage jp-OutputArea-output {{ extra_class }}">
<img src="data:image/png;base64,{{ output.data['image/png'] | escape_html }}" alt="{{ ((output | get_metadata('alt', 'image/png')) or 'A figure of the course (no description was stored with it)') | escape_html }}"/>
</div>
{%- endblock data_png %}
{%- block body_footer -%}
</main>
{{ resources.site_nav_bottom }}
<script>{{ resources.site_script }}</script>
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
    stored_alt = output.get("metadata", {}).get("image/png", {}).get("alt")
    alt = html.escape(stored_alt or caption, quote=True)
    output["data"] = {
        "text/html": (
            '<figure class="interactive-snapshot">'
            f'<img src="data:image/png;base64,{png}" alt="{alt}"/>'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        ),
        "text/plain": label,
    }


def _grid_words(record: dict) -> str:
    """'width (4 values) x time (18 values) = 72 frames' (and what was thinned) for a caption."""
    sizes = " x ".join(f"{c['description']} ({len(c['labels'])} values)" for c in record["controls"])
    words = f"{sizes} = {len(record['alt'])} frames"
    thinned = [f"{c['description']} shows {len(c['labels'])} of its {c['of']} values"
               for c in record["controls"] if len(c["labels"]) < c["of"]]
    if thinned:
        words += " (" + "; ".join(thinned) + ", evenly spaced, to keep the site small)"
    return words


def _explorable_figure(record: dict, base: str, figure_id: str) -> str:
    """The HTML of a figure driven by range inputs over its rendered frames."""
    default = record["default"]
    positions, k = [], default
    for control in reversed(record["controls"]):
        positions.append(k % len(control["labels"]))
        k //= len(control["labels"])
    positions.reverse()
    inputs, shown = [], []
    for control, position in zip(record["controls"], positions):
        label = control["labels"][position]
        input_id = f"{figure_id}-{control['name']}"
        # the readout repeats aria-valuetext for the eye only (an <output> would be announced twice)
        inputs.append(
            f'<span class="frame-control"><label for="{input_id}">{html.escape(control["description"])}</label>'
            f'<input type="range" id="{input_id}" name="{html.escape(control["name"])}" min="0"'
            f' max="{len(control["labels"]) - 1}" step="1" value="{position}" autocomplete="off"'
            f' aria-valuetext="{html.escape(label, quote=True)}"/>'
            f'<output for="{input_id}" aria-hidden="true">{html.escape(label)}</output></span>'
        )
        shown.append(f"{control['description']} = {label}")
    data = json.dumps({"labels": [c["labels"] for c in record["controls"]],
                       "names": [c["description"] for c in record["controls"]], "alt": record["alt"]})
    data = data.replace("<", "\\u003c")  # no text in the data can end or open an element
    caption = (f"Move the sliders (or focus one and press the arrow keys): the figure was rendered when "
               f"the site was built, {_grid_words(record)}. Run the notebook to compute other values.")
    first = record["alt"][default]
    return (
        f'<figure class="explorable" id="{figure_id}" data-frames="{base}" data-frame="{default}" data-default="{default}">'
        f'<div class="frame-controls" role="group" aria-label="controls of this figure">{"".join(inputs)}</div>'
        f'<img src="{base}{default}.png" alt="{html.escape(first, quote=True)}" loading="lazy"/>'
        f"<figcaption>{html.escape(caption)}</figcaption>"
        f'<p class="frame-values">Shown at {html.escape(", ".join(shown))}.</p>'
        f'<script type="application/json" class="frame-data">{data}</script></figure>'
    )


def prepare(nb, frames: dict[int, dict] | None = None, frames_base: str = "", id_prefix: str = "figure"):
    """A copy of ``nb`` ready for static HTML.

    A widget view with rendered frames (``frames[cell index]``, from tools/site_frames.py)
    becomes an explorable figure; one without becomes its stored PNG with a caption.
    """
    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    frames = frames or {}
    counts = {"figures": 0, "interactive": 0, "explorable": 0, "frames": 0, "exercises": 0}
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        if "show_solution" in cell.source:
            counts["exercises"] += 1
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if WIDGET_VIEW in data:
                data.pop(WIDGET_VIEW)
                if index in frames:
                    counts["interactive"] += 1
                    counts["explorable"] += 1
                    counts["frames"] += len(frames[index]["alt"])
                    output["data"] = {
                        "text/html": _explorable_figure(frames[index], f"{frames_base}{index}/", f"{id_prefix}-{index}"),
                        "text/plain": data.get("text/plain", ""),
                    }
                elif "image/png" in data:
                    counts["interactive"] += 1
                    _snapshot_figure(output)
            elif "image/png" in data:
                counts["figures"] += 1
    return nb, counts


# --------------------------------------------------------------------------------- search
def _plain_text(markdown: str) -> str:
    text = re.sub(r"<[^>]+>", " ", markdown)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"[`*_#>|$\\{}]", " ", text)
    return " ".join(text.split())


def search_sections(nb, page_file: str, page_title: str) -> list[dict]:
    """The notebook's Markdown split at its headings: one search entry per section."""
    sections = [{"page": page_file, "notebook": page_title, "heading": page_title, "anchor": "", "text": []}]
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        source = re.sub(r"<!-- launch links -->.*?<!-- /launch links -->", "", cell.source, flags=re.S)
        source = re.sub(r"<details>.*?</details>", "", source, flags=re.S)  # answers stay hidden
        for line in source.splitlines():
            heading = re.match(r"^(#{1,4})\s+(.*\S)\s*$", line)
            if heading:
                rendered = markdown_mistune.markdown2html_mistune(line)
                anchor = re.search(r'id="([^"]+)"', rendered)
                sections.append({"page": page_file, "notebook": page_title, "heading": _plain_text(heading.group(2)),
                                 "anchor": anchor.group(1) if anchor else "", "text": []})
            else:
                sections[-1]["text"].append(line)
    entries = []
    for section in sections:
        text = _plain_text("\n".join(section["text"]))
        if text or section["anchor"]:
            entries.append({**section, "text": text})
    return entries


SEARCH_SCRIPT = """
(function () {
  const form = document.querySelector('#search-form');
  const box = document.querySelector('#search-box');
  const list = document.querySelector('#search-results');
  const status = document.querySelector('#search-status');
  const escape = (s) => s.replace(/[&<>"]/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'}[c]));
  const run = () => {
    const words = box.value.toLowerCase().split(/\\s+/).filter((w) => w.length > 1);
    list.innerHTML = '';
    if (!words.length) { status.textContent = 'Type a word or two (for example: kernel width).'; return; }
    const hits = [];
    for (const entry of window.COURSE_SEARCH_INDEX) {
      const heading = entry.heading.toLowerCase(), text = entry.text.toLowerCase();
      if (!words.every((w) => heading.includes(w) || text.includes(w))) continue;
      const score = words.reduce((s, w) => s + (heading.includes(w) ? 10 : 0) + text.split(w).length - 1, 0);
      hits.push([score, entry]);
    }
    hits.sort((a, b) => b[0] - a[0]);
    for (const [, entry] of hits.slice(0, 50)) {
      const at = entry.text.toLowerCase().indexOf(words[0]);
      const from = at > 80 ? entry.text.lastIndexOf(' ', at - 80) + 1 : 0;
      const to = entry.text.indexOf(' ', at + 160);
      const snippet = (from > 0 ? '... ' : '') + entry.text.slice(from, to < 0 ? undefined : to) + (to < 0 ? '' : ' ...');
      const href = entry.page + (entry.anchor ? '#' + entry.anchor : '');
      list.insertAdjacentHTML('beforeend', '<li><a href="' + escape(href) + '">' + escape(entry.heading) +
        '</a> <span class="where">(' + escape(entry.notebook) + ')</span><p>' + escape(snippet) + '</p></li>');
    }
    status.textContent = hits.length + ' section' + (hits.length === 1 ? '' : 's') + ' found' +
      (hits.length > 50 ? ' (the first 50 shown)' : '') + '.';
  };
  form.addEventListener('submit', (event) => { event.preventDefault(); run(); history.replaceState(null, '', '?q=' + encodeURIComponent(box.value)); });
  box.addEventListener('input', run);
  const query = new URLSearchParams(location.search).get('q');
  if (query) { box.value = query; }
  run();
})();
"""


def _search_html() -> str:
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1.0"/>
<title>Search: {html.escape(COURSE_TITLE)}</title>
<style type="text/css">
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; max-width: 900px;
  margin: 2em auto; padding: 0 1em; line-height: 1.5; color: #222; }}
#search-box {{ font-size: 1.1em; width: 70%; padding: 0.3em; }}
#search-results li {{ margin: 0.8em 0; }}
#search-results a {{ color: #1a5fb4; font-weight: bold; }}
#search-results .where {{ color: #555; font-size: 0.9em; }}
#search-results p {{ margin: 0.2em 0; color: #333; font-size: 0.95em; }}
</style>
</head>
<body>
<nav aria-label="course navigation"><a href="index.html">&larr; Course map</a></nav>
<main>
<h1>Search the course</h1>
<form id="search-form" role="search" action="search.html">
<label for="search-box">Search every section of every notebook:</label><br/>
<input type="search" id="search-box" name="q" autocomplete="off"/> <button type="submit">Search</button>
</form>
<p id="search-status" role="status" aria-live="polite"></p>
<ol id="search-results"></ol>
</main>
<script src="search-index.js"></script>
<script>{SEARCH_SCRIPT}</script>
</body>
</html>
"""


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
        f'<form class="site-search" role="search" action="search.html">'
        f'<input type="search" name="q" placeholder="Search the course" aria-label="Search the course"/></form>'
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
<p>The executed notebooks of the course, to read without a kernel. The interactive figures
still move: their <b>width</b>, <b>time</b> and other controls step through frames rendered
when the site was built (mouse or keyboard: focus a slider and press the arrow keys). To
compute values between those, or to change the code, open the notebooks in JupyterLab
(<code>make lab</code>), on Binder or on Colab. Start with <a href="{first}">the first
notebook</a>, <a href="search.html">search the course</a>, or print it
(<a href="print.html">every notebook on one page</a>).</p>
<form role="search" action="search.html"><label for="index-search">Search the course:</label>
<input type="search" id="index-search" name="q"/> <button type="submit">Search</button></form>
<h2>Course map</h2>
<ol class="course-map">
{chr(10).join(items)}
</ol>
</body>
</html>
"""


def figure_id_prefix(stem: str) -> str:
    """Figure ids name their notebook, so they stay unique on print.html, which holds them all."""
    return "figure-" + re.sub(r"[^A-Za-z0-9_-]", "-", stem)


def render_frames(paths: list[Path], frames_dir: Path, *, max_frames: int, jobs: int) -> dict[str, list[dict]]:
    """Run tools/site_frames.py for each notebook (``jobs`` at a time); its records per notebook stem."""
    frames_dir.mkdir(parents=True, exist_ok=True)
    pending, running, records = list(paths), [], {}
    log_dir = frames_dir / "logs"
    log_dir.mkdir(exist_ok=True)

    def start(path: Path):
        log = open(log_dir / f"{path.stem}.log", "w")
        cmd = [sys.executable, str(ROOT / "tools" / "site_frames.py"), str(path),
               "--out", str(frames_dir / path.stem), "--max-frames", str(max_frames)]
        return path, subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT), log

    while pending or running:
        while pending and len(running) < jobs:
            running.append(start(pending.pop(0)))
        for item in list(running):
            path, process, log = item
            if process.poll() is None:
                continue
            running.remove(item)
            log.close()
            text = (log_dir / f"{path.stem}.log").read_text()
            print(text, end="", flush=True)
            if process.returncode != 0:
                for _, other, _ in running:
                    other.kill()
                raise SystemExit(f"tools/site_frames.py failed for {path.name} (exit {process.returncode})")
            records[path.stem] = json.loads((frames_dir / path.stem / "frames.json").read_text())
        time.sleep(0.2)
    shutil.rmtree(log_dir)
    return records


def _print_html(pages: list[dict], exporter) -> str:
    """Every notebook in one page, after a table of contents: what `make pdf` prints."""
    merged = nbformat.v4.new_notebook(metadata=copy.deepcopy(pages[0]["nb"].metadata))
    toc = ["# " + COURSE_TITLE, "", "## Contents", ""]
    for number, page in enumerate(pages, start=1):
        toc.append(f"{number}. [{page['title']}](#notebook-{page['path'].stem})")
    merged.cells.append(nbformat.v4.new_markdown_cell("\n".join(toc)))
    for page in pages:
        merged.cells.append(nbformat.v4.new_markdown_cell(
            f'<div class="print-notebook" id="notebook-{page["path"].stem}"></div>'))
        merged.cells.extend(copy.deepcopy(page["nb"].cells))
    resources = {"metadata": {"name": COURSE_TITLE}, "site_css": SITE_CSS + PRINT_PAGE_CSS,
                 "site_nav_top": "", "site_nav_bottom": "", "site_script": ""}
    body, _ = exporter.from_notebook_node(merged, resources=resources)
    body = body.replace(' loading="lazy"', "")  # printed from a browser too: every figure loads
    return _unique_heading_ids(body)


def _unique_heading_ids(body: str) -> str:
    """Headings that repeat across notebooks ("References") get ids of their own on one page."""
    seen: dict[str, int] = {}

    def renumber(match):
        level, anchor, inner = match.group(1), match.group(2), match.group(3)
        seen[anchor] = seen.get(anchor, 0) + 1
        if seen[anchor] == 1:
            return match.group(0)
        new = f"{anchor}-{seen[anchor]}"
        inner = inner.replace(f'href="#{anchor}"', f'href="#{new}"')
        return f'<h{level} id="{new}">{inner}</h{level}>'

    return re.sub(r'<h([1-6]) id="([^"]+)">(.*?)</h\1>', renumber, body, flags=re.S)


# The merged page breaks before each notebook: its marker is a cell of its own.
PRINT_PAGE_CSS = """
.jp-Cell:has(.print-notebook) { break-before: page; }
figure.explorable figcaption, figure.explorable .frame-controls { display: none; }
figure.explorable .frame-values { display: block; }
"""


def build(notebook_dir: Path, out_dir: Path, *, frames: bool = True, max_frames: int = 250,
          jobs: int = 2) -> list[dict]:
    """Render every notebook of ``notebook_dir`` into ``out_dir``; return the page list."""
    paths = sorted(notebook_dir.glob("*.ipynb"))
    if not paths:
        raise SystemExit(f"no notebooks in {notebook_dir}")
    _install_math_rendering()
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    records = render_frames(paths, out_dir / "frames", max_frames=max_frames, jobs=jobs) if frames else {}
    pages = []
    for path in paths:
        nb = nbformat.read(path, as_version=4)
        by_cell = {record["cell"]: record for record in records.get(path.stem, [])}
        prepared, counts = prepare(nb, by_cell, f"frames/{path.stem}/", figure_id_prefix(path.stem))
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
                "search": search_sections(nb, path.stem + ".html", _first_heading(nb)),
            }
        )
    exporter = _exporter()
    for i, page in enumerate(pages):
        resources = {
            "metadata": {"name": page["title"], "path": str(page["path"].parent)},
            "site_css": SITE_CSS,
            "site_nav_top": _nav(pages, i, "top"),
            "site_nav_bottom": _nav(pages, i, "bottom"),
            "site_script": SITE_SCRIPT,
        }
        body, _ = exporter.from_notebook_node(page["nb"], resources=resources)
        (out_dir / page["file"]).write_text(body, encoding="utf-8")
    (out_dir / "index.html").write_text(_index_html(pages), encoding="utf-8")
    index = [entry for page in pages for entry in page["search"]]
    (out_dir / "search-index.js").write_text("window.COURSE_SEARCH_INDEX = " + json.dumps(index) + ";\n")
    (out_dir / "search.html").write_text(_search_html(), encoding="utf-8")
    (out_dir / "print.html").write_text(_print_html(pages, exporter), encoding="utf-8")
    manifest = [
        {"file": p["file"], "title": p["title"], "source": p["path"].name, **p["counts"],
         "figures_frames": [{"cell": r["cell"], "id": f"{figure_id_prefix(p['path'].stem)}-{r['cell']}",
                             "frames": len(r["alt"]),
                             "controls": [c["name"] for c in r["controls"]]}
                            for r in records.get(p["path"].stem, [])]}
        for p in pages
    ]
    (out_dir / "site.json").write_text(json.dumps(manifest, indent=1))
    return pages


def site_bytes(out_dir: Path) -> int:
    return sum(f.stat().st_size for f in out_dir.rglob("*") if f.is_file())


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
    parser.add_argument("--max-frames", type=int, default=250,
                        help="most frames per interactive figure (a larger grid is thinned evenly)")
    parser.add_argument("--jobs", type=int, default=2, help="notebooks whose frames render at once")
    parser.add_argument("--no-frames", action="store_true",
                        help="show each interactive figure as its stored snapshot (builds in seconds)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pages = build(args.notebooks, args.out, frames=not args.no_frames, max_frames=args.max_frames, jobs=args.jobs)
    for page in pages:
        c = page["counts"]
        note = f"  (WARNING: {page['unexecuted']} code cells were never run)" if page["unexecuted"] else ""
        print(
            f"{page['file']}: {page['title']} -- {c['interactive']} interactive ({c['explorable']} explorable, "
            f"{c['frames']} frames) + {c['figures']} static figures{note}"
        )
    if _latex_to_mathml is None:
        print("math: latex2mathml is not installed; formulas are shown as TeX source")
    else:
        print(f"math: {_MathStats.converted} formulas as MathML, {_MathStats.kept_as_tex} kept as TeX")
    outside = external_loads(args.out)
    if outside:
        print("pages load from other hosts:\n  " + "\n  ".join(outside[:20]), file=sys.stderr)
        return 1
    print(f"site: {args.out}/index.html ({len(pages)} notebooks, {site_bytes(args.out) / 1e6:.1f} MB, "
          f"built in {time.perf_counter() - started:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
