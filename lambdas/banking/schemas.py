"""`python -m lambdas.banking.schemas` writes schemas/events/<EventType>.v<N>.json for account events."""

from pathlib import Path

from lambdas.eventstore.schemas import export

from .events import registry

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas" / "events"

if __name__ == "__main__":
    for path in export(registry, SCHEMA_DIR):
        print(path.relative_to(SCHEMA_DIR.parents[1]))
