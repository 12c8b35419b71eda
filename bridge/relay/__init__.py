"""The relay: one inbound envelope in, the deliveries it makes out, delivered once each.

``worker`` owns inbox shards by lease and commits each envelope's plan atomically (the copies'
deliveries in the outboxes, the message map, the acknowledgement); ``router`` plans: drop
what is the bridge's own or unconfigured, hand commands, reactions and joins to the actions
seam, ask the policy seam what may cross (``seams``), translate once per target language
(``translate``), attribute (``attribution``) and address one delivery per target room;
``deliverer`` sends a bot's outbox through its adapter, per chat in order, with retries,
dead letters and the message map; ``notices`` are the bridge's own answers and notices.
"""
