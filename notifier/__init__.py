"""The notification engine: incidents, notices, acknowledgements, delivery, persistence.

One domain per subpackage, each with the same file roles: ``models.py`` (tables),
``schemas.py`` (inputs and answers, apart from the tables), ``service.py`` (use cases taking a
Session), and pure decision modules:

- ``routing/route.py`` who is told, in which order, by when (policy in ``routing/policy.toml``);
- ``notices/deadlines.py`` acknowledgement deadlines; ``clocks.py`` statutory clocks;
- ``escalation/due.py`` reminders, escalations and clock warnings due at a time;
- ``evaluation/evaluate.py`` GB 3838-2002 and station thresholds.

Use cases (the caller owns the transaction, see :mod:`notifier.db`):
``incidents.service.submit_report``; ``notices.service.acknowledge`` and ``mark_notice_sent``;
``incidents.lifecycle`` ``add_follow_up``, ``set_severity``, ``end_of_alert``, ``cancel``,
``close``, ``meet_clock``; ``escalation.service.run_due_actions``; ``drills.service``
``start_drill`` and ``drill_results``; ``seed.seed_network``. The schema changes only through
Alembic (``migrations/``, driven by :mod:`notifier.migrate`).
"""
