"""Backtests of screens: a strategy (:mod:`.spec`) simulated point in time (:mod:`.engine`) on the
warehouse's marts, with its metrics (:mod:`.metrics`)."""
