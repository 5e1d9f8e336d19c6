"""Print the README's function table from the registry, or ``--write`` it into the README
(a test checks that the README matches)."""

import sys
from pathlib import Path

import fastact
from fastact.registry import REQUIRED


def _param(p) -> str:
    if p.is_array:
        return f"`{p.name}` (array along axis {p.axis})"
    if p.default is REQUIRED:
        return f"`{p.name}`"
    if p.is_choice:
        return (
            f"`{p.name}={p.default!r}` (or "
            + ", ".join(repr(c) for c in p.choices if c != p.default)
            + ")"
        )
    return f"`{p.name}={p.default!r}`"


def table() -> str:
    rows = [
        "| function | parameters | kind | backward saves | forms |",
        "|---|---|---|---|---|",
    ]
    for act in fastact.REGISTRY.values():
        params = ", ".join(_param(p) for p in act.params)
        if act.takes_axis:
            params = ", ".join(filter(None, [params, "`axis=-1`"]))
        if act.takes_where:
            params += ", `where=None`"
        if act.takes_bias:
            params = ", ".join(filter(None, [params, "`bias=None`"]))
        forms = ", ".join(f"`{n}`" for n in act.forms)
        rows.append(f"| `{act.name}` | {params or '—'} | {act.kind} | {act.saves} | {forms} |")
    return "\n".join(rows)


README = Path(__file__).resolve().parent.parent / "README.md"


def write(path: Path = README) -> None:
    """Replace the table between the README's registry-table markers."""
    text = path.read_text()
    start, end = "<!-- registry-table -->\n", "\n<!-- /registry-table -->"
    head, rest = text.split(start)
    _, tail = rest.split(end)
    path.write_text(head + start + table() + end + tail)


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    else:
        print(table())
