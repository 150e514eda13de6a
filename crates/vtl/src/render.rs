//! Rendering a parsed template against a context: Velocity 1.7's semantics (truth, `#set`
//! with a null right side, equality by `toString` across types, literal output of references
//! without a value) under a step and output budget, so no template can hang or exhaust memory.

use std::collections::HashMap;

use crate::methods;
use crate::parse::{BinOp, Expr, Node, Reference, Segment, Template};
use crate::value::{MAX_DEPTH, Map, Value};

/// What one render may spend.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Evaluation steps (nodes, expressions, loop turns, copied value sizes).
    pub max_steps: u64,
    /// Bytes of output, and of any one string built on the way.
    pub max_output: usize,
    /// Turns of one `#foreach`; further items are skipped silently, as Velocity's
    /// `directive.foreach.maxloops` does.
    pub max_loop: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_steps: 1_000_000, max_output: 1 << 20, max_loop: usize::MAX }
    }
}

/// Objects whose methods are code rather than values (API Gateway's `$input`, `$util`).
pub trait Host {
    /// Whether `$name` is one of this host's objects.
    fn has(&self, name: &str) -> bool;
    /// `$name.property`.
    fn property(&self, name: &str, property: &str) -> Result<Value, String>;
    /// `$name.method(args)`.
    fn call(&self, name: &str, method: &str, args: &[Value]) -> Result<Value, String>;
}

/// The variables a render starts from, an optional host, and the limits.
#[derive(Clone)]
pub struct Context<'h> {
    vars: HashMap<String, Value>,
    host: Option<&'h dyn Host>,
    pub limits: Limits,
    /// Velocity prints `$a.b` literally when `$a` is defined but `.b` is null; API Gateway
    /// prints nothing there. Undefined roots print literally either way.
    pub literal_null_chains: bool,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").field("vars", &self.vars).field("limits", &self.limits).finish()
    }
}

impl Default for Context<'_> {
    fn default() -> Self {
        Context { vars: HashMap::new(), host: None, limits: Limits::default(), literal_null_chains: true }
    }
}

impl<'h> Context<'h> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn with_host(host: &'h dyn Host) -> Self {
        Context { host: Some(host), ..Self::default() }
    }
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<Value>) -> &mut Self {
        self.vars.insert(name.into(), value.into());
        self
    }
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
}

/// A render that went wrong: a budget ran out or a method refused its arguments.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line}, column {column}")]
pub struct RenderError {
    pub message: String,
    pub line: usize,
    pub column: usize,
}

/// The output of a render and the variables as the template left them (API Gateway reads
/// `$context.requestOverride` back from there).
#[derive(Debug, Clone)]
pub struct Rendered {
    pub output: String,
    pub vars: HashMap<String, Value>,
}

impl Template {
    pub fn render(&self, ctx: &Context<'_>) -> Result<String, RenderError> {
        self.render_full(ctx).map(|r| r.output)
    }

    pub fn render_full(&self, ctx: &Context<'_>) -> Result<Rendered, RenderError> {
        let mut run = Run {
            vars: ctx.vars.clone(),
            host: ctx.host,
            limits: ctx.limits,
            literal_null_chains: ctx.literal_null_chains,
            steps: 0,
        };
        let mut out = String::new();
        run.nodes(&self.nodes, &mut out).map_err(|Fail { message, at }| {
            let (line, column) = self.position(at);
            RenderError { message, line, column }
        })?;
        Ok(Rendered { output: out, vars: run.vars })
    }
}

/// An error with the source offset it happened at.
struct Fail {
    message: String,
    at: usize,
}

type R<T> = Result<T, Fail>;

enum Flow {
    Next,
    Break,
    Stop,
}

struct Run<'h> {
    vars: HashMap<String, Value>,
    host: Option<&'h dyn Host>,
    limits: Limits,
    literal_null_chains: bool,
    steps: u64,
}

/// A segment with its arguments evaluated.
enum Seg {
    Property(String),
    Index(Value),
    Call(String, Vec<Value>),
}

impl Seg {
    /// Property, index and `get(x)` only read into the value: they can borrow.
    fn is_lookup(&self) -> bool {
        match self {
            Seg::Property(_) | Seg::Index(_) => true,
            Seg::Call(name, args) => name == "get" && args.len() == 1,
        }
    }
}

fn fail(message: impl Into<String>, at: usize) -> Fail {
    Fail { message: message.into(), at }
}

/// One lookup step by reference: a map's key or a list's index.
fn lookup<'v>(v: &'v Value, seg: &Seg) -> Option<&'v Value> {
    let key = match seg {
        Seg::Property(name) => return if let Value::Map(m) = v { m.get(name) } else { None },
        Seg::Index(k) => k,
        Seg::Call(_, args) => args.first()?,
    };
    match (v, key) {
        (Value::Map(m), k) => m.get(&k.to_java_string()),
        (Value::List(items), Value::Int(i)) => {
            let i = if *i < 0 { items.len() as i64 + *i } else { *i };
            usize::try_from(i).ok().and_then(|i| items.get(i))
        }
        _ => None,
    }
}

fn lookup_mut<'v>(v: &'v mut Value, seg: &Seg) -> Option<&'v mut Value> {
    let key = match seg {
        Seg::Property(name) => return if let Value::Map(m) = v { m.get_mut(name) } else { None },
        Seg::Index(k) => k,
        Seg::Call(_, args) => args.first()?,
    };
    match (v, key) {
        (Value::Map(m), k) => m.get_mut(&k.to_java_string()),
        (Value::List(items), Value::Int(i)) => {
            let i = if *i < 0 { items.len() as i64 + *i } else { *i };
            usize::try_from(i).ok().and_then(move |i| items.get_mut(i))
        }
        _ => None,
    }
}

impl Run<'_> {
    fn step(&mut self, n: u64, at: usize) -> R<()> {
        self.steps = self.steps.saturating_add(n);
        if self.steps > self.limits.max_steps {
            return Err(fail(format!("template exceeded {} evaluation steps", self.limits.max_steps), at));
        }
        Ok(())
    }

    fn push(&self, out: &mut String, s: &str, at: usize) -> R<()> {
        if out.len() + s.len() > self.limits.max_output {
            return Err(fail(format!("template output exceeded {} bytes", self.limits.max_output), at));
        }
        out.push_str(s);
        Ok(())
    }

    fn nodes(&mut self, nodes: &[Node], out: &mut String) -> R<Flow> {
        for node in nodes {
            match self.node(node, out)? {
                Flow::Next => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Next)
    }

    fn node(&mut self, node: &Node, out: &mut String) -> R<Flow> {
        self.step(1, 0)?;
        match node {
            Node::Text(t) => self.push(out, t, 0)?,
            Node::Ref(r) => {
                let (value, defined) = self.reference(r)?;
                self.print(r, &value, defined, out)?;
            }
            Node::Escaped { slashes, reference } => {
                let (value, _) = self.reference(reference)?;
                if value.is_null() {
                    self.push(out, &"\\".repeat(*slashes), reference.at)?;
                    self.push(out, &reference.text, reference.at)?;
                } else {
                    self.push(out, &"\\".repeat(slashes / 2), reference.at)?;
                    if slashes % 2 == 1 {
                        self.push(out, &reference.text, reference.at)?;
                    } else {
                        self.print(reference, &value, true, out)?;
                    }
                }
            }
            Node::Set { target, value } => {
                let v = self.expr(value)?;
                self.assign(target, v)?;
            }
            Node::If { branches, otherwise } => {
                for (cond, body) in branches {
                    if self.expr(cond)?.truthy() {
                        return self.nodes(body, out);
                    }
                }
                if let Some(body) = otherwise {
                    return self.nodes(body, out);
                }
            }
            Node::Foreach { var, iterable, body, at } => return self.foreach(var, iterable, body, *at, out),
            Node::Break => return Ok(Flow::Break),
            Node::Stop => return Ok(Flow::Stop),
        }
        Ok(Flow::Next)
    }

    fn print(&mut self, r: &Reference, value: &Value, defined: bool, out: &mut String) -> R<()> {
        match value {
            Value::Null if r.quiet => Ok(()),
            Value::Null if !defined || self.literal_null_chains => self.push(out, &r.text, r.at),
            Value::Null => Ok(()),
            Value::String(s) => self.push(out, s, r.at),
            other => {
                self.step(other.weight(), r.at)?;
                let s = other.to_java_string();
                self.push(out, &s, r.at)
            }
        }
    }

    fn foreach(&mut self, var: &str, iterable: &Expr, body: &[Node], at: usize, out: &mut String) -> R<Flow> {
        let items = match self.expr(iterable)? {
            Value::List(items) => items,
            Value::Map(m) => m.iter().map(|(_, v)| v.clone()).collect(),
            _ => Vec::new(),
        };
        let saved: Vec<(&str, Option<Value>)> = [var, "foreach", "velocityCount"]
            .into_iter()
            .map(|name| (name, self.vars.get(name).cloned()))
            .collect();
        let count = items.len().min(self.limits.max_loop);
        let mut flow = Flow::Next;
        for (index, item) in items.into_iter().take(count).enumerate() {
            self.step(1, at)?;
            let mut state = Map::new();
            state.insert("index", Value::Int(index as i64));
            state.insert("count", Value::Int(index as i64 + 1));
            state.insert("hasNext", Value::Bool(index + 1 < count));
            state.insert("first", Value::Bool(index == 0));
            state.insert("last", Value::Bool(index + 1 == count));
            self.vars.insert("foreach".into(), Value::Map(state));
            self.vars.insert("velocityCount".into(), Value::Int(index as i64 + 1));
            self.vars.insert(var.to_owned(), item);
            match self.nodes(body, out)? {
                Flow::Next => {}
                Flow::Break => break,
                Flow::Stop => {
                    flow = Flow::Stop;
                    break;
                }
            }
        }
        for (name, old) in saved {
            match old {
                Some(v) => self.vars.insert(name.to_owned(), v),
                None => self.vars.remove(name),
            };
        }
        Ok(flow)
    }

    fn assign(&mut self, target: &Reference, value: Value) -> R<()> {
        // Velocity 1.7 leaves the target alone when the right side is null.
        if value.is_null() {
            return Ok(());
        }
        let segs = self.segments(&target.segments)?;
        if segs.len() + value.depth() > MAX_DEPTH {
            return Err(fail("value nested too deeply", target.at));
        }
        let Some((last, path)) = segs.split_last() else {
            self.vars.insert(target.root.clone(), value);
            return Ok(());
        };
        let Some(mut cur) = self.vars.get_mut(&target.root) else { return Ok(()) };
        for seg in path {
            match lookup_mut(cur, seg) {
                Some(next) => cur = next,
                None => return Ok(()),
            }
        }
        match (cur, last) {
            (Value::Map(m), Seg::Property(k)) => {
                m.insert(k.clone(), value);
            }
            (Value::Map(m), Seg::Index(k)) => {
                m.insert(k.to_java_string(), value);
            }
            (cur @ Value::List(_), seg @ Seg::Index(_)) => {
                if let Some(slot) = lookup_mut(cur, seg) {
                    *slot = value;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn segments(&mut self, segments: &[Segment]) -> R<Vec<Seg>> {
        segments
            .iter()
            .map(|s| {
                Ok(match s {
                    Segment::Property(name) => Seg::Property(name.clone()),
                    Segment::Index(e) => Seg::Index(self.expr(e)?),
                    Segment::Call(name, args) => {
                        Seg::Call(name.clone(), args.iter().map(|a| self.expr(a)).collect::<R<_>>()?)
                    }
                })
            })
            .collect()
    }

    /// The value of a reference, and whether its root is defined at all.
    fn reference(&mut self, r: &Reference) -> R<(Value, bool)> {
        self.step(1, r.at)?;
        let segs = self.segments(&r.segments)?;
        let mut rest: &[Seg] = &segs;
        let mut cur = if self.vars.contains_key(&r.root) {
            let lookups = rest.iter().take_while(|s| s.is_lookup()).count();
            let mutating =
                rest.get(lookups).is_some_and(|s| matches!(s, Seg::Call(n, _) if methods::is_mutator(n)));
            if mutating {
                // A mutator on a variable's path changes the variable itself, as a Java
                // method call on the shared object would.
                let (path, after) = rest.split_at(lookups);
                let Some((Seg::Call(name, args), after)) = after.split_first() else {
                    return Ok((Value::Null, true));
                };
                if path.len() + 1 + args.iter().map(Value::depth).max().unwrap_or(0) > MAX_DEPTH {
                    return Err(fail("value nested too deeply", r.at));
                }
                self.step(1 + args.len() as u64, r.at)?;
                let mut target = self.vars.get_mut(&r.root);
                for seg in path {
                    target = target.and_then(|t| lookup_mut(t, seg));
                }
                let Some(target) = target else { return Ok((Value::Null, true)) };
                let result = methods::mutate(target, name, args).map_err(|m| fail(m, r.at))?;
                rest = after;
                result.unwrap_or(Value::Null)
            } else {
                let (path, after) = rest.split_at(lookups);
                let max = self.limits.max_output;
                let mut found = self.vars.get(&r.root);
                for seg in path {
                    found = found.and_then(|v| lookup(v, seg));
                }
                // A reading method runs on the variable in place: `$list.size()` in a loop
                // must not pay for a copy of the list every turn.
                let (v, used) = match (found, after.first()) {
                    (Some(v), Some(Seg::Call(name, args))) => {
                        (methods::call(v, name, args, max).map_err(|m| fail(m, r.at))?, 1)
                    }
                    (Some(v), _) => (v.clone(), 0),
                    (None, _) => (Value::Null, 0),
                };
                rest = &after[used..];
                self.step(v.weight(), r.at)?;
                v
            }
        } else if let Some(host) = self.host.filter(|h| h.has(&r.root)) {
            let Some((first, after)) = rest.split_first() else {
                return Ok((Value::Null, true));
            };
            rest = after;
            let v = match first {
                Seg::Property(p) => host.property(&r.root, p),
                Seg::Call(m, args) => host.call(&r.root, m, args),
                Seg::Index(_) => Ok(Value::Null),
            }
            .map_err(|m| fail(m, r.at))?;
            if v.depth() > MAX_DEPTH {
                return Err(fail("value nested too deeply", r.at));
            }
            self.step(v.weight(), r.at)?;
            v
        } else {
            return Ok((Value::Null, false));
        };
        for seg in rest {
            self.step(1, r.at)?;
            if cur.is_null() {
                break;
            }
            cur = match seg {
                Seg::Property(_) | Seg::Index(_) => lookup(&cur, seg).cloned().unwrap_or(Value::Null),
                Seg::Call(name, args) => {
                    let mut tmp = cur;
                    match methods::mutate(&mut tmp, name, args).map_err(|m| fail(m, r.at))? {
                        Some(v) => v,
                        None => methods::call(&tmp, name, args, self.limits.max_output)
                            .map_err(|m| fail(m, r.at))?,
                    }
                }
            };
            if cur.depth() > MAX_DEPTH {
                return Err(fail("value nested too deeply", r.at));
            }
        }
        Ok((cur, true))
    }

    fn expr(&mut self, e: &Expr) -> R<Value> {
        self.step(1, 0)?;
        Ok(match e {
            Expr::Ref(r) => self.reference(r)?.0,
            Expr::Literal(v) => v.clone(),
            Expr::Interpolated(nodes) => {
                let mut s = String::new();
                if let Flow::Stop = self.nodes(nodes, &mut s)? {
                    // `#stop` inside a string only ends the string.
                }
                Value::String(s)
            }
            Expr::List(items) => {
                let items = items.iter().map(|i| self.expr(i)).collect::<R<Vec<_>>>()?;
                let v = Value::List(items);
                self.check_depth(&v)?;
                v
            }
            Expr::Map(entries) => {
                let mut m = Map::new();
                for (k, v) in entries {
                    let k = self.expr(k)?.to_java_string();
                    let v = self.expr(v)?;
                    self.step(m.len() as u64 / 8, 0)?;
                    m.insert(k, v);
                }
                let v = Value::Map(m);
                self.check_depth(&v)?;
                v
            }
            Expr::Range(a, b) => {
                let (a, b) = (self.expr(a)?, self.expr(b)?);
                let (Some(a), Some(b)) = (as_int(&a), as_int(&b)) else { return Ok(Value::Null) };
                let len = a.abs_diff(b).saturating_add(1);
                self.step(len, 0)?;
                if a <= b {
                    Value::List((a..=b).map(Value::Int).collect())
                } else {
                    Value::List((b..=a).rev().map(Value::Int).collect())
                }
            }
            Expr::Not(inner) => Value::Bool(!self.expr(inner)?.truthy()),
            Expr::Neg(inner) => match self.expr(inner)? {
                Value::Int(n) => n.checked_neg().map_or(Value::Float(-(n as f64)), Value::Int),
                Value::Float(f) => Value::Float(-f),
                _ => Value::Null,
            },
            Expr::Binary(op, l, r, at) => self.binary(*op, l, r, *at)?,
        })
    }

    fn check_depth(&self, v: &Value) -> R<()> {
        if v.depth() > MAX_DEPTH {
            return Err(fail("value nested too deeply", 0));
        }
        Ok(())
    }

    fn binary(&mut self, op: BinOp, l: &Expr, r: &Expr, at: usize) -> R<Value> {
        match op {
            BinOp::And => {
                return Ok(Value::Bool(self.expr(l)?.truthy() && self.expr(r)?.truthy()));
            }
            BinOp::Or => {
                return Ok(Value::Bool(self.expr(l)?.truthy() || self.expr(r)?.truthy()));
            }
            _ => {}
        }
        let (a, b) = (self.expr(l)?, self.expr(r)?);
        Ok(match op {
            BinOp::Eq => Value::Bool(equal(&a, &b)),
            BinOp::Ne => Value::Bool(!equal(&a, &b)),
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let ord = match (as_num(&a), as_num(&b)) {
                    (Some(Num::I(x)), Some(Num::I(y))) => x.partial_cmp(&y),
                    (Some(x), Some(y)) => x.f().partial_cmp(&y.f()),
                    _ => None,
                };
                let Some(ord) = ord else { return Ok(Value::Bool(false)) };
                Value::Bool(match op {
                    BinOp::Lt => ord.is_lt(),
                    BinOp::Le => ord.is_le(),
                    BinOp::Gt => ord.is_gt(),
                    _ => ord.is_ge(),
                })
            }
            BinOp::Add if matches!(a, Value::String(_)) || matches!(b, Value::String(_)) => {
                if a.is_null() || b.is_null() {
                    return Ok(Value::Null);
                }
                self.step(a.weight() + b.weight(), at)?;
                let (x, y) = (a.to_java_string(), b.to_java_string());
                if x.len() + y.len() > self.limits.max_output {
                    return Err(fail("string too long", at));
                }
                Value::String(x + &y)
            }
            _ => arith(op, &a, &b),
        })
    }
}

#[derive(Clone, Copy)]
enum Num {
    I(i64),
    F(f64),
}
impl Num {
    fn f(self) -> f64 {
        match self {
            Num::I(i) => i as f64,
            Num::F(f) => f,
        }
    }
}

fn as_num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i) => Some(Num::I(*i)),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

pub(crate) fn as_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Float(f) if f.is_finite() => Some(*f as i64),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Velocity 1.7's `==`: numbers by value, same kinds by `equals`, other kinds by `toString`.
pub(crate) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Null, Value::Null) => true,
        (Value::Null, _) | (_, Value::Null) => false,
        _ => match (as_num(a), as_num(b)) {
            (Some(Num::I(x)), Some(Num::I(y))) => x == y,
            (Some(x), Some(y)) => x.f() == y.f(),
            _ if std::mem::discriminant(a) == std::mem::discriminant(b) => a == b,
            _ => a.to_java_string() == b.to_java_string(),
        },
    }
}

/// Java arithmetic: integers stay integers (widened to double on overflow), integer division
/// truncates, and division by integer zero has no value.
fn arith(op: BinOp, a: &Value, b: &Value) -> Value {
    let (Some(x), Some(y)) = (as_num(a), as_num(b)) else { return Value::Null };
    if let (Num::I(x), Num::I(y)) = (x, y) {
        let exact = match op {
            BinOp::Add => x.checked_add(y),
            BinOp::Sub => x.checked_sub(y),
            BinOp::Mul => x.checked_mul(y),
            BinOp::Div if y == 0 => return Value::Null,
            BinOp::Rem if y == 0 => return Value::Null,
            BinOp::Div => x.checked_div(y),
            BinOp::Rem => x.checked_rem(y),
            _ => None,
        };
        if let Some(n) = exact {
            return Value::Int(n);
        }
    }
    let (x, y) = (x.f(), y.f());
    Value::Float(match op {
        BinOp::Add => x + y,
        BinOp::Sub => x - y,
        BinOp::Mul => x * y,
        BinOp::Div => x / y,
        BinOp::Rem => x % y,
        _ => return Value::Null,
    })
}
