"""Moderation: what may cross, decided from state that moderators change from chat.

``policy`` implements the relay's Policy seam per circle (``all``, ``moderated``, ``tagged``,
with pauses, hidden threads and opt-outs) from ``state``, an in-process mirror of the
moderation state in Redis that costs no round trip per message; ``recent`` keeps the recent
messages a later ``share`` carries; ``purge`` removes a retracted text from everything the
bridge holds; ``audit`` is the trail of moderation actions and refusals, ids only.
"""
