//! An HTML document as a sequence of text blocks: what a reader sees as paragraphs, each tied to
//! the DOM nodes it came from.
//!
//! Plain text, chrome removal and article extraction all need the same notion of a paragraph: a
//! run of inline content between block-level boundaries (`<p>`, `<div>`, `<br>`, …). Keeping the
//! nodes of each block lets chrome removal take a block out of the HTML, not only out of the text.

use ego_tree::{NodeId, NodeRef};
use scraper::{ElementRef, Html, Node};

use super::text::clean_line;

/// Elements whose content is never text a reader should see.
pub(crate) const SKIPPED: &[&str] = &[
    "script", "style", "noscript", "template", "iframe", "object", "svg", "head", "select",
    "button", "textarea", "title",
];

/// Elements that start a new paragraph.
pub(crate) const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "blockquote",
    "tr",
    "table",
    "tbody",
    "thead",
    "section",
    "article",
    "header",
    "footer",
    "aside",
    "nav",
    "figure",
    "figcaption",
    "pre",
    "dd",
    "dt",
    "dl",
    "hr",
    "main",
    "form",
    "address",
    "center",
    "body",
    "html",
];

/// One paragraph of a document.
#[derive(Debug, Clone)]
pub struct Block {
    /// The paragraph as one clean line (see [`clean_line`]); empty for an image-only block.
    pub text: String,
    /// Characters of `text` that are inside links: navigation and "read also" lists are mostly links.
    pub link_chars: usize,
    /// The outermost inline subtrees (text, inline elements, images) the block is made of.
    pub nodes: Vec<NodeId>,
    /// The nearest block-level element around the block.
    pub container: NodeId,
    /// Inside a `<figcaption>`: a caption, not article text.
    pub in_caption: bool,
    /// Inside `<h1>`…`<h6>`.
    pub in_heading: bool,
    /// Holds an image.
    pub has_image: bool,
}

impl Block {
    /// The share of the text that is link text.
    pub fn link_density(&self) -> f64 {
        let chars = self.text.chars().count();
        if chars == 0 {
            0.0
        } else {
            self.link_chars as f64 / chars as f64
        }
    }

    pub fn words(&self) -> usize {
        self.text.split_whitespace().count()
    }
}

/// The blocks of a parsed document or fragment, in document order. Image-only blocks are kept
/// (with empty text) so that article extraction can keep pictures; text-only callers skip them.
pub fn blocks(html: &Html) -> Vec<Block> {
    let mut walker = Walker::default();
    let root = html.tree.root();
    walker.container = root.id();
    walker.walk(root, Context::default(), true);
    walker.flush();
    walker.out
}

#[derive(Clone, Copy, Default)]
struct Context {
    in_link: bool,
    in_caption: bool,
    in_heading: bool,
}

impl Context {
    fn inside(self, name: &str) -> Context {
        Context {
            in_link: self.in_link || name == "a",
            in_caption: self.in_caption || name == "figcaption",
            in_heading: self.in_heading || matches!(name, "h1" | "h2" | "h3" | "h4" | "h5" | "h6"),
        }
    }
}

struct Walker {
    current: String,
    link_text: String,
    nodes: Vec<NodeId>,
    has_image: bool,
    context: Context,
    container: NodeId,
    out: Vec<Block>,
}

impl Default for Walker {
    fn default() -> Self {
        let placeholder = Html::new_fragment();
        Walker {
            current: String::new(),
            link_text: String::new(),
            nodes: Vec::new(),
            has_image: false,
            context: Context::default(),
            container: placeholder.tree.root().id(),
            out: Vec::new(),
        }
    }
}

impl Walker {
    /// Walks the children of `node`. While `recording`, each outermost inline subtree is
    /// recorded as a node of the current block; inside one, nothing is (it goes as a whole).
    fn walk(&mut self, node: NodeRef<'_, Node>, context: Context, recording: bool) {
        for child in node.children() {
            match child.value() {
                Node::Text(text) => {
                    self.push_text(text, context);
                    if recording {
                        self.record(child.id(), context);
                    }
                }
                Node::Element(element) => {
                    let name = element.name();
                    if SKIPPED.contains(&name) {
                        continue;
                    }
                    if name == "img" {
                        self.has_image = true;
                        if recording {
                            self.record(child.id(), context);
                        }
                        continue;
                    }
                    let inner = context.inside(name);
                    if recording && BLOCKS.contains(&name) {
                        self.flush();
                        let outer = std::mem::replace(&mut self.container, child.id());
                        self.walk(child, inner, true);
                        self.flush();
                        self.container = outer;
                    } else if recording && has_block_descendant(child) {
                        // An inline element around blocks (`<a><div>…</div></a>`) is transparent.
                        self.walk(child, inner, true);
                    } else {
                        self.walk(child, inner, false);
                        if recording {
                            self.record(child.id(), context);
                        }
                        if matches!(name, "td" | "th") {
                            self.current.push(' ');
                        }
                    }
                }
                _ => {}
            }
        }
    }

    fn push_text(&mut self, text: &str, context: Context) {
        self.current.push_str(text);
        if context.in_link {
            self.link_text.push_str(text);
        }
    }

    fn record(&mut self, id: NodeId, context: Context) {
        if self.nodes.is_empty() {
            self.context = context;
        }
        self.nodes.push(id);
    }

    fn flush(&mut self) {
        let text = clean_line(&self.current);
        if !text.is_empty() || self.has_image {
            let link_chars = clean_line(&self.link_text).chars().count();
            self.out.push(Block {
                text,
                link_chars,
                nodes: std::mem::take(&mut self.nodes),
                container: self.container,
                in_caption: self.context.in_caption,
                in_heading: self.context.in_heading,
                has_image: self.has_image,
            });
        }
        self.current.clear();
        self.link_text.clear();
        self.nodes.clear();
        self.has_image = false;
        self.context = Context::default();
    }
}

fn has_block_descendant(node: NodeRef<'_, Node>) -> bool {
    node.descendants().skip(1).any(|d| {
        d.value()
            .as_element()
            .is_some_and(|e| BLOCKS.contains(&e.name()))
    })
}

/// The element a node id names, when it is one.
pub fn element(html: &Html, id: NodeId) -> Option<ElementRef<'_>> {
    html.tree.get(id).and_then(ElementRef::wrap)
}

/// Serializes one node: an element with its subtree, or escaped text.
pub fn node_html(html: &Html, id: NodeId) -> String {
    let Some(node) = html.tree.get(id) else {
        return String::new();
    };
    match node.value() {
        Node::Text(text) => html_escape::encode_text(&**text).into_owned(),
        _ => ElementRef::wrap(node).map(|e| e.html()).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(html: &str) -> Vec<String> {
        blocks(&Html::parse_fragment(html))
            .into_iter()
            .map(|b| b.text)
            .collect()
    }

    #[test]
    fn splits_at_block_elements_and_line_breaks() {
        assert_eq!(
            texts("<p>Один <b>два</b></p>три<br>четыре<div>пять<span>шесть</span></div>"),
            ["Один два", "три", "четыре", "пятьшесть"]
        );
    }

    #[test]
    fn measures_links_and_marks_captions_and_headings() {
        let html = Html::parse_fragment(
            "<p><a href='/1'>Ссылка</a> текст</p><figure><img src=a.jpg><figcaption>Подпись</figcaption></figure><h2>Заголовок</h2>",
        );
        let found = blocks(&html);
        assert_eq!(found[0].link_chars, "Ссылка".chars().count());
        assert!(found[1].has_image && found[1].text.is_empty());
        assert!(found[2].in_caption && found[2].text == "Подпись");
        assert!(found[3].in_heading);
    }

    #[test]
    fn inline_elements_around_blocks_are_transparent() {
        assert_eq!(
            texts("<a href='/x'><div>Первый</div><div>Второй</div></a>"),
            ["Первый", "Второй"]
        );
    }
}
