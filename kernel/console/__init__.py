"""Everything a person runs from a terminal: the ``kernel`` command, ``kernel tap``, the dashboard.

``cli.py`` is the table of contents; each sub-command lives in ``commands/``.
The runtime never imports this package (tests/unit/test_layers.py checks it).
"""
