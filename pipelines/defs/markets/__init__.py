"""Korean market reference data: the KOSPI / KOSDAQ / KOSPI 200 index series, the KRX listing
(names and markets) and the KRX industry file (KSIC industry, listing date), loaded from the
files of the ``krx_files`` resource into ``raw.market_indices``, ``raw.krx_listing`` and
``raw.krx_industry``, with their quarantine tables."""
