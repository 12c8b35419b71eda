"""What operators look at and act on: ``translocal status`` (and the /status page),
``translocal deadletters``. Part of the composition root: it reads the config and Redis,
never a platform library, and nothing below the root imports it (the ops server gets the
page through an injected callable)."""
