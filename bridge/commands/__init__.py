"""In-chat commands: who may use which, and what each does.

``registry`` holds the commands and their rights (anyone, moderator, organizer), checks who is
asking, refuses and audits the rest, and implements the relay's Actions seam over a narrow
view of the router; the handlers are grouped by theme: ``threads`` (share and the share
reaction, unshare, retract, hide) and ``rooms`` (pause, resume, circle, optout, optin, help,
and the welcome when the bot joins). Call-outs register their ``callout`` command from
``bridge.callouts.chat``.
"""
