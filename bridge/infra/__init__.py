"""Infrastructure: Redis and what the bridge builds on it, and what operators watch.

``connection`` opens Redis (a url, Sentinel, or the ``embedded_redis`` server in data_dir);
``schema`` upgrades the layout of keys in order; ``bus`` is the inbox (streams sharded by
origin room, consumer groups); ``lease`` gives one worker a shard or an outbox at a time;
``retry`` keeps a loop going through Redis outages; ``logs`` writes redacted log lines and holds
noisy libraries quiet; ``metrics`` serves /metrics and /healthz.
"""
