"""Operations on a tenant's pipeline: replay (blue/green read-model rebuild) and redrive (DLQ)."""
