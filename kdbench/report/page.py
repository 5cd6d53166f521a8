"""reports/index.html: one self-contained page (inline CSS, plots as base64 data URIs, no scripts, nothing
fetched), so it can be mailed, attached to a CI run or opened offline. The answer comes first.

Named page.py, not html.py, so that `import html` below is never mistaken for this module."""

import base64
import html

from kdbench.report.tables import Table

FOLD_ROWS = 60          # longer tables start folded, so the plots and claims stay within reach

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; color: #222; max-width: 1240px; margin: 1.5em auto; padding: 0 1em; }
h1 { margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 1.8em; }
.lede { color: #555; }
.answer { background: #f3f8f3; border-left: 4px solid #3a7d44; padding: 0.6em 1em; margin: 0.8em 0; }
.answer.none { background: #fbf5ec; border-left-color: #c27c0e; }
.answer .q { font-weight: 600; margin: 0 0 0.3em; } .answer .a { margin: 0; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 12.5px; }
th, td { border: 1px solid #ddd; padding: 3px 7px; white-space: nowrap; }
th { background: #f4f4f4; text-align: left; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fafafa; }
figure { display: inline-block; margin: 0.3em 0.6em 0.8em 0; } figcaption { font-size: 12px; color: #555; }
img { max-width: 100%; height: auto; }
.verdict { display: inline-block; min-width: 6.5em; text-align: center; border-radius: 3px; padding: 0 0.4em;
  font-weight: 600; font-size: 12px; margin-right: 0.5em; }
.held { background: #d9efdc; color: #1e5a28; } .not-held { background: #f7d9d6; color: #8a1f14; }
.not-tested { background: #e8e8e8; color: #555; } .no-significant-difference { background: #eef1f8; color: #2b4170; }
.claim { margin: 0.9em 0; } .claim .rule { color: #666; font-size: 12.5px; margin: 0.1em 0; }
footer { margin-top: 2.5em; border-top: 2px solid #ddd; color: #444; font-size: 13px; }
code { font-size: 12px; }
"""


def esc(value):
    return html.escape(str(value), quote=True)


def table_html(table: Table):
    numeric = table.numeric()
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    body = "".join("<tr>" + "".join(f'<td class="num">{esc(c)}</td>' if num else f"<td>{esc(c)}</td>"
                                    for c, num in zip(row, numeric)) + "</tr>\n" for row in table.cells())
    return (f'<div class="scroll"><table data-name="{esc(table.name)}"><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{body}</tbody></table></div>\n")


def _folded(table, max_rows):
    """The table, folded behind a <details> toggle when longer than max_rows (it stays in the DOM)."""
    if len(table.rows) <= max_rows:
        return table_html(table)
    return f"<details><summary>{len(table.rows)} rows</summary>{table_html(table)}</details>\n"


def _png(data, alt):
    return f'<img src="data:image/png;base64,{base64.b64encode(data).decode("ascii")}" alt="{esc(alt)}">'


def render(title, lede, recommendations, tables, plots, sections, provenance):
    """The page as a string.

    recommendations: Recommendation objects; tables: Table objects, shown in order; plots: (caption, png
    bytes); sections: (heading, Claim objects) pairs, the paper's claims then the study's findings;
    provenance: (heading, Table or text) pairs for the footer."""
    parts = [f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{esc(title)}</title>'
             f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head>'
             f"<body>\n<h1>{esc(title)}</h1>\n<p class=\"lede\">{esc(lede)}</p>\n"]

    parts.append('<section id="recommendation"><h2>Which student should I ship?</h2>\n')
    for rec in recommendations:
        cls = "answer" if rec.pick else "answer none"
        parts.append(f'<div class="{cls}" data-task="{esc(rec.task)}"><p class="q">{esc(rec.question())}</p>'
                     f'<p class="a">{esc(rec.answer())}</p></div>\n')
    parts.append("</section>\n")

    for table in tables:
        parts.append(f'<section id="{esc(table.name)}"><h2>{esc(table.title)}</h2>\n')
        parts.append(_folded(table, FOLD_ROWS if table.name != "bench" else 0))
        parts.append("</section>\n")

    parts.append('<section id="plots"><h2>Score vs cost</h2>\n<p class="lede">Every student x variant x runtime; '
                 "ringed points form the Pareto frontier (no other point is both cheaper and better). Red dotted "
                 "lines: the budgets; grey dashed: the non-neural reference. Trend plots (once two benchmark "
                 "runs are recorded in reports/history/<task>.jsonl): each case across runs, labelled by commit."
                 "</p>\n")
    for caption, data in plots:
        parts.append(f"<figure>{_png(data, caption)}<figcaption>{esc(caption)}</figcaption></figure>\n")
    parts.append("</section>\n")

    for (heading, section), anchor in zip(sections, ("conclusions", "findings")):
        parts.append(f'<section id="{anchor}"><h2>{esc(heading)}</h2>\n')
        for c in section:
            cls = c.verdict.replace(" ", "-")
            parts.append(f'<div class="claim" data-claim="{esc(c.key)}"><div><span class="verdict {cls}">'
                         f"{esc(c.verdict)}</span><strong>{esc(c.statement)}</strong></div>"
                         f'<p class="rule">Rule: {esc(c.rule)}.</p><p>{esc(c.summary)}</p>')
            if c.details is not None:
                parts.append(f"<details><summary>{len(c.details.rows)} comparisons</summary>"
                             f"{table_html(c.details)}</details>")
            parts.append("</div>\n")
        parts.append("</section>\n")

    parts.append('<footer id="provenance"><h2>Machine, versions and data</h2>\n')
    for heading, content in provenance:
        parts.append(f"<h3>{esc(heading)}</h3>")
        if isinstance(content, Table):
            parts.append(_folded(content, 12))
        else:
            parts.append(f"<p>{esc(content)}</p>\n")
    parts.append("</footer>\n</body></html>\n")
    return "".join(parts)
