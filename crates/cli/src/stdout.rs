//! Standard output that ends the process the way other command-line tools end when their
//! reader goes away (`logfusion query ... | head`): by SIGPIPE, quietly.
//!
//! The process keeps SIGPIPE ignored, as Rust sets it up: network code (gRPC to a cluster,
//! S3, the Flight SQL server) writes to sockets with `writev`, which raises SIGPIPE when the
//! peer has closed the connection, and with the default action that would kill a server or an
//! executor in the middle of its work. Only a broken pipe on stdout ends the process.

use std::io::{self, Write};

/// Stdout, ending the process on a broken pipe (see the module doc).
#[derive(Debug, Clone, Copy, Default)]
pub struct Stdout;

impl Write for Stdout {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        io::stdout().write(buf).inspect_err(end_if_reader_gone)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::stdout().flush().inspect_err(end_if_reader_gone)
    }
}

fn end_if_reader_gone(e: &io::Error) {
    if e.kind() == io::ErrorKind::BrokenPipe {
        reader_gone();
    }
}

/// Ends the process as SIGPIPE's default action does.
#[cfg(unix)]
fn reader_gone() -> ! {
    // SAFETY: restoring a signal's default action and raising it are async-signal-safe and
    // touch no state of this program; the process ends here.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        libc::raise(libc::SIGPIPE);
    }
    std::process::exit(141)
}

/// Windows has no SIGPIPE: end quietly with a failure status.
#[cfg(not(unix))]
fn reader_gone() -> ! {
    std::process::exit(1)
}

/// `println!` through [`Stdout`]: a broken pipe ends the process quietly; any other error
/// panics, as `println!` does (the panic hook turns it into one error line).
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!($crate::stdout::Stdout, $($arg)*) {
            panic!("failed printing to stdout: {e}");
        }
    }};
}
pub(crate) use outln;

/// `print!` through [`Stdout`], as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!($crate::stdout::Stdout, $($arg)*) {
            panic!("failed printing to stdout: {e}");
        }
    }};
}
pub(crate) use out;
