"""Static activation arena planning from tensor lifetimes.

Each buffer lives from the step that writes it to the last step that reads it
(the model input for the whole run, model outputs to the end). Buffers whose lifetimes
overlap must not overlap in memory. Placement is greedy: buffers are taken in
some order and put in the best-fitting gap among already-placed, time-overlapping
buffers. A few orderings are tried and the smallest arena wins; the result is
deterministic.
"""
from dataclasses import dataclass


@dataclass
class Buffer:
    key: int          # representative tensor index
    size: int
    first: int
    last: int
    offset: int = -1


def _align(n, a):
    return (n + a - 1) // a * a


def _place(buffers, order, align):
    placed = []
    for b in order:
        conflicts = sorted((p for p in placed if not (p.last < b.first or b.last < p.first)),
                           key=lambda p: (p.offset, p.key))
        best, best_gap = None, None
        cursor = 0
        for p in conflicts:
            if p.offset > cursor:
                gap = p.offset - cursor
                if gap >= b.size and (best_gap is None or gap < best_gap):
                    best, best_gap = cursor, gap
            cursor = max(cursor, _align(p.offset + p.size, align))
        if best is None:
            best = cursor
        b.offset = best
        placed.append(b)
    return max((_align(b.offset + b.size, align) for b in buffers), default=0)


def plan(buffers, align=16):
    """Assigns offsets in place; returns the arena size in bytes."""
    orderings = [
        lambda b: (-b.size, b.first, b.key),
        lambda b: (-(b.last - b.first), -b.size, b.key),
        lambda b: (b.first, -b.size, b.key),
        lambda b: (-b.size * (b.last - b.first + 1), b.key),
    ]
    best_size, best_offsets = None, None
    for key in orderings:
        for b in buffers:
            b.offset = -1
        size = _place(buffers, sorted(buffers, key=key), align)
        if best_size is None or size < best_size:
            best_size, best_offsets = size, [b.offset for b in buffers]
    for b, off in zip(buffers, best_offsets):
        b.offset = off
    return best_size
