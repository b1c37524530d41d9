//! The expression dialect (`filters=`, as in SailPoint IdentityNow and SCIM): comparisons
//! `FIELD OP VALUE` joined by `and`, `or`, `not` and parentheses, parsed into the same AST as
//! `filter[...]`. Errors name the column (1-based, in characters) where they were found.
//!
//! ```text
//! expr       := and ("or" and)*
//! and        := unary ("and" unary)*
//! unary      := "not" unary | "(" expr ")" | comparison
//! comparison := FIELD "isnull" | FIELD OP literal | FIELD "in" "(" literal ("," literal)* ")"
//! literal    := "string" | integer | true | false | null
//! ```
//! Keywords and operators are case-insensitive; `and` binds tighter than `or`.

use super::ast::{Expr, Op, Scalar};
use super::fields::{Literal, from_literal, resolve};
use crate::resource::ResourceDef;

/// Most comparisons one expression may hold, and how deep parentheses and `not` may nest:
/// bounds on the work a single request can ask for.
pub const MAX_COMPARISONS: usize = 50;
pub const MAX_DEPTH: usize = 20;

/// Why an expression was refused: a code, a sentence, and the column it points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub code: &'static str,
    pub column: usize,
    pub message: String,
}

impl SyntaxError {
    /// The `detail` of the 400: the message and where.
    pub fn detail(&self) -> String {
        format!("{} (at column {})", self.message, self.column)
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    Word(String),
    Literal(Literal),
    Open,
    Close,
    Comma,
    End,
}

struct Lexer<'a> {
    chars: std::iter::Peekable<std::iter::Enumerate<std::str::Chars<'a>>>,
}

impl Lexer<'_> {
    /// The next token and its column.
    fn next(&mut self) -> Result<(Token, usize), SyntaxError> {
        while self.chars.next_if(|(_, c)| c.is_whitespace()).is_some() {}
        let Some((i, c)) = self.chars.next() else {
            return Ok((Token::End, 0));
        };
        let column = i + 1;
        let token = match c {
            '(' => Token::Open,
            ')' => Token::Close,
            ',' => Token::Comma,
            '"' => Token::Literal(Literal::Str(self.string(column)?)),
            c if c == '-' || c.is_ascii_digit() => {
                let mut text = c.to_string();
                while let Some((_, d)) = self.chars.next_if(|(_, d)| d.is_ascii_digit()) {
                    text.push(d);
                }
                let n = text.parse().map_err(|_| SyntaxError {
                    code: "invalid_number",
                    column,
                    message: format!("{text:?} is not an integer"),
                })?;
                Token::Literal(Literal::Int(n))
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut word = c.to_string();
                while let Some((_, d)) = self.chars.next_if(|(_, d)| d.is_alphanumeric() || *d == '_' || *d == '.') {
                    word.push(d);
                }
                match word.to_ascii_lowercase().as_str() {
                    "true" => Token::Literal(Literal::Bool(true)),
                    "false" => Token::Literal(Literal::Bool(false)),
                    "null" => Token::Literal(Literal::Null),
                    _ => Token::Word(word),
                }
            }
            other => {
                return Err(SyntaxError {
                    code: "unexpected_character",
                    column,
                    message: format!("unexpected character {other:?}"),
                });
            }
        };
        Ok((token, column))
    }

    /// A double-quoted string after its opening quote; `\"` and `\\` escape.
    fn string(&mut self, column: usize) -> Result<String, SyntaxError> {
        let mut s = String::new();
        loop {
            match self.chars.next() {
                Some((_, '"')) => return Ok(s),
                Some((_, '\\')) => match self.chars.next() {
                    Some((_, c @ ('"' | '\\'))) => s.push(c),
                    Some((j, c)) => {
                        return Err(SyntaxError {
                            code: "invalid_escape",
                            column: j + 1,
                            message: format!("\\{c} is not an escape; use \\\" or \\\\"),
                        });
                    }
                    None => break,
                },
                Some((_, c)) => s.push(c),
                None => break,
            }
        }
        Err(SyntaxError { code: "unterminated_string", column, message: "the string is not closed".into() })
    }
}

struct Parser<'a> {
    def: &'a ResourceDef,
    tokens: Vec<(Token, usize)>,
    at: usize,
    comparisons: usize,
    end_column: usize,
}

fn describe(t: &Token) -> String {
    match t {
        Token::Word(w) => format!("{w:?}"),
        Token::Literal(Literal::Str(s)) => format!("the string {s:?}"),
        Token::Literal(Literal::Int(i)) => format!("the number {i}"),
        Token::Literal(Literal::Bool(b)) => b.to_string(),
        Token::Literal(Literal::Null) => "null".into(),
        Token::Open => "\"(\"".into(),
        Token::Close => "\")\"".into(),
        Token::Comma => "\",\"".into(),
        Token::End => "the end of the expression".into(),
    }
}

fn operator(word: &str) -> Option<Op> {
    Some(match word.to_ascii_lowercase().as_str() {
        "eq" => Op::Eq,
        "ne" => Op::Ne,
        "in" => Op::In,
        "sw" => Op::Sw,
        "co" => Op::Match,
        "gt" => Op::Gt,
        "ge" => Op::Gte,
        "lt" => Op::Lt,
        "le" => Op::Lte,
        _ => return None,
    })
}

impl Parser<'_> {
    fn peek(&self) -> &Token {
        &self.tokens[self.at].0
    }

    fn column(&self) -> usize {
        match self.tokens[self.at] {
            (Token::End, _) => self.end_column,
            (_, c) => c,
        }
    }

    fn bump(&mut self) -> (Token, usize) {
        let t = self.tokens[self.at].clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        let column = if t.0 == Token::End { self.end_column } else { t.1 };
        (t.0, column)
    }

    fn error(&self, code: &'static str, message: String) -> SyntaxError {
        SyntaxError { code, column: self.column(), message }
    }

    fn unexpected(&self, wanted: &str) -> SyntaxError {
        self.error("unexpected_token", format!("expected {wanted}, found {}", describe(self.peek())))
    }

    fn keyword(&self, word: &str) -> bool {
        matches!(self.peek(), Token::Word(w) if w.eq_ignore_ascii_case(word))
    }

    fn expr(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("too_deep", format!("expressions nest at most {MAX_DEPTH} deep")));
        }
        let mut parts = vec![self.and(depth)?];
        while self.keyword("or") {
            self.bump();
            parts.push(self.and(depth)?);
        }
        Ok(if parts.len() == 1 { parts.remove(0) } else { Expr::Or(parts) })
    }

    fn and(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        let mut parts = vec![self.unary(depth)?];
        while self.keyword("and") {
            self.bump();
            parts.push(self.unary(depth)?);
        }
        Ok(parts.into_iter().reduce(Expr::and).unwrap_or(Expr::True))
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, SyntaxError> {
        if depth > MAX_DEPTH {
            return Err(self.error("too_deep", format!("expressions nest at most {MAX_DEPTH} deep")));
        }
        if self.keyword("not") {
            self.bump();
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if *self.peek() == Token::Open {
            self.bump();
            let inner = self.expr(depth + 1)?;
            if *self.peek() != Token::Close {
                return Err(self.unexpected("\")\""));
            }
            self.bump();
            return Ok(inner);
        }
        self.comparison()
    }

    fn literal(&mut self) -> Result<(Literal, usize), SyntaxError> {
        match self.peek().clone() {
            Token::Literal(l) => {
                let (_, column) = self.bump();
                Ok((l, column))
            }
            Token::Word(w) => Err(self.error(
                "unexpected_token",
                format!("expected a value, found {w:?} (strings are written in double quotes)"),
            )),
            _ => Err(self.unexpected("a value")),
        }
    }

    fn comparison(&mut self) -> Result<Expr, SyntaxError> {
        let (name, name_column) = match self.peek().clone() {
            Token::Word(w) if !["and", "or", "not"].iter().any(|k| w.eq_ignore_ascii_case(k)) => {
                let (_, c) = self.bump();
                (w, c)
            }
            _ => return Err(self.unexpected("a field name")),
        };
        let (op_word, op_column) = match self.peek().clone() {
            Token::Word(w) => {
                let (_, c) = self.bump();
                (w, c)
            }
            _ => return Err(self.unexpected("an operator (eq, ne, in, sw, co, gt, ge, lt, le, isnull)")),
        };
        let isnull = op_word.eq_ignore_ascii_case("isnull");
        let op = match operator(&op_word) {
            Some(op) => op,
            None if isnull => Op::Eq,
            None => {
                return Err(SyntaxError {
                    code: "unknown_operator",
                    column: op_column,
                    message: format!("{op_word:?} is not an operator (eq, ne, in, sw, co, gt, ge, lt, le, isnull)"),
                });
            }
        };
        let field = resolve(self.def, &name, op).map_err(|(code, message)| SyntaxError {
            code,
            column: if code == "unknown_operator" { op_column } else { name_column },
            message,
        })?;
        self.comparisons += 1;
        if self.comparisons > MAX_COMPARISONS {
            return Err(SyntaxError {
                code: "too_many_comparisons",
                column: name_column,
                message: format!("an expression holds at most {MAX_COMPARISONS} comparisons"),
            });
        }
        let typed = |(l, column): (Literal, usize)| {
            from_literal(&field, op, &l).map_err(|(code, message)| SyntaxError { code, column, message })
        };
        let values: Vec<Scalar> = if isnull {
            vec![Scalar::Null]
        } else if op == Op::In {
            if *self.peek() != Token::Open {
                return Err(self.unexpected("\"(\" opening the list of in"));
            }
            self.bump();
            let mut values = vec![typed(self.literal()?)?];
            while *self.peek() == Token::Comma {
                self.bump();
                values.push(typed(self.literal()?)?);
            }
            if values.len() > super::params::MAX_LIST_VALUES {
                return Err(self
                    .error("too_many_values", format!("in takes at most {} values", super::params::MAX_LIST_VALUES)));
            }
            if *self.peek() != Token::Close {
                return Err(self.unexpected("\",\" or \")\""));
            }
            self.bump();
            values
        } else {
            vec![typed(self.literal()?)?]
        };
        Ok(Expr::Cmp { field: field.name, op, values })
    }
}

/// Parses a `filters=` expression for resource `def`.
pub fn parse(def: &ResourceDef, text: &str) -> Result<Expr, SyntaxError> {
    let mut lexer = Lexer { chars: text.chars().enumerate().peekable() };
    let mut tokens = Vec::new();
    loop {
        let (token, column) = lexer.next()?;
        let end = token == Token::End;
        tokens.push((token, column));
        if end {
            break;
        }
    }
    let end_column = text.chars().count() + 1;
    let mut p = Parser { def, tokens, at: 0, comparisons: 0, end_column };
    if *p.peek() == Token::End {
        return Err(p.error("empty_expression", "filters needs at least one comparison".into()));
    }
    let expr = p.expr(0)?;
    if *p.peek() != Token::End {
        return Err(p.unexpected("\"and\", \"or\" or the end of the expression"));
    }
    Ok(expr)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::account::RESOURCE;

    fn s(v: &str) -> Scalar {
        Scalar::Str(v.into())
    }

    fn err(text: &str) -> SyntaxError {
        parse(&RESOURCE, text).expect_err(text)
    }

    #[test]
    fn the_api_example_parses_with_and_binding_tighter_than_or() {
        let e = parse(&RESOURCE, r#"email sw "ann" and (enabled eq true or status eq "pending")"#).unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                Expr::cmp("email", Op::Sw, s("ann")),
                Expr::Or(vec![
                    Expr::cmp("enabled", Op::Eq, Scalar::Bool(true)),
                    Expr::cmp("status", Op::Eq, s("pending"))
                ]),
            ])
        );
        let e = parse(&RESOURCE, r#"name eq "a" or name eq "b" AND NOT enabled eq false"#).unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::cmp("name", Op::Eq, s("a")),
                Expr::And(vec![
                    Expr::cmp("name", Op::Eq, s("b")),
                    Expr::Not(Box::new(Expr::cmp("enabled", Op::Eq, Scalar::Bool(false)))),
                ]),
            ])
        );
    }

    #[test]
    fn every_operator_maps_onto_the_ast() {
        for (text, op) in [
            ("name eq \"x\"", Op::Eq),
            ("name ne \"x\"", Op::Ne),
            ("name sw \"x\"", Op::Sw),
            ("name co \"x\"", Op::Match),
            ("name gt \"x\"", Op::Gt),
            ("name ge \"x\"", Op::Gte),
            ("name lt \"x\"", Op::Lt),
            ("name le \"x\"", Op::Lte),
        ] {
            assert_eq!(parse(&RESOURCE, text).unwrap(), Expr::cmp("name", op, s("x")), "{text}");
        }
        assert_eq!(
            parse(&RESOURCE, r#"name in ("a", "b\"c")"#).unwrap(),
            Expr::Cmp { field: "name", op: Op::In, values: vec![s("a"), s("b\"c")] }
        );
        assert_eq!(parse(&RESOURCE, "expires_at isnull").unwrap(), Expr::cmp("expires_at", Op::Eq, Scalar::Null));
        assert_eq!(parse(&RESOURCE, "email eq \"Ann@X.io\"").unwrap(), Expr::cmp("email", Op::Eq, s("ann@x.io")));
    }

    #[test]
    fn errors_say_what_was_expected_and_where() {
        let e = err(r#"email sw "ann" and (enabled eq true"#);
        assert_eq!((e.code, e.column), ("unexpected_token", 36));
        assert!(e.detail().contains("\")\"") && e.detail().contains("column 36"), "{}", e.detail());
        assert_eq!(err("email sw ann").code, "unexpected_token");
        assert_eq!(err("email sw ann").column, 10);
        assert_eq!((err("email like \"a\"").code, err("email like \"a\"").column), ("unknown_operator", 7));
        assert_eq!((err("bogus eq 1").code, err("bogus eq 1").column), ("unknown_field", 1));
        assert_eq!(err("password_hash eq \"x\"").code, "secret_field");
        assert_eq!(err("name eq \"open").code, "unterminated_string");
        assert_eq!((err("enabled eq \"yes\"").code, err("enabled eq \"yes\"").column), ("invalid_value", 12));
        assert_eq!(err("created_at gt \"yesterday\"").code, "invalid_value");
        assert_eq!(err("name eq \"a\" name eq \"b\"").code, "unexpected_token");
        assert_eq!(err("").code, "empty_expression");
        assert_eq!(err("name eq \"a\" and").column, 16);
        assert_eq!(err("name eq \"a\" ; drop").code, "unexpected_character");
    }

    #[test]
    fn hostile_expressions_are_bounded() {
        let deep = format!("{}name eq \"a\"{}", "(".repeat(100), ")".repeat(100));
        assert_eq!(err(&deep).code, "too_deep");
        let wide = vec!["name eq \"a\""; 60].join(" or ");
        assert_eq!(err(&wide).code, "too_many_comparisons");
    }
}
