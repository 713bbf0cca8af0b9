"""The audit: anomalies as they happen, each trading day's audit, reports and retention.

Actor: ``actor.py``. Pure (checked by tests/unit/test_layers.py): ``rules.py``
(anomaly rules), ``figures.py`` (the day's figures), ``markdown.py`` and ``task.py``
(text for people and for the Meta-Agent), ``messages.py``, ``config.py``. I/O:
``journal.py`` (read-only reads of the journal), ``files.py`` (reports),
``retention.py`` (old rows to compressed archives). Config slice: ``slice.py``.
"""
