"""Capacity as real processes: instances, the fleets that route requests to them, and how a
worker process is started (:mod:`.launcher`, the one piece to replace for another way)."""
