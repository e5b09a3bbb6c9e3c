#!/usr/bin/env python3
"""Deterministic benchmark inputs (no network, seed 42).

  OUT/big.rss.xml          RSS 2.0, UTF-8, N items (default 5000): Cyrillic titles, ~1 KB HTML
                           descriptions, alternately CDATA and entity-escaped; about 8 MB.
  OUT/sources/sNNN.rss     with --sources S --items I: S feeds of I items each (memory bench).

Usage: gen.py OUT [--items-big N] [--sources S --items I]
"""
import argparse, html, os, random
from datetime import datetime, timedelta, timezone

WORDS = ("губернатор области власти региона город администрация заседание совещание "
         "проект бюджет строительство дорога ремонт школа больница полиция суд прокуратура "
         "жители район депутаты мэр экономика предприятие завод инвестиции фестиваль культура "
         "спорт команда матч победа погода снег мороз транспорт автобус трамвай аэропорт "
         "Гатчина Всеволожск Выборг Кириши Тихвин Луга Сосновый Бор Минск Гродно Брест Витебск "
         "сообщили заявил отметил рассказал выделено объявлено состоялось планируется "
         "миллионов рублей года апреля мая июня отчёт решение программа развитие ёлка").split()
CATS = ["Политика", "Экономика", "Общество", "Происшествия", "Спорт", "Культура"]


def sentence(rnd, a, b):
    s = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(a, b)))
    return s[0].upper() + s[1:]


def desc(rnd, target):
    parts, size = [], 0
    while size < target:
        p = sentence(rnd, 8, 18) + ". " + sentence(rnd, 6, 14) + "."
        if rnd.random() < 0.3:
            p = p.replace(" ", ' <a href="https://example-news.ru/tag/%d">' % rnd.randint(1, 999), 1) + "</a>"
        if rnd.random() < 0.2:
            p = "<strong>" + p + "</strong> &laquo;цитата&raquo;"
        frag = "<p>" + p + "</p>\n"
        parts.append(frag)
        size += len(frag.encode())
    return "".join(parts)


def rss(rnd, n, host, desc_bytes):
    base = datetime(2026, 11, 20, 14, 0, tzinfo=timezone(timedelta(hours=3)))
    out = ['<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">\n<channel>\n',
           "<title>Новости региона %s</title>\n<link>https://%s/</link>\n<description>Главные новости</description>\n<language>ru</language>\n" % (host, host)]
    for i in range(n):
        d = (base - timedelta(minutes=7 * i)).strftime("%a, %d %b %Y %H:%M:%S %z")
        link = "https://%s/news/%06d/?utm_source=rss" % (host, 100000 + i)
        body = desc(rnd, desc_bytes)
        body = "<![CDATA[" + body + "]]>" if i % 2 == 0 else html.escape(body, quote=False)
        cats = "".join("<category>%s</category>" % c for c in rnd.sample(CATS, 2))
        out.append("<item>\n<title>%s</title>\n<link>%s</link>\n<guid isPermaLink=\"false\">%s-%d</guid>\n<pubDate>%s</pubDate>\n%s\n<description>%s</description>\n</item>\n"
                   % (html.escape(sentence(rnd, 6, 12), quote=False), html.escape(link), host, i, d, cats, body))
    out.append("</channel>\n</rss>\n")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--items-big", type=int, default=5000)
    ap.add_argument("--sources", type=int, default=0)
    ap.add_argument("--items", type=int, default=100)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    rnd = random.Random(42)
    if a.items_big:
        open(os.path.join(a.out, "big.rss.xml"), "w", encoding="utf-8").write(rss(rnd, a.items_big, "example-news.ru", 1000))
    if a.sources:
        os.makedirs(os.path.join(a.out, "sources"), exist_ok=True)
        for s in range(a.sources):
            text = rss(random.Random(s), a.items, "s%03d.example" % s, 600)
            open(os.path.join(a.out, "sources", "s%03d.rss" % s), "w", encoding="utf-8").write(text)


if __name__ == "__main__":
    main()
