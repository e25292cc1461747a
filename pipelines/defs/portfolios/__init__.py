"""Portfolios: transaction CSV files of PORTFOLIOS_DIR -> ``raw.portfolio_transactions`` (valid
files) and ``raw.rejected_portfolio_transactions`` (every row of a rejected file), rebuilt with
everything downstream by a sensor when a file is added, changed or deleted."""
