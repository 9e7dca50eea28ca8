"""Independent territory checks for the tests (written without the package's graph code)."""

from __future__ import annotations

from collections import deque

__all__ = ["pieces"]


def pieces(assign: dict[str, str], edges: list[tuple[str, str]]) -> dict[str, int]:
    """Connected pieces per territory, by breadth-first search on plain dicts."""
    nb: dict[str, list[str]] = {u: [] for u in assign}
    for a, b in edges:
        if a in nb and b in nb:
            nb[a].append(b)
            nb[b].append(a)
    seen: set[str] = set()
    out: dict[str, int] = {}
    for u in assign:
        if u in seen:
            continue
        out[assign[u]] = out.get(assign[u], 0) + 1
        q = deque([u])
        seen.add(u)
        while q:
            x = q.popleft()
            for y in nb[x]:
                if y not in seen and assign[y] == assign[x]:
                    seen.add(y)
                    q.append(y)
    return out
