"""The process watchdog: starts, watches and restarts the bot, and halts when it must.

Actor: ``actor.py``. Pure (checked): ``policy.py`` (restart, hang and give-up
decisions over numbers). I/O: ``_bot_process.py`` (the process tree),
``_bot_output.py`` (its output on disk), ``_report.py`` (lifecycle events).
``messages.py``, ``config.py``; config slice: ``slice.py``.
"""
