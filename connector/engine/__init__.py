"""The collections engine: what is owed, how collection is going, who to chase next.

Pure: it takes records and an explicit `as_of` date and returns results.  The only I/O near it is
`inputs`, which reads the store into the records the engine works on.
"""
