"""Alert rules: the model (:mod:`.rules`) and the rules file the app and the pipelines share
(:mod:`.store`)."""
