"""Powertools Tracer, created at a function's first invocation instead of when its module is imported.

`Tracer()` imports the X-Ray SDK (`aws_xray_sdk.core`: its recorder, sampling rules, context and
the botocore patcher), the largest single cost of a handler's import, more than boto3's whole
import (`python -m bench.coldstart`). Setting `POWERTOOLS_TRACE_DISABLED` does not avoid that import;
not constructing the Tracer does. What a traced invocation records on AWS is unchanged: the first
call builds the same `Tracer(service=...)` (which patches botocore, so every AWS call after it is a
subsegment, clients created earlier included: the patch is on the client class) and wraps the
handler with the same `capture_lambda_handler` (the `## handler` subsegment, the ColdStart and
Service annotations, the response or exception as metadata). Lambda's own active-tracing segment
(Initialization, Invocation, Overhead) needs no SDK at all.

The trade-off: the SDK's import moves from the init phase into the first invocation of each
execution environment, where it is paid once (with SnapStart, importing it at init would be free,
as that phase is restored from a snapshot; the handler does not do it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


class LazyTracer:
    def __init__(self, service: str) -> None:
        self.service = service
        self._tracer: Any = None

    @property
    def tracer(self) -> Any:
        """The Powertools Tracer, built on first use (importing the X-Ray SDK then)."""
        if self._tracer is None:
            from aws_lambda_powertools import Tracer

            self._tracer = Tracer(service=self.service)
        return self._tracer

    def capture_lambda_handler(self, handler: Callable) -> Callable:
        """`Tracer.capture_lambda_handler`, applied when the handler is first invoked."""
        traced: Callable | None = None

        @functools.wraps(handler)
        def invoke(event: Any, context: Any, **kwargs: Any) -> Any:
            nonlocal traced
            if traced is None:
                traced = self.tracer.capture_lambda_handler(handler)
            return traced(event, context, **kwargs)

        return invoke
