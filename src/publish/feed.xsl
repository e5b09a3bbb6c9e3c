<?xml version="1.0" encoding="utf-8"?>
<!-- Vestnik: what a browser shows when it opens an RSS or Atom feed directly. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom">
  <xsl:output method="html" encoding="utf-8" doctype-system="about:legacy-compat"/>
  <xsl:template match="/">
    <html lang="ru">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="rss/channel/title | atom:feed/atom:title"/> · Vestnik</title>
        <style>body{font:16px/1.5 system-ui,sans-serif;margin:2em auto;max-width:46em;padding:0 1em}.note{background:#f4f4f0;padding:.8em 1em;border-radius:6px}.item{margin:1.4em 0}.meta{color:#666;font-size:.9em}code{background:#eee;padding:0 .3em}</style>
      </head>
      <body>
        <p class="note">Это лента новостей (RSS/Atom). Чтобы подписаться, скопируйте адрес этой
          страницы в программу для чтения лент. This is a news feed: copy this page's address into
          your feed reader.</p>
        <h1 id="feed-title"><xsl:value-of select="rss/channel/title | atom:feed/atom:title"/></h1>
        <xsl:apply-templates select="rss/channel/item | atom:feed/atom:entry"/>
      </body>
    </html>
  </xsl:template>
  <xsl:template match="item">
    <div class="item">
      <h3><a href="{link}"><xsl:value-of select="title"/></a></h3>
      <div class="meta"><xsl:value-of select="source"/> · <xsl:value-of select="pubDate"/></div>
    </div>
  </xsl:template>
  <xsl:template match="atom:entry">
    <div class="item">
      <h3><a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a></h3>
      <div class="meta"><xsl:value-of select="atom:author/atom:name"/> · <xsl:value-of select="atom:published"/></div>
      <p><xsl:value-of select="atom:summary"/></p>
    </div>
  </xsl:template>
</xsl:stylesheet>
