"""Stack the patterns in one order, inside out: timeout -> retry -> breaker -> bulkhead -> fallback.

* **timeout** innermost: it bounds each *attempt*, so a hung call becomes an error retry can see.
* **retry** around it: it turns a transient error into another attempt, with backoff.
* **breaker** around the retries: it sees one outcome per *logical* call, and when open it
  stops the retries from even starting (retrying into an open circuit is wasted load).
* **bulkhead** around the breaker: it caps how many logical calls (retries included) hold
  resources for this dependency at once.
* **fallback** outermost: whatever went wrong (open circuit, full bulkhead, exhausted
  retries), the caller gets the last good answer or a default instead of an error.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from functools import partial, wraps
from typing import Any

from .fallback import with_timeout

__all__ = ["resilient"]


def resilient(fn: Callable[..., Any] | None = None, *, timeout: float | None = None, retry=None,
              breaker=None, bulkhead=None, fallback=None) -> Callable[..., Any]:
    """Wrap ``fn`` (sync or async) in the given patterns, in the order explained above.

    Usable as ``resilient(fn, retry=..., breaker=...)`` or as a decorator
    ``@resilient(retry=..., breaker=...)``.
    """
    if fn is None:
        return partial(resilient, timeout=timeout, retry=retry, breaker=breaker, bulkhead=bulkhead,
                       fallback=fallback)
    is_async = inspect.iscoroutinefunction(fn)
    if timeout is not None and not is_async:
        raise TypeError("timeout= needs a coroutine function: a blocking call cannot be cut off safely")
    layers = []
    if timeout is not None:
        layers.append(lambda f: partial(with_timeout, timeout, f))
    for pattern in (retry, breaker, bulkhead, fallback):
        if pattern is not None:
            method = "acall" if is_async else "call"
            layers.append(lambda f, p=pattern, m=method: partial(getattr(p, m), f))
    call = fn
    for wrap in layers:
        call = wrap(call)

    if is_async:
        @wraps(fn)
        async def guarded_async(*args: Any, **kwargs: Any) -> Any:
            return await call(*args, **kwargs)

        return guarded_async

    @wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        return call(*args, **kwargs)

    return guarded
