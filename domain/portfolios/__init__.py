"""Portfolio transaction files: reading and rules (:mod:`.transactions`), the folder (:mod:`.store`)."""
