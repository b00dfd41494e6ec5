"""Fusion of lexical and dense candidate lists: reciprocal rank fusion and convex combination."""

from __future__ import annotations

from collections import defaultdict

Ranked = list[tuple[int, float]]


def rrf_fusion(lexical: Ranked, dense: Ranked, weights: tuple[float, float], k: int = 60) -> Ranked:
    """Sum of weight / (k + rank) over the lists an item appears in; ties (common when two
    passages swap ranks between the sides) go to the higher normalised score sum."""
    scores: dict[int, float] = defaultdict(float)
    for ranked, weight in ((lexical, weights[0]), (dense, weights[1])):
        for rank, (item, _) in enumerate(ranked, start=1):
            scores[item] += weight / (k + rank)
    tie_break = dict(convex_fusion(lexical, dense, weights))
    return sorted(
        ((item, round(score, 12)) for item, score in scores.items()),
        key=lambda pair: (-pair[1], -tie_break.get(pair[0], 0.0), pair[0]),
    )


def _min_max(ranked: Ranked) -> dict[int, float]:
    if not ranked:
        return {}
    values = [score for _, score in ranked]
    low, high = min(values), max(values)
    span = high - low
    if not span:
        return {item: 1.0 if high > 0 else 0.0 for item, _ in ranked}
    return {item: (score - low) / span for item, score in ranked}


def convex_fusion(lexical: Ranked, dense: Ranked, weights: tuple[float, float]) -> Ranked:
    """Weighted sum of per-query min-max normalised scores (missing side counts 0)."""
    total = (weights[0] + weights[1]) or 1.0
    lex, den = _min_max(lexical), _min_max(dense)
    scores = {
        item: (weights[0] * lex.get(item, 0.0) + weights[1] * den.get(item, 0.0)) / total
        for item in set(lex) | set(den)
    }
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))
