"""Live market data: cross-asset closes and option chains for the planner (docs/feeds.md).

Actor: ``actor.py`` (polls the configured feeds off the event loop, fetches option
chains on demand). I/O adapters, one per vendor: ``_ccxt_source.py`` (crypto, no key)
and ``_massive_source.py`` (Massive, formerly Polygon.io: indices, VIX, dollar,
yields, option chains; key from the environment). Pure (checked): ``config.py``
(``config/feeds.yaml``), ``parsing.py`` (vendor shapes to messages), ``health.py``
(backoff and the degraded/recovered anomalies). Config slice: ``slice.py``.
"""
