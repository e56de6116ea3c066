"""Building blocks of feed ingest (:mod:`pipeline.ingest` wires them together).

- :mod:`.fetch`: bounded HTTP GET with conditional validators (the only module that knows ``requests``);
- :mod:`.parse`: bytes -> cleaned items (encoding check, feedparser, dates, HTML);
- :mod:`.dates`: the date shapes Vietnamese feeds use, ``GMT+7`` included;
- :mod:`.sanitize`: allow-list sanitising (nh3) and HTML -> Markdown;
- :mod:`.drafts`: duplicate detection and atomic draft files.
"""
