"""report.html: what a job did, as one page a person opens from the S3 console or the out folder.

The page is self-contained: inline CSS, no script, no image, no font, and a Content-Security-Policy
that forbids fetching anything, so opening it reaches no server and a hostile cell cannot run.
Every text taken from the file or from Connect is escaped. A large job's page stays small: each
section shows its first rows and says where the rest are.
"""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Iterable, Sequence

from connect_profiles.domain.engine import JobResult
from connect_profiles.domain.model import (
    CHANGES,
    REPORT,
    ChangeRecord,
    failures_by_reason,
    tally,
)

ROWS_SHOWN = 500  # per section: a 100k-row job's page stays a few hundred kilobytes
LINES_SHOWN = 20  # line numbers listed per failure reason

# default-src 'none' blocks every fetch (scripts, images, fonts, frames, connections); the inline
# style block is the one thing allowed. The empty data: icon stops the browser asking for favicon.ico.
_HEAD = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<link rel="icon" href="data:,">
<title>{title}</title>
<style>
body{{font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#1b1b1b;background:#fff;
margin:0 auto;max-width:72rem;padding:1rem 1.25rem 3rem}}
h1{{font-size:1.5rem;margin:.5rem 0}}
h2{{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid #ccc;padding-bottom:.2rem}}
dl.facts{{display:grid;grid-template-columns:max-content 1fr;gap:.15rem 1rem;margin:.5rem 0}}
dl.facts dt{{font-weight:600}} dl.facts dd{{margin:0;overflow-wrap:anywhere}}
.mode{{display:inline-block;border:2px solid #1b1b1b;padding:.1rem .5rem;margin-right:.4rem;
font-weight:700;letter-spacing:.04em}}
.mode[data-mode^="dry-run"]{{border-style:dashed;background:#fff6d5}}
.notice{{border-left:4px solid #1b1b1b;padding:.3rem .75rem;background:#f4f4f4}}
ul.counts{{list-style:none;display:flex;flex-wrap:wrap;gap:.75rem;padding:0;margin:.5rem 0}}
ul.counts li{{border:1px solid #999;border-radius:4px;padding:.4rem .8rem;min-width:7rem}}
ul.counts .count{{display:block;font-size:1.6rem;font-weight:700}}
ul.counts li[data-status="failed"]{{border-width:2px;border-color:#9b1c1c}}
.scroll{{overflow-x:auto}}
table{{border-collapse:collapse;width:100%;font-size:.92rem}}
th,td{{text-align:left;vertical-align:top;padding:.3rem .5rem;border-bottom:1px solid #ddd;
overflow-wrap:anywhere}}
thead th{{border-bottom:2px solid #1b1b1b;white-space:nowrap}}
tbody th{{background:#f4f4f4;font-weight:600}}
td.num,th.num{{text-align:right;font-variant-numeric:tabular-nums;width:1%;white-space:nowrap}}
tr[data-status="failed"] td{{font-weight:600}}
.more{{font-style:italic}}
code{{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.9em}}
@media print{{body{{max-width:none;padding:0}} .scroll{{overflow:visible}} h2{{break-after:avoid}}}}
</style>
</head>
"""


def report_html(result: JobResult, *, file_name: str, instance_id: str) -> bytes:
    """The job's page: mode, instance, counts by status, failures by reason, changes per user."""
    mode = ("dry-run" if result.dry_run else "apply") + (" sync" if result.sync else "")
    title = f"{'DRY RUN ' if result.dry_run else ''}Connect profiles: {file_name}"
    parts = [
        _HEAD.format(title=_e(title)),
        f'<body data-mode="{_e(mode)}">\n<header>\n<h1>Connect profiles: {_e(file_name)}</h1>\n',
        _mode_line(result),
        '<dl class="facts">\n',
        f"<dt>File</dt><dd>{_e(file_name)}</dd>\n",
        f"<dt>Instance</dt><dd><code>{_e(instance_id)}</code></dd>\n",
        f"<dt>Mode</dt><dd>{_e(mode)}</dd>\n",
        f'<dt>Rows</dt><dd id="rows">{len(result.outcomes)}</dd>\n',
        "</dl>\n</header>\n<main>\n",
        *_stopped(result),
        *_counts(result),
        *_warnings(result.warnings),
        *_failures(result),
        *_changes(result),
        "</main>\n<footer>\n<h2>The files beside this page</h2>\n",
        f"<p>Every row with its status and message is in <code>{REPORT}</code>; every proficiency "
        f"changed, before and after, in <code>{CHANGES}</code>; <code>rollback.csv</code> undoes "
        "this job's changes, <code>retry.csv</code> holds the failed rows to fix and drop again, and "
        "<code>backup.csv</code> every touched user's proficiencies before the job.</p>\n",
        "</footer>\n</body>\n</html>\n",
    ]
    return "".join(parts).encode("utf-8")


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _mode_line(result: JobResult) -> str:
    what = "sync file (each user's whole set)" if result.sync else "file"
    if result.dry_run:
        return (
            f'<p><span class="mode" data-mode="dry-run">DRY RUN</span> A plan of the {what}: nothing was '
            "changed in Amazon Connect. Every change below is what applying it would do.</p>\n"
        )
    return (
        f'<p><span class="mode" data-mode="apply">APPLIED</span> The {what} was applied to Amazon '
        "Connect.</p>\n"
    )


def _stopped(result: JobResult) -> list[str]:
    if result.denied is None:
        return []
    denied = result.denied
    return [
        '<p class="notice" id="stopped"><strong>Stopped:</strong> AWS refused ',
        f"<code>{_e(denied.action)}</code> on <code>{_e(denied.resource)}</code>. ",
        "Rows not reached are failed and are in retry.csv.</p>\n",
    ]


def _counts(result: JobResult) -> list[str]:
    """The count of each status the job has, and failed always, as the summary counts them."""
    counts = result.counts()
    items = [
        f'<li data-status="{s.value}"><span class="count">{counts[s.value]}</span> {s.value}</li>\n'
        for s in result.statuses_shown()
    ]
    return [
        '<section id="counts">\n<h2>Rows by status</h2>\n<ul class="counts">\n',
        *items,
        "</ul>\n</section>\n",
    ]


def _warnings(warnings: Sequence[str]) -> list[str]:
    """The file's own warnings (an unknown column, an encoding guessed): a few per file at most."""
    if not warnings:
        return []
    items = [f"<li>{_e(w)}</li>\n" for w in warnings]
    return ['<section id="warnings">\n<h2>Warnings</h2>\n<ul>\n', *items, "</ul>\n</section>\n"]


def _failures(result: JobResult) -> list[str]:
    failures = result.failures
    if not failures:
        return []
    groups = failures_by_reason(failures)
    rows = []
    for reason, lines in groups[:ROWS_SHOWN]:
        listed = ", ".join(str(line) if line else "(sync removal)" for line in lines[:LINES_SHOWN])
        more = f" and {len(lines) - LINES_SHOWN} more" if len(lines) > LINES_SHOWN else ""
        rows.append(
            f'<tr data-rows="{len(lines)}"><td class="num">{len(lines)}</td><td>{_e(reason)}</td>'
            f"<td>{listed}{more}</td></tr>\n"
        )
    return [
        '<section id="failures">\n',
        f"<h2>Failures by reason ({len(failures)} rows, {len(groups)} reasons)</h2>\n",
        '<div class="scroll"><table>\n<thead><tr><th class="num">Rows</th><th>Reason</th>'
        "<th>Lines</th></tr></thead>\n<tbody>\n",
        *rows,
        "</tbody>\n</table></div>\n",
        *_more(len(groups), REPORT, noun="reasons"),
        "</section>\n",
    ]


def _changes(result: JobResult) -> list[str]:
    changes = result.changes
    heading = "What would change" if result.dry_run else "What changed"
    if not changes:
        nothing = "Nothing would change." if result.dry_run else "Nothing changed."
        return [f'<section id="changes">\n<h2>{heading}</h2>\n<p>{nothing}</p>\n</section>\n']
    by_status = Counter(change.status.value for change in changes)
    statuses = tally(by_status)
    users = len({change.user_id for change in changes})
    body = [_user_rows(group) for group in _by_user(changes[:ROWS_SHOWN])]
    return [
        '<section id="changes">\n',
        f"<h2>{heading} ({len(changes)} proficiency changes to {users} users: {statuses})</h2>\n",
        '<div class="scroll"><table>\n<thead><tr><th>Attribute</th><th>Value</th>'
        '<th class="num">Before</th><th class="num">After</th><th>Status</th>'
        '<th class="num">Line</th><th>Message</th></tr></thead>\n',
        *body,
        "</table></div>\n",
        *_more(len(changes), CHANGES, noun="changes"),
        "</section>\n",
    ]


def _by_user(changes: Iterable[ChangeRecord]) -> list[list[ChangeRecord]]:
    """Changes grouped by user, users in the order they first appear (the file's order)."""
    grouped: dict[str, list[ChangeRecord]] = {}
    for change in changes:
        grouped.setdefault(change.user_id, []).append(change)
    return list(grouped.values())


def _user_rows(changes: list[ChangeRecord]) -> str:
    first = changes[0]
    who = (
        f"{_e(first.username)} <code>{_e(first.user_id)}</code>"
        if first.username
        else f"<code>{_e(first.user_id)}</code>"
    )
    rows = [f'<tbody data-user="{_e(first.user_id)}">\n<tr><th colspan="7">{who}</th></tr>\n']
    rows += [
        f'<tr data-status="{c.status.value}"><td>{_e(c.attribute)}</td><td>{_e(c.value)}</td>'
        f'<td class="num">{_level(c.level_before)}</td><td class="num">{_level(c.level_after)}</td>'
        f'<td>{c.status.value}</td><td class="num">{c.line or "sync"}</td><td>{_e(c.message)}</td></tr>\n'
        for c in changes
    ]
    rows.append("</tbody>\n")
    return "".join(rows)


def _level(level: int | None) -> str:
    return "none" if level is None else str(level)


def _more(total: int, file: str, *, noun: str = "rows") -> list[str]:
    if total <= ROWS_SHOWN:
        return []
    return [
        f'<p class="more" data-hidden="{total - ROWS_SHOWN}">Showing the first {ROWS_SHOWN} of {total} '
        f"{noun}; all {total} are in <code>{file}</code>.</p>\n"
    ]
