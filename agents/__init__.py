"""The features: one folder each, with its actor shell, messages, config slice, I/O and pure policy.

A feature uses another only through that folder's public modules; the runtime
knows them only in its composition root (``kernel/registry.py``, ``settings.py``,
``messages.py``). See docs/architecture.md, "Layers".
"""
