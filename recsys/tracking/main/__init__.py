"""The main job: every method on one dataset as its own run (``job``), then its summary
(``summary``) and the leaderboard."""
