"""The risk moderator and the LLM layer: advice, never commands.

Actor: ``actor.py``. Pure (checked): ``rules.py`` (the summary, the offline answer
and the trust rules), ``parts.py``, ``messages.py``, ``_book.py``, ``_prompt.py``,
``llm_text.py``, ``llm_config.py``. I/O: ``llm_client.py`` (the project's one LLM
client, used by the planner and the Meta-Agent too), ``llm_budget.py`` (the daily
token budget across restarts), ``_effects.py``. Config slice: ``slice.py``.
"""
