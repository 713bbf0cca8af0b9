"""The Meta-Agent: off-market jobs that study the day and propose changes for a person.

Actor: ``actor.py`` (the scheduler). Pure: ``schedule.py`` (when a job may run).
The run: ``jobs.py`` (what each task asks), ``pipeline.py`` (one run, journaled),
``_process.py`` (an external Meta-Agent), ``builtin.py`` and ``_offline.py`` (the
built-in one), ``report.py``. Proposals: ``proposals.py``, ``proposal_review.py``,
``risk_patch.py``; nothing is ever applied without a person. Config slice: ``slice.py``.
"""
