//! Function logs: the environment's stdout and stderr (one pipe, so their lines keep their
//! order) are split into lines and written, with the platform's INIT_START / START / END /
//! REPORT lines, to the caller's [`LogSink`] under the function's log group and the
//! environment's log stream. Lines written during an invocation are also kept for that
//! invocation's `LogType=Tail`.
//!
//! Attribution is exact at the end of an invocation: when the runtime posts its response we
//! drain the pipe with direct non-blocking reads (not through the reactor's possibly stale
//! readiness) before END is written, so everything the function printed before answering lands
//! before END.

use std::collections::BTreeMap;
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};

use tokio::net::unix::pipe;
use tokio::sync::{mpsc, oneshot};
use types::Scope;

/// One log line as CloudWatch Logs stores it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogEvent {
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    pub message: String,
}

/// Where function logs go. The control plane implements it on CloudWatch Logs. `put` is called
/// from the environment's log task for every batch of lines, in order per stream; it must not
/// block for long (queue the events and return).
pub trait LogSink: Send + Sync + 'static {
    /// `scope` is the function's account and region: log groups are per tenant.
    fn put(&self, scope: &Scope, log_group: &str, log_stream: &str, events: Vec<LogEvent>);
}

/// Discards everything.
#[derive(Debug, Default)]
pub struct NullSink;

impl LogSink for NullSink {
    fn put(&self, _: &Scope, _: &str, _: &str, _: Vec<LogEvent>) {}
}

/// Keeps everything in memory, per (group, stream); for tests and small tools.
#[derive(Debug, Default)]
pub struct MemorySink {
    streams: Mutex<BTreeMap<(String, String), Vec<LogEvent>>>,
}

impl MemorySink {
    pub fn new() -> MemorySink {
        MemorySink::default()
    }

    /// The messages of one stream, in order.
    pub fn messages(&self, log_group: &str, log_stream: &str) -> Vec<String> {
        let streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams
            .get(&(log_group.to_owned(), log_stream.to_owned()))
            .map(|v| v.iter().map(|e| e.message.clone()).collect())
            .unwrap_or_default()
    }

    /// The stream names of a group.
    pub fn streams(&self, log_group: &str) -> Vec<String> {
        let streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.keys().filter(|(g, _)| g == log_group).map(|(_, s)| s.clone()).collect()
    }
}

impl LogSink for MemorySink {
    fn put(&self, _: &Scope, log_group: &str, log_stream: &str, events: Vec<LogEvent>) {
        let mut streams = self.streams.lock().unwrap_or_else(|e| e.into_inner());
        streams.entry((log_group.to_owned(), log_stream.to_owned())).or_default().extend(events);
    }
}

pub(crate) fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// `2024-05-01T12:00:03.013Z`, the timestamp format of Lambda's own lines.
pub(crate) fn iso_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        now.year(),
        u8::from(now.month()),
        now.day(),
        now.hour(),
        now.minute(),
        now.second(),
        now.millisecond()
    )
}

/// `YYYY/MM/DD/[VERSION]<32 hex>`, Lambda's stream name for one environment.
pub(crate) fn stream_name(version: &str, env_id: &str) -> String {
    let d = time::OffsetDateTime::now_utc().date();
    format!("{:04}/{:02}/{:02}/[{}]{}", d.year(), u8::from(d.month()), d.day(), version, env_id)
}

/// Longest single event; a longer line is split (CloudWatch's event limit is 256 KB).
const MAX_LINE: usize = 256 * 1024;

/// What the log task reports when an invocation's logs are closed.
pub(crate) struct Collected {
    pub events: Vec<LogEvent>,
}

enum Ctl {
    /// A platform line outside an invocation's end (INIT_START, START, the timeout line).
    Line(String),
    /// Output so far is not this invocation's; write `start` (START) and attribute what follows
    /// to the invocation (collected when `collect`). Answered once done, before the event is
    /// delivered, so the drain cannot take the invocation's own first lines.
    Begin { start: String, collect: bool, done: oneshot::Sender<()> },
    /// Drain what the function wrote, write `lines` (END, REPORT…), close the invocation.
    Finish { lines: Vec<String>, reply: oneshot::Sender<Collected> },
    /// Drain what the function wrote; answer whether V8 reported heap exhaustion.
    Sync { reply: oneshot::Sender<bool> },
}

/// The handle an environment keeps on its log task.
pub(crate) struct LogWriter {
    ctl: mpsc::UnboundedSender<Ctl>,
}

impl LogWriter {
    /// Starts the task that reads `pipe` (the function's stdout and stderr) until EOF.
    pub(crate) fn start(
        pipe: pipe::Receiver,
        sink: Arc<dyn LogSink>,
        scope: Scope,
        group: String,
        stream: String,
    ) -> LogWriter {
        let (ctl, rx) = mpsc::unbounded_channel();
        tokio::spawn(
            LogTask { pipe: Some(pipe), sink, scope, group, stream, partial: Vec::new(), current: None }
                .run(rx),
        );
        LogWriter { ctl }
    }

    pub(crate) fn line(&self, line: String) {
        let _ = self.ctl.send(Ctl::Line(line));
    }

    pub(crate) async fn begin(&self, start: String, collect: bool) {
        let (done, rx) = oneshot::channel();
        if self.ctl.send(Ctl::Begin { start, collect, done }).is_ok() {
            let _ = rx.await;
        }
    }

    /// Reads everything the function wrote so far into the current invocation; returns whether
    /// V8 reported running out of heap during it.
    pub(crate) async fn sync(&self) -> bool {
        let (reply, rx) = oneshot::channel();
        if self.ctl.send(Ctl::Sync { reply }).is_err() {
            return false;
        }
        rx.await.unwrap_or(false)
    }

    pub(crate) async fn finish(&self, lines: Vec<String>) -> Collected {
        let (reply, rx) = oneshot::channel();
        if self.ctl.send(Ctl::Finish { lines, reply }).is_err() {
            return Collected { events: Vec::new() };
        }
        rx.await.unwrap_or(Collected { events: Vec::new() })
    }
}

struct Current {
    collect: bool,
    events: Vec<LogEvent>,
    /// V8 wrote "JavaScript heap out of memory": a Node process that then aborts ran out of
    /// memory, whatever the cgroup says.
    heap_oom: bool,
}

struct LogTask {
    /// `None` after EOF.
    pipe: Option<pipe::Receiver>,
    sink: Arc<dyn LogSink>,
    scope: Scope,
    group: String,
    stream: String,
    partial: Vec<u8>,
    current: Option<Current>,
}

impl LogTask {
    async fn run(mut self, mut ctl: mpsc::UnboundedReceiver<Ctl>) {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            tokio::select! {
                // Control first: a Begin must be seen before the output it precedes.
                biased;
                msg = ctl.recv() => match msg {
                    Some(msg) => self.control(msg, &mut buf),
                    None => {
                        // The environment is gone; write out what is left and stop.
                        self.drain(&mut buf);
                        self.flush_partial();
                        return;
                    }
                },
                readable = async {
                    match &self.pipe {
                        Some(pipe) => pipe.readable().await,
                        None => std::future::pending().await,
                    }
                } => {
                    if readable.is_err() {
                        self.pipe = None;
                        continue;
                    }
                    self.read_available(&mut buf);
                }
            }
        }
    }

    fn control(&mut self, msg: Ctl, buf: &mut [u8]) {
        match msg {
            Ctl::Line(line) => self.emit(vec![event(line)]),
            Ctl::Begin { start, collect, done } => {
                // Output that arrived before the invocation started is not part of it.
                self.drain(buf);
                self.flush_partial();
                self.current = Some(Current { collect, events: Vec::new(), heap_oom: false });
                self.emit(vec![event(start)]);
                let _ = done.send(());
            }
            Ctl::Sync { reply } => {
                self.drain(buf);
                self.flush_partial();
                let _ = reply.send(self.current.as_ref().is_some_and(|c| c.heap_oom));
            }
            Ctl::Finish { lines, reply } => {
                self.drain(buf);
                self.flush_partial();
                self.emit(lines.into_iter().map(event).collect());
                let events = self.current.take().map(|c| c.events).unwrap_or_default();
                let _ = reply.send(Collected { events });
            }
        }
    }

    /// Reads through the reactor until it reports no more data (keeps readiness accurate).
    fn read_available(&mut self, buf: &mut [u8]) {
        loop {
            let Some(pipe) = self.pipe.as_ref() else { return };
            match pipe.try_read(buf) {
                Ok(0) => {
                    self.pipe = None;
                    self.flush_partial();
                    return;
                }
                Ok(n) => self.ingest(buf, n),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.pipe = None;
                    return;
                }
            }
        }
    }

    /// Reads with direct `read(2)` calls until the pipe is empty: the kernel's view, which may be
    /// ahead of the reactor's readiness.
    fn drain(&mut self, buf: &mut [u8]) {
        loop {
            let Some(pipe) = self.pipe.as_ref() else { return };
            match rustix::io::read(pipe.as_fd(), &mut *buf) {
                Ok(0) => {
                    self.pipe = None;
                    return;
                }
                Ok(n) => self.ingest(buf, n),
                Err(rustix::io::Errno::INTR) => {}
                Err(_) => return, // EAGAIN: empty for now.
            }
        }
    }

    fn ingest(&mut self, buf: &[u8], n: usize) {
        let mut lines = Vec::new();
        let mut rest = &buf[..n];
        while let Some(pos) = rest.iter().position(|&b| b == b'\n') {
            self.partial.extend_from_slice(&rest[..pos]);
            lines.push(std::mem::take(&mut self.partial));
            rest = &rest[pos + 1..];
        }
        self.partial.extend_from_slice(rest);
        while self.partial.len() >= MAX_LINE {
            let tail = self.partial.split_off(MAX_LINE);
            lines.push(std::mem::replace(&mut self.partial, tail));
        }
        if !lines.is_empty() {
            let events = lines.into_iter().map(|l| event(String::from_utf8_lossy(&l).into_owned())).collect();
            self.function_output(events);
        }
    }

    /// A line without its newline yet is written out when the invocation ends or the pipe
    /// closes.
    fn flush_partial(&mut self) {
        if !self.partial.is_empty() {
            let line = std::mem::take(&mut self.partial);
            self.function_output(vec![event(String::from_utf8_lossy(&line).into_owned())]);
        }
    }

    fn function_output(&mut self, events: Vec<LogEvent>) {
        if let Some(cur) = self.current.as_mut()
            && !cur.heap_oom
        {
            cur.heap_oom = events.iter().any(|e| e.message.contains("JavaScript heap out of memory"));
        }
        self.emit(events);
    }

    fn emit(&mut self, events: Vec<LogEvent>) {
        if let Some(cur) = self.current.as_mut()
            && cur.collect
        {
            cur.events.extend(events.iter().cloned());
        }
        self.sink.put(&self.scope, &self.group, &self.stream, events);
    }
}

fn event(message: String) -> LogEvent {
    LogEvent { timestamp_ms: now_ms(), message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_names_look_like_lambdas() {
        let s = stream_name("$LATEST", "0123456789abcdef0123456789abcdef");
        assert_eq!(s.len(), "2024/05/01/[$LATEST]".len() + 32);
        assert!(s[10..].starts_with("/[$LATEST]0123"));
        let iso = iso_now();
        assert_eq!(iso.len(), 24);
        assert!(iso.ends_with('Z'));
    }
}
