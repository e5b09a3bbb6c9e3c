//! The topic query language.
//!
//! ```text
//! query   := or
//! or      := and ("OR" and)*
//! and     := unary (["AND"] unary)*          juxtaposition is AND
//! unary   := "NOT" unary | near
//! near    := primary ("NEAR/" N primary)*     both sides words or phrases
//! primary := [field ":"] ( "(" or ")" | term )
//! term    := word | prefix* | =exact | "a phrase"
//! field   := title | text | source | region | category
//! ```
//!
//! Words match by stem and root ([`crate::normalize::words`]); a phrase matches adjacent words in
//! order; `prefix*` matches words that start with it; `=exact` only that form (the escape hatch when
//! a stem catches too much). Operators are upper case, so «и», «или» and «не» stay words. A word
//! written with a hyphen («НКО-сектор», «Санкт-Петербург») is a phrase of its parts. Errors carry
//! the column (in characters, from 0) inside the query where they are.

use std::fmt;

use crate::normalize::words;

/// Which part of an entry a term looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    /// Title or text (a term without a field).
    Any,
    Title,
    Text,
    Source,
    Region,
    Category,
}

impl Field {
    fn parse(name: &str) -> Option<Field> {
        match name {
            "title" => Some(Field::Title),
            "text" => Some(Field::Text),
            "source" => Some(Field::Source),
            "region" => Some(Field::Region),
            "category" => Some(Field::Category),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Field::Any => "any",
            Field::Title => "title",
            Field::Text => "text",
            Field::Source => "source",
            Field::Region => "region",
            Field::Category => "category",
        }
    }
}

/// One query word, analysed once when the query is compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct WordPattern {
    pub folded: String,
    pub stem: String,
    pub roots: Vec<String>,
}

impl WordPattern {
    pub fn new(folded: &str) -> WordPattern {
        WordPattern {
            folded: folded.to_string(),
            stem: words::stem(folded),
            roots: words::roots(folded),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum TermKind {
    Word(WordPattern),
    Phrase(Vec<WordPattern>),
    Prefix(String),
    Exact(String),
}

/// A leaf of the query, as written and as compiled.
#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub field: Field,
    pub kind: TermKind,
    /// The term as the operator wrote it, for explanations.
    pub written: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Query {
    Or(Vec<Query>),
    And(Vec<Query>),
    Not(Box<Query>),
    Near {
        left: Term,
        right: Term,
        distance: u32,
    },
    Term(Term),
}

/// A query that does not parse, with the column (characters from the start) of the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryError {
    pub column: usize,
    pub message: String,
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "column {}: {}", self.column + 1, self.message)
    }
}

impl std::error::Error for QueryError {}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Open,
    Close,
    And,
    Or,
    Not,
    Near(u32),
    /// `name:` directly before a term or a group.
    Field(Field),
    Phrase(String),
    Word(String),
}

#[derive(Debug, Clone)]
struct Lexeme {
    token: Token,
    column: usize,
}

fn error(column: usize, message: impl Into<String>) -> QueryError {
    QueryError {
        column,
        message: message.into(),
    }
}

fn lex(query: &str) -> Result<Vec<Lexeme>, QueryError> {
    let chars: Vec<char> = query.chars().collect();
    let mut lexemes = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let column = i;
        match c {
            c if c.is_whitespace() => i += 1,
            '(' => {
                lexemes.push(Lexeme {
                    token: Token::Open,
                    column,
                });
                i += 1;
            }
            ')' => {
                lexemes.push(Lexeme {
                    token: Token::Close,
                    column,
                });
                i += 1;
            }
            '"' | '«' | '“' => {
                let close = match c {
                    '«' => '»',
                    '“' => '”',
                    _ => '"',
                };
                let end = chars[i + 1..]
                    .iter()
                    .position(|&x| x == close)
                    .ok_or_else(|| {
                        error(
                            column,
                            format!("expected '{close}' to close the phrase opened here"),
                        )
                    })?;
                let phrase: String = chars[i + 1..i + 1 + end].iter().collect();
                lexemes.push(Lexeme {
                    token: Token::Phrase(phrase),
                    column,
                });
                i += end + 2;
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !chars[i].is_whitespace()
                    && !matches!(chars[i], '(' | ')' | '"' | '«' | '“')
                {
                    // `field:` ends a token so that `title:"…"` and `title:(…)` work.
                    if chars[i] == ':' {
                        i += 1;
                        break;
                    }
                    i += 1;
                }
                let text: String = chars[start..i].iter().collect();
                lexemes.push(Lexeme {
                    token: word_token(&text, column)?,
                    column,
                });
            }
        }
    }
    Ok(lexemes)
}

fn word_token(text: &str, column: usize) -> Result<Token, QueryError> {
    if let Some(name) = text.strip_suffix(':') {
        return Field::parse(name).map(Token::Field).ok_or_else(|| {
            error(
                column,
                format!(
                    "unknown field '{text}': expected title:, text:, source:, region: or category:"
                ),
            )
        });
    }
    Ok(match text {
        "AND" => Token::And,
        "OR" => Token::Or,
        "NOT" => Token::Not,
        "NEAR" => Token::Near(10),
        _ => match text.strip_prefix("NEAR/") {
            Some(distance) => match distance.parse::<u32>() {
                Ok(d) if d >= 1 => Token::Near(d),
                _ => {
                    return Err(error(
                        column,
                        format!("expected a distance such as NEAR/5, found '{text}'"),
                    ))
                }
            },
            None => Token::Word(text.to_string()),
        },
    })
}

/// Parses a query.
pub fn parse(query: &str) -> Result<Query, QueryError> {
    let lexemes = lex(query)?;
    if lexemes.is_empty() {
        return Err(error(0, "expected a query, found nothing"));
    }
    let mut parser = Parser {
        lexemes,
        at: 0,
        end_column: query.chars().count(),
        depth: 0,
    };
    let parsed = parser.or()?;
    match parser.peek() {
        None => Ok(parsed),
        Some(Lexeme {
            token: Token::Close,
            column,
        }) => Err(error(*column, "unexpected ')': no '(' opened it")),
        Some(other) => Err(error(
            other.column,
            "expected an operator or the end of the query",
        )),
    }
}

struct Parser {
    lexemes: Vec<Lexeme>,
    at: usize,
    end_column: usize,
    /// Open parentheses and NOTs around the current term: the parser recurses on each.
    depth: usize,
}

/// Deeper nesting is refused: no topic needs it, and each level is a stack frame (the
/// topic_query fuzzer overflowed the stack with a few thousand `(`).
const MAX_DEPTH: usize = 64;

impl Parser {
    fn peek(&self) -> Option<&Lexeme> {
        self.lexemes.get(self.at)
    }

    /// Runs `inner` one nesting level deeper, or refuses past [`MAX_DEPTH`].
    fn nested<T>(
        &mut self,
        column: usize,
        inner: impl FnOnce(&mut Parser) -> Result<T, QueryError>,
    ) -> Result<T, QueryError> {
        if self.depth >= MAX_DEPTH {
            return Err(error(
                column,
                format!("parentheses and NOTs nest more than {MAX_DEPTH} deep"),
            ));
        }
        self.depth += 1;
        let result = inner(self);
        self.depth -= 1;
        result
    }

    fn column(&self) -> usize {
        self.peek().map(|l| l.column).unwrap_or(self.end_column)
    }

    fn or(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.and()?];
        while matches!(
            self.peek(),
            Some(Lexeme {
                token: Token::Or,
                ..
            })
        ) {
            self.at += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Query, QueryError> {
        let mut parts = vec![self.unary()?];
        loop {
            match self.peek().map(|l| &l.token) {
                Some(Token::And) => {
                    self.at += 1;
                    parts.push(self.unary()?);
                }
                Some(Token::Or | Token::Close) | None => break,
                Some(Token::Near(_)) => {
                    return Err(error(
                        self.column(),
                        "expected a word or phrase before NEAR",
                    ))
                }
                Some(_) => parts.push(self.unary()?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Query, QueryError> {
        if matches!(
            self.peek(),
            Some(Lexeme {
                token: Token::Not,
                ..
            })
        ) {
            let column = self.column();
            self.at += 1;
            let negated = self.nested(column, Parser::unary)?;
            return Ok(Query::Not(Box::new(negated)));
        }
        self.near()
    }

    fn near(&mut self) -> Result<Query, QueryError> {
        let first_column = self.column();
        let mut left = self.primary(Field::Any)?;
        while let Some(Lexeme {
            token: Token::Near(distance),
            column,
        }) = self.peek().cloned()
        {
            self.at += 1;
            let Query::Term(left_term) = left else {
                return Err(error(first_column, "expected a word or phrase before NEAR"));
            };
            let right_column = self.column();
            let Query::Term(right_term) = self.primary(Field::Any)? else {
                return Err(error(right_column, "expected a word or phrase after NEAR"));
            };
            if matches!(left_term.field, Field::Source) || matches!(right_term.field, Field::Source)
            {
                return Err(error(
                    column,
                    "NEAR compares word positions: source: cannot take part",
                ));
            }
            left = Query::Near {
                left: left_term,
                right: right_term,
                distance,
            };
        }
        Ok(left)
    }

    fn primary(&mut self, field: Field) -> Result<Query, QueryError> {
        let column = self.column();
        let Some(lexeme) = self.peek().cloned() else {
            return Err(error(
                column,
                "expected a word, a phrase or '(', found the end of the query",
            ));
        };
        self.at += 1;
        match lexeme.token {
            Token::Field(inner) => {
                if field != Field::Any {
                    return Err(error(column, "a field is already given for this term"));
                }
                self.primary(inner)
            }
            Token::Open => {
                let inner = self.nested(column, Parser::or)?;
                match self.peek() {
                    Some(Lexeme {
                        token: Token::Close,
                        ..
                    }) => {
                        self.at += 1;
                        Ok(scope(inner, field))
                    }
                    _ => Err(error(
                        self.column(),
                        format!("expected ')' to close the '(' at column {}", column + 1),
                    )),
                }
            }
            Token::Phrase(text) => phrase_term(&text, field, column).map(Query::Term),
            Token::Word(text) => word_term(&text, field, column).map(Query::Term),
            Token::Close => Err(error(column, "expected a word, a phrase or '(' before ')'")),
            Token::And | Token::Or => Err(error(
                column,
                "expected a word, a phrase or '(' before this operator",
            )),
            Token::Not => Err(error(column, "NOT cannot follow a field name")),
            Token::Near(_) => Err(error(column, "expected a word or phrase before NEAR")),
        }
    }
}

/// Applies a field written before a group to every term inside it that has none.
fn scope(query: Query, field: Field) -> Query {
    if field == Field::Any {
        return query;
    }
    let term = |mut t: Term| {
        if t.field == Field::Any {
            t.field = field;
        }
        t
    };
    match query {
        Query::Or(parts) => Query::Or(parts.into_iter().map(|q| scope(q, field)).collect()),
        Query::And(parts) => Query::And(parts.into_iter().map(|q| scope(q, field)).collect()),
        Query::Not(inner) => Query::Not(Box::new(scope(*inner, field))),
        Query::Near {
            left,
            right,
            distance,
        } => Query::Near {
            left: term(left),
            right: term(right),
            distance,
        },
        Query::Term(t) => Query::Term(term(t)),
    }
}

fn word_term(text: &str, field: Field, column: usize) -> Result<Term, QueryError> {
    let written = text.to_string();
    if let Some(exact) = text.strip_prefix('=') {
        let parts = words::words(exact);
        return match parts.as_slice() {
            [one] if one.end - one.start == exact.len() => Ok(Term {
                field,
                kind: TermKind::Exact(one.folded.clone()),
                written,
            }),
            _ => Err(error(
                column,
                format!("expected one word after '=', found '{exact}'"),
            )),
        };
    }
    if let Some(prefix) = text.strip_suffix('*') {
        let parts = words::words(prefix);
        return match parts.as_slice() {
            [one] if one.end - one.start == prefix.len() && one.folded.chars().count() >= 2 => {
                Ok(Term {
                    field,
                    kind: TermKind::Prefix(one.folded.clone()),
                    written,
                })
            }
            _ => Err(error(
                column,
                format!("expected a word of at least two letters before '*', found '{prefix}'"),
            )),
        };
    }
    let parts = words::words(text);
    let kind = match parts.as_slice() {
        [] => return Err(error(column, format!("expected a word, found '{text}'"))),
        [one] => TermKind::Word(WordPattern::new(&one.folded)),
        many => TermKind::Phrase(many.iter().map(|w| WordPattern::new(&w.folded)).collect()),
    };
    Ok(Term {
        field,
        kind,
        written,
    })
}

fn phrase_term(text: &str, field: Field, column: usize) -> Result<Term, QueryError> {
    let parts = words::words(text);
    let kind = match parts.as_slice() {
        [] => {
            return Err(error(
                column,
                "expected words inside the quotes, found an empty phrase",
            ))
        }
        [one] => TermKind::Word(WordPattern::new(&one.folded)),
        many => TermKind::Phrase(many.iter().map(|w| WordPattern::new(&w.folded)).collect()),
    };
    Ok(Term {
        field,
        kind,
        written: format!("\"{text}\""),
    })
}

/// Every term of a query, in order, for explanations and counting.
pub fn terms(query: &Query) -> Vec<&Term> {
    let mut out = Vec::new();
    collect_terms(query, &mut out);
    out
}

fn collect_terms<'a>(query: &'a Query, out: &mut Vec<&'a Term>) {
    match query {
        Query::Or(parts) | Query::And(parts) => parts.iter().for_each(|p| collect_terms(p, out)),
        Query::Not(inner) => collect_terms(inner, out),
        Query::Near { left, right, .. } => {
            out.push(left);
            out.push(right);
        }
        Query::Term(t) => out.push(t),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        // Found by the topic_query fuzzer (a few thousand '(' overflowed the stack).
        let parens = format!("{}НКО{}", "(".repeat(5_000), ")".repeat(5_000));
        let error = parse(&parens).unwrap_err();
        assert_eq!(error.column, MAX_DEPTH);
        assert!(
            error.message.contains("nest more than 64"),
            "{}",
            error.message
        );
        let nots = format!("{}НКО", "NOT ".repeat(5_000));
        assert!(parse(&nots).is_err());
        // As deep as allowed still parses.
        let deepest = format!("{}НКО{}", "(".repeat(MAX_DEPTH), ")".repeat(MAX_DEPTH));
        assert!(parse(&deepest).is_ok());
    }

    fn shape(query: &Query) -> String {
        match query {
            Query::Or(parts) => format!(
                "(OR {})",
                parts.iter().map(shape).collect::<Vec<_>>().join(" ")
            ),
            Query::And(parts) => format!(
                "(AND {})",
                parts.iter().map(shape).collect::<Vec<_>>().join(" ")
            ),
            Query::Not(inner) => format!("(NOT {})", shape(inner)),
            Query::Near {
                left,
                right,
                distance,
            } => format!("(NEAR/{distance} {} {})", leaf(left), leaf(right)),
            Query::Term(t) => leaf(t),
        }
    }

    fn leaf(term: &Term) -> String {
        let kind = match &term.kind {
            TermKind::Word(w) => w.folded.clone(),
            TermKind::Phrase(ws) => format!(
                "\"{}\"",
                ws.iter()
                    .map(|w| w.folded.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
            TermKind::Prefix(p) => format!("{p}*"),
            TermKind::Exact(e) => format!("={e}"),
        };
        match term.field {
            Field::Any => kind,
            field => format!("{}:{kind}", field.name()),
        }
    }

    fn parsed(query: &str) -> String {
        shape(&parse(query).unwrap_or_else(|e| panic!("{query}: {e}")))
    }

    #[test]
    fn precedence_or_below_and_below_not_below_near() {
        assert_eq!(parsed("a b OR c"), "(OR (AND a b) c)");
        assert_eq!(parsed("a AND b OR c AND d"), "(OR (AND a b) (AND c d))");
        assert_eq!(parsed("a OR NOT b c"), "(OR a (AND (NOT b) c))");
        assert_eq!(parsed("a b NEAR/5 c OR d"), "(OR (AND a (NEAR/5 b c)) d)");
        assert_eq!(parsed("(a OR b) c"), "(AND (OR a b) c)");
        assert_eq!(parsed("NOT NOT a"), "(NOT (NOT a))");
    }

    #[test]
    fn term_forms() {
        assert_eq!(
            parsed(r#"Волонтёр* =НКО "Некоммерческая  организация" НКО-сектор"#),
            r#"(AND волонтер* =нко "некоммерческая организация" "нко сектор")"#
        );
        assert_eq!(parsed("«гражданское общество»"), "\"гражданское общество\"");
        assert_eq!(parsed("или и не"), "(AND или и не)");
    }

    #[test]
    fn fields_scope_terms_and_groups() {
        assert_eq!(
            parsed("title:НКО text:\"общественная палата\""),
            "(AND title:нко text:\"общественная палата\")"
        );
        assert_eq!(
            parsed("title:(НКО OR волонтер*) source:lenobl"),
            "(AND (OR title:нко title:волонтер*) source:lenobl)"
        );
        assert_eq!(
            parsed("region:\"Ленинградская область\" category:Общество"),
            "(AND region:\"ленинградская область\" category:общество)"
        );
    }

    #[test]
    fn near_needs_terms() {
        assert_eq!(
            parsed("визит NEAR/3 \"Минской области\""),
            "(NEAR/3 визит \"минской области\")"
        );
        assert_eq!(parsed("a NEAR b"), "(NEAR/10 a b)");
    }

    fn failure(query: &str) -> QueryError {
        parse(query).expect_err(query)
    }

    #[test]
    fn every_error_says_where_and_what() {
        let cases = [
            (
                "(НКО OR волонтер",
                16,
                "expected ')' to close the '(' at column 1",
            ),
            (
                "НКО OR",
                6,
                "expected a word, a phrase or '(', found the end of the query",
            ),
            ("НКО)", 3, "unexpected ')': no '(' opened it"),
            (
                "\"некоммерческая организация",
                0,
                "expected '\"' to close the phrase opened here",
            ),
            (
                "author:Иванов",
                0,
                "unknown field 'author:': expected title:, text:, source:, region: or category:",
            ),
            (
                "a NEAR/x b",
                2,
                "expected a distance such as NEAR/5, found 'NEAR/x'",
            ),
            (
                "a NEAR/0 b",
                2,
                "expected a distance such as NEAR/5, found 'NEAR/0'",
            ),
            (
                "(a OR b) NEAR/3 c",
                0,
                "expected a word or phrase before NEAR",
            ),
            (
                "a NEAR/3 (b OR c)",
                9,
                "expected a word or phrase after NEAR",
            ),
            (
                "OR a",
                0,
                "expected a word, a phrase or '(' before this operator",
            ),
            (
                "a AND OR b",
                6,
                "expected a word, a phrase or '(' before this operator",
            ),
            ("()", 1, "expected a word, a phrase or '(' before ')'"),
            (
                "\"\"",
                0,
                "expected words inside the quotes, found an empty phrase",
            ),
            ("=", 0, "expected one word after '=', found ''"),
            (
                "н*",
                0,
                "expected a word of at least two letters before '*', found 'н'",
            ),
            ("   ", 0, "expected a query, found nothing"),
            ("title:title:a", 6, "a field is already given for this term"),
            (
                "a NEAR/2 source:lenobl",
                2,
                "NEAR compares word positions: source: cannot take part",
            ),
            ("-- ", 0, "expected a word, found '--'"),
        ];
        for (query, column, message) in cases {
            let err = failure(query);
            assert_eq!(
                (err.column, err.message.as_str()),
                (column, message),
                "{query}"
            );
        }
    }
}
