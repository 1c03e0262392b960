//! A "master" that sends a ZMTP frame header announcing a huge frame must not kill the worker:
//! the patched `zeromq` codec (third_party/zeromq) drops the connection and the worker reconnects.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Kills the worker when the test ends, whatever happens.
struct Worker(Child);

impl Drop for Worker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn accept(listener: &TcpListener, within: Duration) -> TcpStream {
    listener.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream.set_nonblocking(false).unwrap();
                stream
                    .set_read_timeout(Some(Duration::from_secs(10)))
                    .unwrap();
                return stream;
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                assert!(start.elapsed() < within, "the worker did not (re)connect");
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("accept: {e}"),
        }
    }
}

/// ZMTP 3.0 greeting (NULL mechanism, not as-server) and a READY command for a ROUTER socket.
fn handshake(stream: &mut TcpStream) {
    let mut greeting = [0u8; 64];
    stream.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting[0], 0xff, "the worker's greeting");
    let mut ours = [0u8; 64];
    ours[0] = 0xff;
    ours[9] = 0x7f;
    ours[10] = 3;
    ours[12..16].copy_from_slice(b"NULL");
    stream.write_all(&ours).unwrap();
    let mut ready = vec![5u8];
    ready.extend_from_slice(b"READY");
    ready.push(11);
    ready.extend_from_slice(b"Socket-Type");
    ready.extend_from_slice(&6u32.to_be_bytes());
    ready.extend_from_slice(b"ROUTER");
    let mut frame = vec![0x04, ready.len() as u8];
    frame.extend_from_slice(&ready);
    stream.write_all(&frame).unwrap();
}

fn bomb(stream: &mut TcpStream, len: u64) {
    let mut header = vec![0x02u8];
    header.extend_from_slice(&len.to_be_bytes());
    stream.write_all(&header).unwrap();
    stream.flush().unwrap();
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_huge_frame_drops_the_connection_not_the_worker() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let plan = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/shop.json");
    let child = Command::new(env!("CARGO_BIN_EXE_worker"))
        .args(["run", plan, "--master-host", "127.0.0.1", "--master-port"])
        .arg(port.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut worker = Worker(child);

    // 2^62 bytes, then one byte over the 16 MiB limit; each time the worker must reconnect
    // (the next connection's handshake reads its new greeting).
    let mut conn = accept(&listener, Duration::from_secs(20));
    for len in [1u64 << 62, 16 * 1024 * 1024 + 1] {
        handshake(&mut conn);
        bomb(&mut conn, len);
        let again = accept(&listener, Duration::from_secs(20));
        assert!(
            worker.0.try_wait().unwrap().is_none(),
            "the worker died after the {len}-byte bomb"
        );
        let rss = rss_kib(worker.0.id());
        assert!(
            rss < 200 * 1024,
            "worker RSS {rss} KiB after the {len}-byte bomb"
        );
        conn = again;
    }
    let mut greeting = [0u8; 64];
    conn.read_exact(&mut greeting).unwrap();
    assert_eq!(greeting[0], 0xff, "a new greeting after the last bomb");
    assert!(worker.0.try_wait().unwrap().is_none());
}
