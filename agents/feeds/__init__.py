"""Live market data: cross-asset closes, vendor bars and option chains (docs/feeds.md).

Actor: ``actor.py`` (polls the configured feeds off the event loop, fetches option
chains on demand). I/O: ``sources.py`` (which feeds run, with their clients), one
adapter per vendor, ``_ccxt_source.py`` (crypto, no key) and ``_massive_source.py``
(Massive, formerly Polygon.io: indices, VIX, dollar, yields, option chains; key
from the environment), ``_threads.py`` (blocking calls in daemon threads) and
``probe.py`` (``kernel feeds check``). Pure (checked): ``config.py``
(``config/feeds.yaml``), ``parsing.py`` (vendor shapes to messages), ``health.py``
(backoff and the degraded/recovered anomalies), ``messages.py``. Config slice:
``slice.py``.
"""
