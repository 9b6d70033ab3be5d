"""An nbgitpuller link that opens the course for every student of a class on a JupyterHub.

    make class-link HUB=https://hub.example.edu REPO=https://github.com/you/ntk-course
    .venv/bin/python tools/class_link.py --hub https://hub.example.edu --repo https://github.com/you/ntk-course

A student who follows the link logs in, gets (or updates) their own copy of the repository in
their home folder, and lands on notebook 00 in JupyterLab. nbgitpuller (pinned in the image)
merges the course's updates without overwriting a student's edits.
"""

from __future__ import annotations

import argparse
import sys
import urllib.parse

DEFAULT_NOTEBOOK = "notebooks/00_start_here.ipynb"


def class_link(hub: str, repo: str, branch: str = "main", notebook: str = DEFAULT_NOTEBOOK) -> str:
    """The ``/hub/user-redirect/git-pull`` link for ``repo`` on ``hub``, opening ``notebook``."""
    for name, url in (("hub", hub), ("repo", repo)):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{name} must be an http(s) address like https://example.edu; got {url!r}")
    if not branch or any(c.isspace() for c in branch):
        raise ValueError(f"branch must be a branch name; got {branch!r}")
    folder = urllib.parse.urlsplit(repo).path.rstrip("/").rsplit("/", 1)[-1].removesuffix(".git")
    query = urllib.parse.urlencode(
        {"repo": repo, "branch": branch, "urlpath": f"lab/tree/{folder}/{notebook}"}, quote_via=urllib.parse.quote
    )
    return f"{hub.rstrip('/')}/hub/user-redirect/git-pull?{query}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hub", required=True, help="the hub's address, e.g. https://hub.example.edu")
    parser.add_argument("--repo", required=True, help="the course repository's git address")
    parser.add_argument("--branch", default="main")
    parser.add_argument("--notebook", default=DEFAULT_NOTEBOOK)
    args = parser.parse_args(argv)
    try:
        print(class_link(args.hub, args.repo, args.branch, args.notebook))
    except ValueError as err:
        print(f"class-link: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
