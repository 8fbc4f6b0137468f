"""``hub demo``: the example regional network, simulated end to end."""
