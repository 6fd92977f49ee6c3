"""What a simulation run tells at the end: days, events, faults injected by kind, invariant checks
made, every violation with the trace that led to it, the digest of the trace, and how to replay."""

from __future__ import annotations

import collections
import dataclasses
import hashlib


@dataclasses.dataclass(frozen=True)
class Violation:
    check: str
    at: str  # IST, simulated
    message: str
    trace: tuple[str, ...]  # the last trace lines before it was found


@dataclasses.dataclass
class Report:
    seed: int
    connections: int
    days: int
    profile: str
    database: str
    replay: str  # the command that runs this again
    events: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    faults: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    checks: collections.Counter[str] = dataclasses.field(default_factory=collections.Counter)
    violations: list[Violation] = dataclasses.field(default_factory=list)
    trace: list[str] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    @property
    def digest(self) -> str:
        return hashlib.sha256("\n".join(self.trace).encode()).hexdigest()[:16]

    def lines(self) -> list[str]:
        def counts(counter: collections.Counter[str]) -> str:
            return ", ".join(f"{k} {v}" for k, v in sorted(counter.items())) or "none"

        out = [
            f"WattWallet simulation: seed {self.seed}, {self.connections} connections, {self.days} days, "
            f"faults {self.profile}, {self.database} ({self.seconds:.1f} s)",
            f"  days simulated: {self.days}; connection-days: {self.connections * self.days}",
            f"  events: {sum(self.events.values())} ({counts(self.events)})",
            f"  faults injected: {sum(self.faults.values())} ({counts(self.faults)})",
            f"  invariant checks: {sum(self.checks.values())} ({counts(self.checks)})",
            f"  violations: {len(self.violations)}",
        ]
        for violation in self.violations[:20]:
            out.append(f"  VIOLATION [{violation.check}] at {violation.at}: {violation.message}")
            out.extend(f"      | {line}" for line in violation.trace)
        if len(self.violations) > 20:
            out.append(f"  ... and {len(self.violations) - 20} more")
        out.append(f"  digest: {self.digest}")
        if not self.ok:
            out.append(f"  FAILED: replay with: {self.replay}")
        return out
