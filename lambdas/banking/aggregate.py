"""The account aggregate as the kernel sees it."""

from lambdas.eventstore.aggregate import AggregateSpec

from . import state
from .events import registry

ACCOUNT = AggregateSpec(
    aggregate_type="Account",
    registry=registry,
    initial=state.initial,
    evolve=state.evolve,
    summarize=state.summarize,
    codec=state.CODEC,
)
