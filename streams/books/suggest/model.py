"""Which department a message is for: multinomial naive Bayes over its words and bigrams. Pure.

The model is counts, nothing else: how many examples each department took, and how often each
feature (:func:`streams.books.suggest.segment.features`: a word or a character bigram, counted
once per example) appeared in them. :meth:`SuggestModel.learn` adds one example's counts and
:meth:`SuggestModel.unlearn` takes them away again, so the model learns as the office dispatches
and a replay of the same dispatches builds the very same counts; its state is plain JSON
(:meth:`SuggestModel.state`), a book or a file.

A suggestion scores every department that took an example by

    log P(d) + Σ_f log P(f | d),    P(f | d) = (n(f, d) + α) / (N(d) + α·V)

(``n(f, d)``: examples of ``d`` with ``f``; ``N(d)``: features counted for ``d``; ``V``: the
features known to the model; features it never saw are left out), ranks the departments by it,
and names for each suggested department the features seen with it that weighed most for it
(``log P(f | d)`` minus the mean over all departments; words before bigrams).

The scores shown are probabilities that add up to 1 over the departments: the softmax of those
log scores divided by √n, n the features of the message the model knows. Naive Bayes counts
every feature as independent evidence, but a message's word and its bigrams say the same thing
again, so untempered it gives ~0.97 to its first choice even when that is wrong; divided by √n
(chosen on the bench corpus, bench/results/suggest.json) the first choice reads ~0.95 when
right and ~0.8 when wrong. The division changes no ranking, only how sure the scores sound.

Ties go to the department (and the word) that sorts first, so the answer never depends on the
order a dictionary happened to be filled in.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple

from typing_extensions import TypedDict

from streams.books.suggest import segment

__all__ = ["FEATURES", "ModelState", "SuggestModel", "Suggestion"]

FEATURES = "jieba-words+char-bigrams/v1"
"""What the counts are of; a saved model counted otherwise is refused (:meth:`from_state`)."""


class ModelState(TypedDict, closed=True):
    """A model as JSON."""

    features: str
    """:data:`FEATURES` when it was counted."""
    alpha: float
    examples: dict[str, int]
    """Department -> examples it took."""
    totals: dict[str, int]
    """Department -> features counted for it (``N(d)``)."""
    counts: dict[str, dict[str, int]]
    """Feature -> department -> examples of that department with the feature."""


class Suggestion(NamedTuple):
    department: str
    score: float
    """The probability naive Bayes gives it (the scores of all departments add up to 1)."""
    words: list[str]
    """The features that weighed most for this department, strongest first."""


Featurise = Callable[[str], list[str]]


class SuggestModel:
    """Counts of past dispatches, and the suggestions they make (see the module's docstring)."""

    def __init__(self, alpha: float = 0.1, featurise: Featurise = segment.features) -> None:
        if alpha <= 0:
            raise ValueError("alpha must be positive")
        self.alpha = alpha
        self.featurise = featurise
        self.examples: dict[str, int] = {}
        self.totals: dict[str, int] = {}
        self.counts: dict[str, dict[str, int]] = {}

    # -- learning ------------------------------------------------------------------------------
    def learn(self, text: str, department: str) -> None:
        """Count ``text`` as one example of ``department``."""
        self.learn_features(self.featurise(text), department)

    def learn_features(self, found: list[str], department: str) -> None:
        """:meth:`learn` of a text's features (of a text cut before: the dispatch examples)."""
        if not department:
            raise ValueError("an example needs a department")
        self.examples[department] = self.examples.get(department, 0) + 1
        self.totals[department] = self.totals.get(department, 0) + len(found)
        for feature in found:
            by_department = self.counts.setdefault(feature, {})
            by_department[department] = by_department.get(department, 0) + 1

    def unlearn(self, text: str, department: str) -> None:
        """Take back an example :meth:`learn` counted (the same text, the same department): a
        dispatch that was sent back, or moved to another department. ``ValueError`` when the
        counts do not hold it, which is a bug of the caller; the model is then unchanged."""
        self.unlearn_features(self.featurise(text), department)

    def unlearn_features(self, found: list[str], department: str) -> None:
        """:meth:`unlearn` of a text's features."""
        held = self.examples.get(department, 0) > 0 and all(
            self.counts.get(f, {}).get(department, 0) > 0 for f in found
        )
        if not held:
            raise ValueError(f"no example of {department!r} with these features to take back")
        self.examples[department] -= 1
        self.totals[department] -= len(found)
        for feature in found:
            by_department = self.counts[feature]
            by_department[department] -= 1
            if not by_department[department]:
                del by_department[department]
                if not by_department:
                    del self.counts[feature]
        if not self.examples[department]:
            del self.examples[department], self.totals[department]

    # -- suggesting ----------------------------------------------------------------------------
    @property
    def departments(self) -> list[str]:
        return sorted(self.examples)

    def suggest(
        self, text: str, k: int = 3, *, exclude: Iterable[str] = (), words: int = 5
    ) -> list[Suggestion]:
        """The ``k`` likeliest departments for ``text``, best first, each with its probability
        and up to ``words`` deciding features (as a person reads them). ``exclude``: departments
        not to suggest (those that sent this very message back); the probabilities are then of
        the others. Empty when the model has learned nothing (or only excluded departments)."""
        return self.suggest_features(self.featurise(text), k, exclude=exclude, words=words)

    def suggest_features(
        self, found: list[str], k: int = 3, *, exclude: Iterable[str] = (), words: int = 5
    ) -> list[Suggestion]:
        """:meth:`suggest` for a text's features."""
        skip = set(exclude)
        departments = [d for d in self.departments if d not in skip]
        if not departments:
            return []
        known = [f for f in found if f in self.counts]
        logs = {d: self._log_likelihoods(d, known) for d in departments}
        total = sum(self.examples[d] for d in departments)
        joint = {d: math.log(self.examples[d] / total) + sum(logs[d].values()) for d in logs}
        top, temperature = max(joint.values()), max(1.0, math.sqrt(len(known)))
        weights = {d: math.exp((v - top) / temperature) for d, v in joint.items()}
        norm = sum(weights.values())
        ranked = sorted(departments, key=lambda d: (-joint[d], d))[:k]
        return [Suggestion(d, weights[d] / norm, self._deciding(d, logs, words)) for d in ranked]

    def _log_likelihoods(self, department: str, known: list[str]) -> dict[str, float]:
        """Feature -> ``log P(f | department)``."""
        denominator = math.log(self.totals[department] + self.alpha * len(self.counts))
        return {
            f: math.log(self.counts[f].get(department, 0) + self.alpha) - denominator for f in known
        }

    def _deciding(self, department: str, logs: dict[str, dict[str, float]], n: int) -> list[str]:
        """The features seen with ``department`` that favour it over the mean department, most
        first: words before bigrams (a person reads words), each shown once, none across a
        stop word."""
        others = len(logs)
        lift = {
            f: value - sum(logs[d][f] for d in logs) / others
            for f, value in logs[department].items()
        }
        favour = [
            f
            for f in lift
            if lift[f] > 0 and self.counts[f].get(department) and segment.readable(f)
        ]
        out: list[str] = []
        for feature in sorted(favour, key=lambda f: (segment.is_bigram(f), -lift[f], f)):
            text = segment.shown(feature)
            if not any(text in seen or seen in text for seen in out):
                out.append(text)
            if len(out) == n:
                break
        return out

    # -- as JSON -------------------------------------------------------------------------------
    def state(self) -> ModelState:
        """The model as JSON (keys sorted, so the same counts give the same text)."""
        return {
            "features": FEATURES,
            "alpha": self.alpha,
            "examples": dict(sorted(self.examples.items())),
            "totals": dict(sorted(self.totals.items())),
            "counts": {f: dict(sorted(self.counts[f].items())) for f in sorted(self.counts)},
        }

    @classmethod
    def from_state(
        cls, state: dict[str, Any], featurise: Featurise = segment.features
    ) -> SuggestModel:
        """A model from :meth:`state`'s JSON; ``ValueError`` for counts of other features."""
        if state.get("features") != FEATURES:
            raise ValueError(f"counted as {state.get('features')!r}, not {FEATURES!r}")
        model = cls(float(state["alpha"]), featurise)
        model.examples = {str(d): int(n) for d, n in state["examples"].items()}
        model.totals = {str(d): int(n) for d, n in state["totals"].items()}
        model.counts = {
            str(f): {str(d): int(n) for d, n in by.items()} for f, by in state["counts"].items()
        }
        return model
