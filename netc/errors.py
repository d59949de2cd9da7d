"""Located diagnostics: every problem names file:line:col, what was wrong, and a hint."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Loc:
    file: str
    line: int  # 1-based
    col: int  # 1-based

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.col}"


@dataclass
class Diagnostic:
    loc: Loc | None
    message: str
    hint: str | None = None
    severity: str = "error"  # or "warning"
    call_sites: tuple = ()  # ((block name, Loc), ...) innermost first

    def render(self) -> str:
        where = f"{self.loc}: " if self.loc else ""
        lines = [f"{where}{self.severity}: {self.message}"]
        if self.hint:
            lines.append(f"  hint: {self.hint}")
        for block, loc in self.call_sites:
            lines.append(f"  in block '{block}' called at {loc}")
        return "\n".join(lines)


class SpecError(Exception):
    """Everything wrong with a spec, found in one pass."""

    def __init__(self, diagnostics):
        self.diagnostics = [d for d in diagnostics if d.severity == "error"]
        self.warnings = [d for d in diagnostics if d.severity != "error"]
        super().__init__(self.render())

    @property
    def first(self) -> Diagnostic:
        return self.diagnostics[0]

    def render(self) -> str:
        parts = [d.render() for d in self.diagnostics]
        n = len(self.diagnostics)
        parts.append(f"{n} error{'s' if n != 1 else ''}")
        return "\n".join(parts)


class Problem(Exception):
    """Raised inside a stage for one located problem; stages collect these into a Diagnostics."""

    def __init__(self, message, hint=None, loc=None, attr=None):
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.loc = loc
        self.attr = attr  # the attribute at fault, when there is one: the error points at its value


@dataclass
class Diagnostics:
    """Collects problems so that a stage reports all of them at once."""

    items: list = field(default_factory=list)

    def error(self, loc, message, hint=None, call_sites=()):
        self.items.append(Diagnostic(loc, message, hint, "error", tuple(call_sites)))

    def warn(self, loc, message, hint=None, call_sites=()):
        self.items.append(Diagnostic(loc, message, hint, "warning", tuple(call_sites)))

    @property
    def errors(self):
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self):
        return [d for d in self.items if d.severity != "error"]

    def raise_if_any(self):
        if self.errors:
            raise SpecError(unique(sorted(self.items, key=_order)))


def unique(diagnostics):
    """Drop repeats of one problem: a mistake inside a block called three times is one mistake."""
    seen, out = set(), []
    for d in diagnostics:
        key = (d.loc, d.severity, d.message)
        if key not in seen:
            seen.add(key)
            out.append(d)
    return out


def _order(d: Diagnostic):
    if d.loc is None:
        return ("", 0, 0)
    return (d.loc.file, d.loc.line, d.loc.col)


def closest(word, choices) -> str | None:
    """The known word that `word` most likely misspells, or None."""
    close = difflib.get_close_matches(str(word), sorted(str(c) for c in choices), n=1, cutoff=0.6)
    return close[0] if close else None


def did_you_mean(word, choices) -> str | None:
    """A hint naming the closest known word, or listing the choices when none is close."""
    choices = sorted(str(c) for c in choices)
    close = difflib.get_close_matches(str(word), choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean '{close[0]}'?"
    if not choices:
        return None
    if len(choices) <= 12:
        return "expected one of: " + ", ".join(choices)
    return None
