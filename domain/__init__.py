"""Domain model: aggregates and their past-tense events.

Plain Python: no I/O, no framework imports, imports nothing else of ours.
"""
