"""Background jobs: the table's state machine (:mod:`.store`) and the worker loop (:mod:`.worker`)."""
