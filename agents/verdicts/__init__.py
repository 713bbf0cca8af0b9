"""The verdict adapters: the current Technical, Macro and Wild Card verdict of each symbol.

Actors: ``technical.py``, ``macro.py``, ``wildcard.py``, sharing ``_adapter.py``.
Pure (checked): ``_bars.py`` (a symbol's bar history), ``_selection.py`` (the
freshness rule). The analysis itself is ``planner/``. Config slice: ``slice.py``.
"""
