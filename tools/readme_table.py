"""Print the README's function table from the registry (tests check the README matches)."""

import fastact


def table() -> str:
    rows = [
        "| function | parameters | kind | backward saves | forms |",
        "|---|---|---|---|---|",
    ]
    for act in fastact.REGISTRY.values():
        params = ", ".join(
            f"`{p.name}={p.default!r}`"
            + (f" ({' / '.join(map(repr, p.choices))})" if p.is_choice else "")
            for p in act.params
        )
        if act.kind == "rowwise":
            params = ", ".join(filter(None, [params, "`axis=-1`"]))
        forms = ", ".join(f"`{n}`" for n in act.forms)
        rows.append(f"| `{act.name}` | {params or '—'} | {act.kind} | {act.saves} | {forms} |")
    return "\n".join(rows)


if __name__ == "__main__":
    print(table())
