"""report.html: the page a person opens, read back with the standard library's HTML parser."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from connect_profiles.domain.engine import JobResult
from connect_profiles.domain.model import REPORT_HTML, ChangeRecord, CsvRow, RowOutcome, Status
from connect_profiles.domain.outputs import render_files
from connect_profiles.domain.report_html import LINES_SHOWN, ROWS_SHOWN, report_html
from connect_profiles.ports import PermissionDenied

VOID = frozenset({"meta", "link", "br", "img", "input", "hr"})


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    children: list[Element | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text for c in self.children)

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Element]:
        """Every element below with this tag and these attributes (data_status= for data-status)."""
        wanted = {name.replace("_", "-"): value for name, value in attrs.items()}
        found = []
        for child in self.children:
            if isinstance(child, Element):
                if (tag is None or child.tag == tag) and all(
                    child.attrs.get(k) == v for k, v in wanted.items()
                ):
                    found.append(child)
                found += child.find_all(tag, **attrs)
        return found

    def one(self, tag: str | None = None, **attrs: str) -> Element:
        [element] = self.find_all(tag, **attrs)
        return element


class _Tree(HTMLParser):
    """A strict little DOM: every element closed, in order, or the page is malformed."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.declarations: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.declarations.append(decl)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {name: value or "" for name, value in attrs})
        self.stack[-1].children.append(element)
        if tag not in VOID:
            self.stack.append(element)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack[-1].tag == tag, f"</{tag}> closes <{self.stack[-1].tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def parse(page: bytes) -> Element:
    tree = _Tree()
    tree.feed(page.decode("utf-8"))
    tree.close()
    assert tree.stack == [tree.root], "unclosed elements"
    assert tree.declarations == ["DOCTYPE html"]
    return tree.root


def row(line: int, status: Status, message: str = "", ident: str = "jdoe") -> RowOutcome:
    return RowOutcome(CsvRow(line, ident, "username", "add", "tier", f"T{line}", "2"), status, message, "u-1")


def change(
    user: str,
    value: str,
    before: int | None,
    after: int | None,
    status: Status = Status.SUCCEEDED,
    line: int = 2,
) -> ChangeRecord:
    return ChangeRecord(f"id-{user}", user, "tier", value, before, after, status, line, "ok")


def job(
    outcomes: list[RowOutcome],
    changes: list[ChangeRecord] | None = None,
    *,
    dry_run: bool = False,
    sync: bool = False,
    warnings: list[str] | None = None,
) -> JobResult:
    return JobResult(outcomes, [], [], warnings or [], dry_run, changes=changes or [], sync=sync)


def page_of(result: JobResult, *, file_name: str = "changes.csv", instance_id: str = "inst-1") -> bytes:
    return report_html(result, file_name=file_name, instance_id=instance_id)


def counts_on(dom: Element) -> dict[str, int]:
    counts = dom.one("section", id="counts")
    return {li.attrs["data-status"]: int(li.one("span").text) for li in counts.find_all("li")}


MIXED = [
    row(2, Status.SUCCEEDED, "added at level 2"),
    row(3, Status.SUCCEEDED, "added at level 2"),
    row(4, Status.SKIPPED, "duplicate of line 2"),
    row(5, Status.FAILED, "no user with username 'ghost'", ident="ghost"),
    row(6, Status.FAILED, "level must be a whole number from 1 to 5"),
    row(7, Status.FAILED, "level must be a whole number from 1 to 5"),
]


def test_the_page_shows_each_status_the_job_has_and_failed_always() -> None:
    # Given a job with successes, a skip and failures
    dom = parse(page_of(job(MIXED)))
    # Then each status it has is counted, in the summary's order, and planned (it has none) is not
    assert counts_on(dom) == {"succeeded": 2, "skipped": 1, "failed": 3}
    assert [li.attrs["data-status"] for li in dom.find_all("li")] == ["succeeded", "skipped", "failed"]
    assert dom.one(id="rows").text == "6"
    # And a clean job still says 0 failed
    assert counts_on(parse(page_of(job([row(2, Status.SUCCEEDED)])))) == {"succeeded": 1, "failed": 0}


def test_the_page_names_the_file_the_instance_and_the_mode() -> None:
    dom = parse(page_of(job(MIXED), file_name="team.csv", instance_id="0000-inst"))
    assert dom.one("title").text == "Connect profiles: team.csv"
    assert dom.one("h1").text == "Connect profiles: team.csv"
    assert dom.one("body").attrs["data-mode"] == "apply"
    facts = dict(
        zip((dt.text for dt in dom.find_all("dt")), (dd.text for dd in dom.find_all("dd")), strict=True)
    )
    assert facts == {"File": "team.csv", "Instance": "0000-inst", "Mode": "apply", "Rows": "6"}
    assert "APPLIED" in dom.one("span", **{"class": "mode"}).text


def test_a_dry_run_is_marked_and_its_changes_are_what_would_change() -> None:
    # Given a dry run that plans a change
    planned = job([row(2, Status.PLANNED)], [change("jdoe", "T2", None, 2, Status.PLANNED)], dry_run=True)
    dom = parse(page_of(planned))
    # Then the title, the mode and the changes' heading all say it is a plan
    assert dom.one("title").text == "DRY RUN Connect profiles: changes.csv"
    assert dom.one("body").attrs["data-mode"] == "dry-run"
    assert dom.one("span", data_mode="dry-run").text == "DRY RUN"
    assert "nothing was changed in Amazon Connect" in dom.one("header").text
    assert dom.one("section", id="changes").one("h2").text.startswith("What would change (1 proficiency")
    assert counts_on(dom) == {"planned": 1, "failed": 0}
    # And an applied job's page says none of that
    applied = page_of(job([row(2, Status.SUCCEEDED)], [change("jdoe", "T2", None, 2)]))
    assert b"DRY RUN" not in applied
    assert b"would" not in applied
    assert (
        parse(applied).one("section", id="changes").one("h2").text.startswith("What changed (1 proficiency")
    )


def test_a_sync_file_says_so_planned_or_applied() -> None:
    dom = parse(page_of(job([row(2, Status.PLANNED)], dry_run=True, sync=True)))
    assert dom.one("body").attrs["data-mode"] == "dry-run sync"
    assert "A plan of the sync file (each user's whole set): nothing was changed" in dom.one("header").text
    assert dom.one("section", id="changes").one("p").text == "Nothing would change."
    applied = parse(page_of(job([row(2, Status.SUCCEEDED)], sync=True)))
    assert applied.one("body").attrs["data-mode"] == "apply sync"
    assert (
        "The sync file (each user's whole set) was applied to Amazon Connect." in applied.one("header").text
    )
    assert applied.one("section", id="changes").one("p").text == "Nothing changed."


def test_failures_are_grouped_by_reason_most_frequent_first_with_their_lines() -> None:
    dom = parse(page_of(job(MIXED)))
    section = dom.one("section", id="failures")
    assert section.one("h2").text == "Failures by reason (3 rows, 2 reasons)"
    cells = [[td.text for td in tr.find_all("td")] for tr in section.one("tbody").find_all("tr")]
    assert cells == [
        ["2", "level must be a whole number from 1 to 5", "6, 7"],
        ["1", "no user with username 'ghost'", "5"],
    ]
    # And a job without failures has no such section
    assert not parse(page_of(job([row(2, Status.SUCCEEDED)]))).find_all(id="failures")


def test_a_reason_lists_its_first_lines_and_how_many_more() -> None:
    many = [row(line, Status.FAILED, "same reason") for line in range(2, 2 + LINES_SHOWN + 5)]
    [tr] = parse(page_of(job(many))).one("section", id="failures").one("tbody").find_all("tr")
    lines = tr.find_all("td")[2].text
    assert lines.startswith("2, 3, 4, ")
    assert lines.endswith(f"{LINES_SHOWN + 1} and 5 more")


def test_changes_are_grouped_by_user_in_first_seen_order_with_before_and_after() -> None:
    # Given changes to two users, interleaved, one a removal and one failed
    changes = [
        change("jdoe", "T1", None, 2),
        change("maria", "T1", 3, 4, line=3),
        change("jdoe", "T2", 1, None, line=4),
        change("jdoe", "T3", 2, 5, Status.FAILED, line=5),
    ]
    dom = parse(page_of(job(MIXED, changes)))
    section = dom.one("section", id="changes")
    # Then one group per user, in the order the file first names them
    groups = section.find_all("tbody")
    assert [g.attrs["data-user"] for g in groups] == ["id-jdoe", "id-maria"]
    assert groups[0].one("th").text == "jdoe id-jdoe"
    table = [[td.text for td in tr.find_all("td")] for tr in groups[0].find_all("tr")[1:]]
    assert table == [
        ["tier", "T1", "none", "2", "succeeded", "2", "ok"],
        ["tier", "T2", "1", "none", "succeeded", "4", "ok"],
        ["tier", "T3", "2", "5", "failed", "5", "ok"],
    ]
    # And the heading counts changes, users and statuses
    assert section.one("h2").text == "What changed (4 proficiency changes to 2 users: 3 succeeded, 1 failed)"


def test_a_sync_files_implicit_removal_and_a_user_without_a_name_are_shown_plainly() -> None:
    removal = ChangeRecord("u-9", "", "tier", "T1", 2, None, Status.SUCCEEDED, 0, "removed")
    dom = parse(page_of(job([row(2, Status.SUCCEEDED)], [removal], sync=True)))
    group = dom.one("tbody", data_user="u-9")
    assert group.one("th").text == "u-9"
    assert [td.text for td in group.find_all("td")][5] == "sync"


def test_hostile_and_accented_cells_are_text_not_markup() -> None:
    # Given a file name, a username, a value, a reason and an instance that hold markup and quotes
    script = "<script>alert(1)</script>"
    attack = '"><img src=x onerror=alert(1)>'
    changes = [
        ChangeRecord(
            f"u{attack}",
            f"José {script}",
            "langue",
            f"Français{attack}",
            None,
            3,
            Status.SUCCEEDED,
            2,
            f"ok {script}",
        )
    ]
    failed = [row(3, Status.FAILED, f"no user named 'Zoë' {script} & {attack}")]
    result = job(failed, changes, warnings=[f"Ignored unknown column: '{script}'."])
    page = page_of(result, file_name=f"{script}é.csv", instance_id=attack)
    text = page.decode("utf-8")
    # Then no markup from the data reaches the page: no script, no image, no broken-out attribute
    assert "<script" not in text
    assert "<img" not in text
    assert "onerror=alert(1)>" not in text.replace("onerror=alert(1)&gt;", "")
    dom = parse(page)
    assert not dom.find_all("script")
    assert not dom.find_all("img")
    # And the text reads back exactly, accents included, as UTF-8
    assert dom.one("h1").text == f"Connect profiles: {script}é.csv"
    group = dom.one("section", id="changes").one("tbody")
    assert group.attrs["data-user"] == f"u{attack}"
    assert group.one("th").text == f"José {script} u{attack}"
    assert f"Français{attack}" in dom.one("section", id="changes").text
    assert f"no user named 'Zoë' {script} & {attack}" in dom.one("section", id="failures").text
    assert f"'{script}'" in dom.one("section", id="warnings").text
    assert "Zoë".encode() in page
    assert dom.find_all("meta", charset="utf-8")


def test_the_page_fetches_nothing() -> None:
    # Given a page with every section
    result = job(MIXED, [change("jdoe", "T1", None, 2)], warnings=["a warning"])
    result.denied = PermissionDenied("connect:ListUsers", "arn:aws:connect:::instance/x", "denied")
    dom = parse(page_of(result))
    # Then no element names anything to fetch but the empty data: icon
    urls = [
        value for e in dom.find_all() for name, value in e.attrs.items() if name in {"src", "href", "srcset"}
    ]
    assert urls == ["data:,"]
    assert not any(u.startswith(("http://", "https://", "//")) for u in urls)
    assert not dom.find_all("script") + dom.find_all("img") + dom.find_all("iframe")
    assert [link.attrs for link in dom.find_all("link")] == [{"rel": "icon", "href": "data:,"}]
    # And the browser is told to fetch nothing: only the inline style is allowed
    [policy] = dom.find_all("meta", **{"http-equiv": "Content-Security-Policy"})
    assert policy.attrs["content"] == "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    style = dom.one("style").text
    assert "url(" not in style
    assert "@import" not in style
    # And the stop is shown, as text
    assert "connect:ListUsers" in dom.one(id="stopped").text


def test_a_reason_with_exactly_the_lines_shown_has_no_more_and_a_sync_removal_is_named() -> None:
    exact = [row(line, Status.FAILED, "same reason") for line in range(2, 2 + LINES_SHOWN)]
    removal = RowOutcome(CsvRow(0, "u-1", "user_id", "remove", "tier", "T9", ""), Status.FAILED, "refused")
    trs = parse(page_of(job([*exact, removal]))).one("section", id="failures").one("tbody").find_all("tr")
    assert [tr.find_all("td")[2].text for tr in trs] == [
        ", ".join(str(line) for line in range(2, 2 + LINES_SHOWN)),
        "(sync removal)",
    ]


def test_the_note_of_more_says_how_many_are_hidden() -> None:
    changes = [change(f"user{n}", "T1", None, 2) for n in range(ROWS_SHOWN + 3)]
    [more] = parse(page_of(job([row(2, Status.SUCCEEDED)], changes))).find_all("p", **{"class": "more"})
    assert more.attrs["data-hidden"] == "3"


def test_a_large_job_shows_the_first_rows_of_each_section_and_says_where_the_rest_are() -> None:
    # Given 100,000 changes to distinct users and as many failures, each with its own reason
    total = 100_000
    changes = [change(f"user{n}", "T1", None, 2, line=n + 2) for n in range(total)]
    failures = [row(n + 2, Status.FAILED, f"no user with username 'user{n}'") for n in range(total)]
    page = page_of(job(failures, changes))
    dom = parse(page)
    # Then each section shows its first ROWS_SHOWN rows
    changed = dom.one("section", id="changes")
    assert len(changed.find_all("tr", data_status="succeeded")) == ROWS_SHOWN
    assert changed.find_all("tbody")[-1].attrs["data-user"] == f"id-user{ROWS_SHOWN - 1}"
    assert len(dom.one("section", id="failures").one("tbody").find_all("tr")) == ROWS_SHOWN
    # And says how many more there are and in which file
    more = [p.text for p in dom.find_all("p", **{"class": "more"})]
    assert more == [
        f"Showing the first {ROWS_SHOWN} of {total} reasons; all {total} are in report.csv.",
        f"Showing the first {ROWS_SHOWN} of {total} changes; all {total} are in changes.csv.",
    ]
    # And the counts still count every row and change
    assert counts_on(dom) == {"failed": total}
    assert f"({total} proficiency changes to {total} users" in changed.one("h2").text
    # And the page stays small
    assert len(page) < 600_000


def test_a_job_within_the_cap_says_nothing_about_more() -> None:
    changes = [change(f"user{n}", "T1", None, 2) for n in range(ROWS_SHOWN)]
    dom = parse(page_of(job([row(2, Status.SUCCEEDED)], changes)))
    assert not dom.find_all("p", **{"class": "more"})
    assert len(dom.one("section", id="changes").find_all("tr", data_status="succeeded")) == ROWS_SHOWN


def test_render_files_writes_the_page_beside_the_report() -> None:
    result = job(MIXED)
    files = render_files(result, file_name="team.csv", instance_id="inst-9")
    assert files[REPORT_HTML] == report_html(result, file_name="team.csv", instance_id="inst-9")
