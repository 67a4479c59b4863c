"""Open formats in and out: Twine stories, xAPI statements, quest bundles, CSV rosters."""
