"""Reaching the operator away from the terminal: alerts, a Telegram command bot, health.

Actors: ``actor.py`` (the notifier: events to Apprise targets), ``telegram_bot.py`` (the
command bot), ``health.py`` (``/health`` and Prometheus ``/metrics``). Pure (checked):
``config.py``, ``messages.py``, ``mapping.py`` (which events are alerts, and their
words), ``fatigue.py`` (the repeat window), ``commands.py`` (the chat's commands and
their confirmations). I/O: ``sender.py`` (Apprise, off the loop), ``envvars.py``
(``${VAR}`` from the environment), ``metrics.py``. Config slice: ``slice.py``.
All of it is off unless ``config/alerts.yaml`` turns it on (docs/alerts.md).
"""
