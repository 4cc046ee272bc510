"""Problems found in input layers, collected so that a user sees every one of them at once.

Each check appends to a :class:`ValidationReport`; the caller raises
:class:`NetworkValidationError` once, after every check has run, so a bad file is fixed in
one round trip instead of one error per attempt (the osmnx habit).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class Severity(StrEnum):
    FATAL = "fatal"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one feature (or with a whole layer when ``feature_id`` is "")."""

    code: str
    severity: Severity
    layer: str
    feature_id: str
    message: str  # Chinese first, then English

    def __str__(self) -> str:
        where = f"{self.layer}:{self.feature_id}" if self.feature_id else self.layer
        return f"[{self.severity}] {self.code} {where}: {self.message}"


@dataclass(slots=True)
class ValidationReport:
    problems: list[Problem] = field(default_factory=list)

    def add(
        self,
        code: str,
        *,
        layer: str,
        feature_id: str = "",
        message: str,
        severity: Severity = Severity.FATAL,
    ) -> None:
        self.problems.append(Problem(code, Severity(severity), layer, str(feature_id), message))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def __iter__(self) -> Iterator[Problem]:
        return iter(self.problems)

    def __len__(self) -> int:
        return len(self.problems)

    @property
    def fatal(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.FATAL]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity is Severity.WARNING]

    @property
    def ok(self) -> bool:
        return not self.fatal

    def codes(self) -> set[str]:
        return {p.code for p in self.problems}

    def summary(self) -> str:
        return (
            f"{len(self.fatal)} 个致命问题, {len(self.warnings)} 个警告 / "
            f"{len(self.fatal)} fatal problem(s), {len(self.warnings)} warning(s)"
        )

    def render(self) -> str:
        """One line per problem, then the summary line."""
        return "\n".join([*(str(p) for p in self.problems), self.summary()])

    def raise_if_fatal(self) -> None:
        if self.fatal:
            raise NetworkValidationError(self)


class NetworkValidationError(ValueError):
    """Raised once with every problem found; ``report`` holds them all."""

    def __init__(self, report: ValidationReport) -> None:
        self.report = report
        super().__init__(report.render())
