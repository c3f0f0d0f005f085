"""The leaderboard job: query the server (``query``), rank rows (``rows``), render tables
(``tables``) and figures (``figures``), and log the report as a run (``report``)."""
