"""Use cases a person runs through the CLI (registry decisions, backfills, dead-letter replay), and
their composition root (:mod:`.context`): no function runs them."""
