"""Deciding the pieces of one reach from samples taken along it (pure, no geometry).

Each sample along a reach knows the jurisdiction it lies in (``primary``) and the set of
same-level jurisdictions within the boundary tolerance (``near``). The rules, in order:

1. Stretches where ``near`` holds two or more jurisdictions are *near the border*. Such a
   stretch becomes a boundary piece when it is at least ``boundary_min_m`` long (split where
   the set of banks changes, no part shorter than ``boundary_min_m``). A shorter one is a
   crossing: at most one change of jurisdiction (at its middle crossing), however often a
   generalized line wanders over the border inside it; none if it leaves on the side it
   came from.
2. Elsewhere a piece is a run of samples in one jurisdiction.
3. Pieces shorter than ``min_piece_m`` merge into a neighbour (the same jurisdiction if one
   is, else the longer), so a generalized line never yields A, B, A, B ...
4. A plain piece shorter than the border band (2 x tolerance) next to a boundary piece that
   has its jurisdiction as a bank joins that boundary piece.
5. A reach that runs along the border for more than ``boundary_share`` of its length and
   otherwise only visits the two banks is one boundary piece as a whole.

The administering jurisdiction of a boundary piece is the lowest id among its banks
(deterministic, and the same from either bank's data); the others are co-jurisdictions.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, replace


@dataclass(frozen=True, slots=True)
class SegmentRules:
    boundary_tolerance_m: float = 1500.0
    boundary_min_m: float = 6000.0
    boundary_share: float = 0.5
    min_piece_m: float = 1000.0


@dataclass(frozen=True, slots=True)
class Piece:
    """A stretch [start_m, end_m] of a reach and who administers it."""

    start_m: float
    end_m: float
    banks: tuple[str, ...]  # one jurisdiction, or the sorted banks of a boundary piece

    @property
    def length_m(self) -> float:
        return self.end_m - self.start_m

    @property
    def jurisdiction(self) -> str:
        return self.banks[0]

    @property
    def co_jurisdictions(self) -> tuple[str, ...]:
        return self.banks[1:]

    @property
    def boundary(self) -> bool:
        return len(self.banks) > 1


def _runs(keys: Sequence[object]) -> list[tuple[int, int]]:
    """Index ranges [i, j) of equal consecutive keys."""
    runs: list[tuple[int, int]] = []
    start = 0
    for i in range(1, len(keys) + 1):
        if i == len(keys) or keys[i] != keys[start]:
            runs.append((start, i))
            start = i
    return runs


def _edges(positions: Sequence[float], length_m: float) -> list[float]:
    """Each sample stands for the stretch between the midpoints to its neighbours."""
    mids = [(a + b) / 2 for a, b in itertools.pairwise(positions)]
    return [0.0, *mids, length_m]


def _dominant(near: Sequence[frozenset[str]], weights: Sequence[float]) -> tuple[str, ...]:
    """Banks of a border stretch: jurisdictions near the line for >= 30% of it."""
    total = sum(weights) or 1.0
    share: dict[str, float] = {}
    for members, weight in zip(near, weights, strict=True):
        for member in members:
            share[member] = share.get(member, 0.0) + weight
    banks = sorted(j for j, w in share.items() if w >= 0.3 * total)
    return tuple(banks) if banks else tuple(sorted(near[0]))


def segment_reach(
    positions: Sequence[float],
    primary: Sequence[str],
    near: Sequence[frozenset[str]],
    *,
    length_m: float,
    rules: SegmentRules,
) -> list[Piece]:
    """The pieces of one reach, in flow order, covering [0, length_m] without gaps."""
    edges = _edges(positions, length_m)
    weights = [b - a for a, b in itertools.pairwise(edges)]
    border = [len(n) > 1 for n in near]
    pieces: list[Piece] = []
    for start, stop in _runs(border):
        if border[start] and edges[stop] - edges[start] >= rules.boundary_min_m:
            pieces.extend(_border_pieces(edges, near, weights, (start, stop), rules))
        elif border[start]:
            pieces.extend(_crossing(edges, primary, start, stop))
        else:
            pieces.extend(
                Piece(edges[start + a], edges[start + b], (primary[start + a],))
                for a, b in _runs(primary[start:stop])
            )
    pieces = _merge_slivers(_merge_equal(pieces), rules.min_piece_m)
    pieces = _join_fringes(pieces, 2 * rules.boundary_tolerance_m)
    return _absorb_mostly_boundary(pieces, length_m, rules.boundary_share)


def _crossing(edges: Sequence[float], primary: Sequence[str], start: int, stop: int) -> list[Piece]:
    """A short stretch near the border: at most one change of side, however often the
    generalized line wanders over the border inside it."""
    first, last = primary[start], primary[stop - 1]
    if first == last:
        return [Piece(edges[start], edges[stop], (first,))]
    switches = [i for i in range(start + 1, stop) if primary[i] != primary[i - 1]]
    cut = switches[len(switches) // 2]
    return [Piece(edges[start], edges[cut], (first,)), Piece(edges[cut], edges[stop], (last,))]


def _border_pieces(
    edges: Sequence[float],
    near: Sequence[frozenset[str]],
    weights: Sequence[float],
    span: tuple[int, int],
    rules: SegmentRules,
) -> list[Piece]:
    """A border stretch, split where the pair of banks changes (a long boundary river)."""
    start, stop = span
    pieces = [
        Piece(edges[start + a], edges[start + b], tuple(sorted(near[start + a])))
        for a, b in _runs(near[start:stop])
    ]
    pieces = _merge_slivers(pieces, rules.boundary_min_m)
    out: list[Piece] = []
    cursor = start
    for piece in pieces:
        first = cursor
        while cursor < stop and edges[cursor + 1] <= piece.end_m + 1e-9:
            cursor += 1
        banks = (
            _dominant(near[first:cursor], weights[first:cursor]) if cursor > first else piece.banks
        )
        out.append(replace(piece, banks=banks))
    return _merge_equal(out)


def _merge_equal(pieces: list[Piece]) -> list[Piece]:
    out: list[Piece] = []
    for piece in pieces:
        if out and out[-1].banks == piece.banks:
            out[-1] = replace(out[-1], end_m=piece.end_m)
        else:
            out.append(piece)
    return out


def _merge_slivers(pieces: list[Piece], min_piece_m: float) -> list[Piece]:
    """Fold pieces shorter than the minimum into a neighbour, shortest first."""
    pieces = list(pieces)
    while len(pieces) > 1:
        shortest = min(range(len(pieces)), key=lambda i: (pieces[i].length_m, i))
        if pieces[shortest].length_m >= min_piece_m:
            break
        pieces = _fold(pieces, shortest)
    return pieces


def _fold(pieces: list[Piece], index: int) -> list[Piece]:
    piece = pieces[index]
    neighbours = [i for i in (index - 1, index + 1) if 0 <= i < len(pieces)]
    same = [i for i in neighbours if piece.jurisdiction in pieces[i].banks]
    target = max(same or neighbours, key=lambda i: (pieces[i].length_m, -i))
    absorbing = pieces[target]
    grown = replace(
        absorbing,
        start_m=min(absorbing.start_m, piece.start_m),
        end_m=max(absorbing.end_m, piece.end_m),
    )
    rest = [p for i, p in enumerate(pieces) if i not in (index, target)]
    rest.insert(min(index, target), grown)
    return _merge_equal(rest)


def _join_fringes(pieces: list[Piece], limit_m: float) -> list[Piece]:
    """A plain piece shorter than the border band (2 x tolerance) beside a boundary piece
    of its own bank is that boundary piece's fringe: it joins it."""
    changed = True
    while changed:
        changed = False
        for i, piece in enumerate(pieces):
            if piece.boundary or piece.length_m >= limit_m:
                continue
            sides = [j for j in (i - 1, i + 1) if 0 <= j < len(pieces)]
            hosts = [
                j for j in sides if pieces[j].boundary and piece.jurisdiction in pieces[j].banks
            ]
            if hosts:
                pieces = _fold(pieces, i)
                changed = True
                break
    return pieces


def _absorb_mostly_boundary(pieces: list[Piece], length_m: float, share: float) -> list[Piece]:
    along = [p for p in pieces if p.boundary]
    if not along or len(pieces) == 1:
        return pieces
    banks = max(along, key=lambda p: p.length_m).banks
    along_length = sum(p.length_m for p in along if p.banks == banks)
    if (
        along_length > share * length_m
        and all(p.jurisdiction in banks for p in pieces if not p.boundary)
        and all(p.banks == banks for p in along)
    ):
        return [Piece(0.0, length_m, banks)]
    return pieces
