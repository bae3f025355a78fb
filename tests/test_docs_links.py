"""The docs hold together: relative links resolve, cited sections exist, no knowledge lives outside the repo.

- Every relative markdown link in README.md, CONTRIBUTING.md and docs/*.md points to an existing file, and
  a ``#fragment`` into a markdown file names one of its headings (GitHub's anchor rules).
- Every ``API_FACTS.md#<section>`` cited anywhere in the repo (code comments included) names a heading of
  docs/API_FACTS.md, so renaming a heading cannot silently orphan a citation.
- No file cites the old out-of-repo notes (``../shared``'s facts file), and no Python file other than the
  spec generator and its test names the ``shared`` folder beside the repo: the project must not depend on it.
"""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
API_FACTS = ROOT / "docs" / "API_FACTS.md"
DOCS = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", *sorted((ROOT / "docs").glob("*.md"))]

LINK_RE = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE_RE = re.compile(r"^(```|~~~).*?^\1", re.M | re.S)
HEADING_RE = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.M)
CITATION_RE = re.compile(r"API_FACTS\.md#([A-Za-z0-9_-]+)")
# The notes file that used to live in ../shared (spelled so that this file does not match itself).
OLD_NOTES_RE = re.compile(r"(?<![A-Za-z_])" + "FACTS" + r"\.md")
SHARED_DIR = "shared/" + "eaccounting-api"  # split so that this file does not match itself
# The generator reads Visma's spec from ../shared at development time; only it and its test may say so.
MAY_NAME_SHARED = {"scripts/generate_from_spec.py", "tests/test_spec_generation.py"}


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading anchors on its text
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(markdown: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for heading in HEADING_RE.findall(FENCE_RE.sub("", markdown)):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def relative_links(markdown: str) -> Iterator[str]:
    for target in LINK_RE.findall(FENCE_RE.sub("", markdown)):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):  # http:, https:, mailto:
            continue
        yield target


def broken_links(doc: Path) -> list[str]:
    """Every relative link of ``doc`` that names a missing file or a missing heading."""
    problems = []
    for target in relative_links(doc.read_text(encoding="utf-8")):
        path_part, _, fragment = target.partition("#")
        dest = (doc.parent / path_part).resolve() if path_part else doc
        if not dest.exists():
            problems.append(f"{doc.name}: {target}: no such file")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest.read_text(encoding="utf-8")):
            problems.append(f"{doc.name}: {target}: no heading #{fragment} in {dest.name}")
    return problems


def repo_files() -> list[Path]:
    """Tracked and new (not ignored) files of the repo."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=ROOT,
            capture_output=True,
            check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("not a git checkout: the repo's file list is unknown")
    return [ROOT / name for name in out.decode("utf-8").split("\0") if name and (ROOT / name).is_file()]


def text_of(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError):
        return None  # binary, or deleted in the working tree


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve(doc: Path) -> None:
    assert broken_links(doc) == []


def test_the_docs_link_to_each_other() -> None:
    """Not vacuous: the guides are linked from the README, and API_FACTS has the sections code cites."""
    readme = list(relative_links((ROOT / "README.md").read_text(encoding="utf-8")))
    assert "CONTRIBUTING.md" in readme
    assert any(link.startswith("docs/API_FACTS.md") for link in readme)
    assert {"rate-limit", "pagination", "token-lifetimes-and-rotation", "unverified-assumptions"} <= anchors(
        API_FACTS.read_text(encoding="utf-8")
    )


def test_every_cited_api_facts_section_exists() -> None:
    sections = anchors(API_FACTS.read_text(encoding="utf-8"))
    cited: dict[str, set[str]] = {}
    for path in repo_files():
        for anchor in CITATION_RE.findall(text_of(path) or ""):
            cited.setdefault(anchor, set()).add(str(path.relative_to(ROOT)))
    assert len(cited) >= 5, "code comments should cite API_FACTS.md sections"
    missing = {anchor: sorted(files) for anchor, files in cited.items() if anchor not in sections}
    assert missing == {}


def test_nothing_cites_the_out_of_repo_notes() -> None:
    offenders = [
        str(path.relative_to(ROOT)) for path in repo_files() if OLD_NOTES_RE.search(text_of(path) or "")
    ]
    assert offenders == []


def test_only_the_generator_names_the_shared_folder() -> None:
    offenders = [
        rel
        for path in repo_files()
        if path.suffix == ".py"
        and (rel := str(path.relative_to(ROOT))) not in MAY_NAME_SHARED
        and SHARED_DIR in (text_of(path) or "")
    ]
    assert offenders == []


def test_the_checker_catches_broken_links(tmp_path: Path) -> None:
    (tmp_path / "target.md").write_text("# Rate limit\n\n## Error codes\n", encoding="utf-8")
    doc = tmp_path / "doc.md"
    doc.write_text(
        "[ok](target.md#rate-limit) [ok2](target.md#error-codes) [web](https://example.com/x.md)\n"
        "[gone](missing.md) [bad anchor](target.md#rate-limits)\n"
        "```\n[in a code block](nowhere.md)\n```\n",
        encoding="utf-8",
    )
    assert broken_links(doc) == [
        "doc.md: missing.md: no such file",
        "doc.md: target.md#rate-limits: no heading #rate-limits in target.md",
    ]


def test_slugs_follow_github() -> None:
    assert slug("OAuth code flow and scopes") == "oauth-code-flow-and-scopes"
    assert slug("UNVERIFIED assumptions") == "unverified-assumptions"
    assert slug("`paging.py`: $page, 1-based!") == "pagingpy-page-1-based"
    assert anchors("# A\n## A\n```\n# not a heading\n```\n") == {"a", "a-1"}
