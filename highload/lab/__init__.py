"""Teaching-only code: the deliberately naive or buggy versions the lessons take apart, fake
upstreams and the teaching database. Nothing here is for production use.

* :mod:`highload.lab.naive_limiter`: a rate limiter that reads, decides in Python and writes
  back, so two clients can both be admitted past the limit (lesson 08 makes the race happen).
* :mod:`highload.lab.openresty_breaker`: a line-by-line port of the OpenResty/Lua circuit
  breaker from a widely copied nginx guide, its bugs kept on purpose (lesson 09's "find the bug").
* :mod:`highload.lab.flaky_upstream`: a FastAPI service that fails and stalls on demand, run
  behind nginx or a breaker (``python -m highload.lab.flaky_upstream``; needs the ``web`` extra).
* :mod:`highload.lab.hung_payment`: lesson 09's hung payment service, as a model of the workers
  it holds and as real threads a bulkhead has to contain.
* :mod:`highload.lab.nginx_drills`: lesson 09's live nginx runs (kill servers one by one; watch
  when a failed server gets a trial request).
* :mod:`highload.lab.shop_visits`, :mod:`highload.lab.timing`, :mod:`highload.lab.cart_tokens`:
  lesson 02's request printers, interleaved timing (also lesson 03's), and a look inside (and a
  forgery of) a signed cart token.
* :mod:`highload.lab.writeback_drill`: lesson 03's write-back crash drill (clicks a crash loses).
* :mod:`highload.lab.tiers`: lesson 08's tier chart (what a plan's bucket admits per second).
* :mod:`highload.lab.database`: SQLite with users, products and balances and an injected
  latency per query: the slow system of record the caches of lesson 03 sit in front of.

They live apart so that no production module can lean on them by accident: ``ratelimit``,
``resilience``, ``cache`` and every other production subpackage import nothing from here (a test
parses every module to check). Use :class:`highload.ratelimit.RateLimiter` and
:class:`highload.resilience.CircuitBreaker` for real work.
"""
