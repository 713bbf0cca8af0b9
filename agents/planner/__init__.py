"""The planner's actors: trade plans from the current verdicts, options contracts too.

Actors: ``actor.py`` (plans on ``plan.trade``, and the bot link's planner service)
and ``options_selector.py``. Pure (checked): ``llm.py`` (what an LLM refinement may
change, and the checks it must pass). I/O: ``refine.py`` (the one LLM call).
``_verdict_book.py`` keeps the inputs. The planning math itself is ``planner/``.
Config slice: ``slice.py``.
"""
