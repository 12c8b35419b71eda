"""Call-outs: messages organizers schedule to circles and rooms, sent at a wall time in each
room's timezone (``local``) or at one moment everywhere (``instant``), each room in its own
language, with a delivery report back to whoever asked. ``model`` says what a call-out is
(a ``Request`` as asked for, a stored ``Callout``), which rooms it goes to and when it fires
(crontab schedules are read by ``bridge.config.cron``), and checks new ones; ``store`` keeps
call-outs in Redis and reconciles the config's; ``scheduler`` fires them on a ``clock`` (the
wall clock, or one a test moves), exactly once across processes, through the bots' outboxes;
``text`` holds the words (each room's translated text, listings, previews); ``reports`` tells
organizers where each occurrence landed. Two front-ends make and manage them: ``chat`` (the
``callout`` command, organizers only) and ``shell`` (``translocal callouts``).
"""
