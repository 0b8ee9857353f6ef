"""Demo content: each feature registers a seed step; ``flask seed`` runs them all, idempotently."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class SeedStep:
    name: str
    order: int
    count: Callable[[], int]  # how many items this step will look at (for the progress bar)
    run: Callable[[Callable[[int], None]], list[str]]  # advance(n) -> lines to print at the end


SEED_STEPS: dict[str, SeedStep] = {}


def seed_step(name: str, order: int, count: Callable[[], int]):
    """Register ``run(advance)``; it must add nothing when its content already exists."""

    def decorator(run):
        add_seed_step(name, order, count, run)
        return run

    return decorator


def add_seed_step(name: str, order: int, count: Callable[[], int], run: Callable[[Callable[[int], None]], list[str]]) -> None:
    """The same, called from a feature's register(app) (registering twice replaces, never duplicates)."""
    SEED_STEPS[name] = SeedStep(name, order, count, run)


def ordered_steps() -> list[SeedStep]:
    return sorted(SEED_STEPS.values(), key=lambda step: step.order)
