// Parses each feed file named on the command line with rss-parser and feedsmith; one JSON line
// per file and parser. Exit 1 when either throws or finds no items.
import { readFileSync } from 'node:fs';
import Parser from 'rss-parser';
import { parseFeed } from 'feedsmith';

let failed = false;
const rssParser = new Parser();
for (const path of process.argv.slice(2)) {
  const text = readFileSync(path, 'utf8');
  if (!path.endsWith('.json')) {
    try {
      const feed = await rssParser.parseString(text);
      console.log(JSON.stringify({ parser: 'rss-parser', file: path, title: feed.title, items: feed.items.length, ids: feed.items.map((i) => i.guid || i.id) }));
      if (!feed.items.length) failed = true;
    } catch (e) {
      console.log(JSON.stringify({ parser: 'rss-parser', file: path, error: String(e) }));
      failed = true;
    }
  }
  try {
    const { format, feed } = parseFeed(path.endsWith('.json') ? JSON.parse(text) : text);
    const items = feed.items || feed.entries || [];
    console.log(JSON.stringify({ parser: 'feedsmith', file: path, format, title: typeof feed.title === 'string' ? feed.title : feed.title?.value, items: items.length }));
    if (!items.length) failed = true;
  } catch (e) {
    console.log(JSON.stringify({ parser: 'feedsmith', file: path, error: String(e) }));
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
