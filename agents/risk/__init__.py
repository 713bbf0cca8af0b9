"""The risk engine's actor: the kernel's order gate and the keeper of the risk state.

A shell: every rule is pure in ``risk/`` (limits, lifecycle, who may change
what). ``actor.py`` turns messages into calls of it; ``_store.py`` saves the state
in the journal and finds it again after a restart. Config slice: ``slice.py``.
"""
