"""The main job: every method on one dataset as nested runs (``job``), then its summary
(``summary``) and the leaderboard."""
