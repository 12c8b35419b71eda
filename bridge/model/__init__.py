"""The model: what adapters may import, and the one vocabulary the whole bridge speaks.

An adapter in ``bots/`` turns platform updates into ``envelope.Envelope`` and sends
``envelope.Delivery`` objects, implementing the ``ports.Bot`` protocol with a
``ports.BotContext`` typed by its own settings (``settings.BotSettings``). It declares its
platform's facts once, in ``platforms.Platform`` (person ids, command prefixes, text and file
limits, its library's loggers), and registers it. ``compose`` lays a delivery out as one
neutral document and splits it by a platform's limit; ``media`` holds carried files (images
cleaned of metadata); ``keys`` names every Redis key; ``errors`` are the exit-code errors;
``redaction`` keeps secrets out of logs. Nothing here imports the rest of the bridge.
"""
