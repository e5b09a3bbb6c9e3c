"""Parses each RSS or Atom feed file named on the command line with feedparser; prints one JSON line per file.

(feedparser 6, the current release, does not read JSON Feed.) Exit 1 when any is 'bozo' (not well formed or otherwise suspect) or has no entries.
"""
import json
import sys

import feedparser

failed = False
for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    parsed = feedparser.parse(data)
    report = {
        "file": path,
        "bozo": parsed.bozo,
        "bozo_exception": str(parsed.get("bozo_exception", "")),
        "version": parsed.version,
        "title": parsed.feed.get("title"),
        "entries": len(parsed.entries),
        "ids": [e.get("id") for e in parsed.entries],
        "categories": [[t.get("term") for t in e.get("tags", [])] for e in parsed.entries],
        "links": [e.get("link") for e in parsed.entries],
    }
    print(json.dumps(report, ensure_ascii=False))
    if parsed.bozo or not parsed.entries or not parsed.version:
        failed = True
sys.exit(1 if failed else 0)
