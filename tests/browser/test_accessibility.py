"""axe-core audits (issue 12, item 5): the static site's pages have no serious or critical WCAG 2.1
A/AA violation. (Notebook 00 in JupyterLab is audited in test_lab.py, after its figure moved.)

axe-core comes from npm (`make test` installs it into .axe/), injected into the page by
Playwright: nothing is fetched from a CDN, and every request that is not for 127.0.0.1 is blocked.
"""

from __future__ import annotations

import pytest
from browser_support import SERIOUS, axe_violations, serious_violations

pytestmark = pytest.mark.browser


def test_axe_finds_no_serious_violation_on_the_site(site, new_page):
    page = new_page()
    problems, audited = {}, 0
    for name in ["index.html", "search.html?q=kernel", "print.html", *[e["file"] for e in site["manifest"]]]:
        page.goto(f"{site['url']}/{name}", wait_until="load")
        found = serious_violations(page)
        duplicates = page.evaluate("() => { const ids = [...document.querySelectorAll('[id]')].map((e) => e.id);"
                                   " return [...new Set(ids.filter((id, i) => ids.indexOf(id) !== i))]; }")
        if duplicates:  # axe files duplicate ids under "incomplete", not as violations
            found.append(f"duplicate ids: {duplicates[:10]}")
        audited += 1
        if found:
            problems[name] = found
    assert audited == len(site["manifest"]) + 3
    assert not problems, "axe-core: serious or critical violations\n" + "\n".join(
        f"{page_name}: {line}" for page_name, lines in problems.items() for line in lines)
    assert page.blocked == []


def test_the_audit_catches_a_broken_page(site, new_page):
    """The audit can fail: a figure without alt text and a slider without a name are reported."""
    page = new_page()
    page.goto(f"{site['url']}/04_gradient_flow_ode.html", wait_until="load")
    page.evaluate("""() => { const f = document.querySelector('figure.explorable');
        f.querySelector('img').removeAttribute('alt');
        const input = f.querySelector('input[type=range]'); input.removeAttribute('id');
        f.querySelector('label').replaceWith(input); }""")
    ids = {v["id"] for v in axe_violations(page) if v["impact"] in SERIOUS}
    assert {"image-alt", "label"} <= ids, ids
